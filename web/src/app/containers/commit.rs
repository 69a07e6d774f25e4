//! The commit form of a container's page: freeze the writable layer into a new image.

use super::super::net::{self, enc};
use super::super::Ctx;
use crate::route::Route;
use crate::wire::{decode, CommitRequest, CommitResultDto};
use leptos::prelude::*;

/// The form's fields; they live as long as the page (its panels are drawn again at each
/// reload, what was typed stays).
#[derive(Clone, Copy)]
pub(super) struct CommitState {
    reference: RwSignal<String>,
    message: RwSignal<String>,
    author: RwSignal<String>,
}

impl CommitState {
    pub(super) fn new() -> CommitState {
        CommitState {
            reference: RwSignal::new(String::new()),
            message: RwSignal::new(String::new()),
            author: RwSignal::new(String::new()),
        }
    }
}

/// Commits container `id` and opens the new image.
#[component]
pub(super) fn CommitForm(id: String, form: CommitState) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let CommitState {
        reference,
        message,
        author,
    } = form;
    let commit = Action::new_local(move |body: &CommitRequest| {
        let (id, body) = (id.clone(), net::body(body));
        async move {
            let res = net::send(
                "cannot commit",
                "POST",
                &format!("/api/containers/{}/commit", enc(&id)),
                body,
            )
            .await;
            match res.and_then(|b| decode::<CommitResultDto>("commit", &b)) {
                Ok(new) => {
                    ctx.toast(
                        format!(
                            "Committed: new image {} with one more layer.",
                            docker_format::truncate_id(&new.id)
                        ),
                        false,
                    );
                    ctx.fresh_image.set(Some(new.id.clone()));
                    ctx.navigate(&Route::Image(new.id.clone()).href());
                }
                Err(e) => ctx.toast(e, true),
            }
        }
    });
    let committing = commit.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let given = |s: String| Some(s).filter(|s| !s.trim().is_empty());
        commit.dispatch(CommitRequest {
            reference: given(reference.get_untracked()),
            message: given(message.get_untracked()),
            author: given(author.get_untracked()),
            changes: Vec::new(),
        });
    };
    view! {
        <h2>"Commit"</h2>
        <form class="commit" on:submit=submit aria-label="Commit the writable layer">
            <label for="commit-ref">"New image name (optional)"</label>
            <input id="commit-ref" type="text" placeholder="myapp:2 (none leaves it dangling)" autocomplete="off"
                prop:value=move || reference.get() on:input=move |ev| reference.set(event_target_value(&ev))/>
            <label for="commit-msg">"Message"</label>
            <input id="commit-msg" type="text" prop:value=move || message.get() on:input=move |ev| message.set(event_target_value(&ev))/>
            <label for="commit-author">"Author"</label>
            <input id="commit-author" type="text" prop:value=move || author.get() on:input=move |ev| author.set(event_target_value(&ev))/>
            <p class="help">"Commit freezes the writable layer into a new read-only layer: the new image is this image plus one layer."</p>
            <button type="submit" class="primary" disabled=move || committing.get()>"Commit"</button>
        </form>
    }
}
