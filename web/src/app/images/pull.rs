//! The pull box: a reference typed or picked from a search, pulled with one progress bar per
//! layer.

use super::super::net::{self, enc};
use super::super::widgets::ErrorBox;
use super::super::Ctx;
use crate::model;
use crate::pull::Pull;
use leptos::prelude::*;

/// The pull box: `name[:tag]`, Enter submits, one progress bar per layer below.
#[component]
pub(super) fn PullBox(
    /// The reference typed (a search result can fill it in).
    input: RwSignal<String>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let state = RwSignal::new(None::<Pull>);
    let error = RwSignal::new(None::<String>);
    // the pull streams its progress into `state` while it runs
    let pull = Action::new_local(move |(image, tag): &(String, String)| {
        let (image, tag) = (image.clone(), tag.clone());
        async move {
            let url = format!("/images/create?fromImage={}&tag={}", enc(&image), enc(&tag));
            let res = net::post_stream(&format!("cannot pull {image}:{tag}"), &url, |chunk| {
                state.update(|p| {
                    if let Some(p) = p {
                        p.feed(chunk)
                    }
                })
            })
            .await;
            state.update(|p| {
                if let Some(p) = p {
                    p.finish()
                }
            });
            match res {
                Err(e) => {
                    state.set(None);
                    error.set(Some(e.to_string()));
                }
                Ok(()) => {
                    let ok = state.with_untracked(|p| p.as_ref().is_some_and(Pull::succeeded));
                    match state.with_untracked(|p| p.as_ref().and_then(|p| p.error.clone())) {
                        Some(e) => error.set(Some(e)),
                        None if ok => ctx.toast(format!("Pulled {image}:{tag}"), false),
                        None => {}
                    }
                    ctx.refresh_soon();
                }
            }
        }
    });
    let busy = pull.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        match model::pull_params(&input.get_untracked()) {
            Ok(p) => {
                error.set(None);
                state.set(Some(Pull::new()));
                pull.dispatch(p);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    view! {
        <form class="pull" on:submit=submit aria-label="Pull an image">
            <label for="pull-ref">"Pull"</label>
            <input id="pull-ref" type="text" autocomplete="off" spellcheck="false"
                placeholder="busybox, or localhost:5000/team/app:1.0"
                aria-describedby="pull-help"
                prop:value=move || input.get()
                on:input=move |ev| input.set(event_target_value(&ev))/>
            <button type="submit" disabled=move || busy.get()>{move || if busy.get() { "Pulling…" } else { "Pull" }}</button>
            <span id="pull-help" class="help">"Enter pulls. The tag defaults to latest."</span>
        </form>
        {move || error.get().map(|e| view! { <ErrorBox message=e/> })}
        {move || state.get().map(|p| {
            let summary = p.summary();
            view! {
                <div class="pull-progress" aria-live="polite">
                    <p class="status">{summary}</p>
                    <ul class="layers-progress">
                        {p.layers.iter().map(|l| {
                            let pct = l.percent();
                            view! {
                                <li data-layer-id=l.id.clone()>
                                    <code>{l.id.clone()}</code>
                                    <progress max="100" value=pct aria-label=format!("layer {}", l.id)>{format!("{pct}%")}</progress>
                                    <span class="layer-status">{l.status.clone()}</span>
                                    <span class="num">{l.bytes_text()}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <ul class="pull-lines">{p.lines.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}</ul>
                </div>
            }
        })}
    }
}
