//! The Run dialog: `docker run`'s common options, then create (and start) a container.

use super::super::net;
use super::super::widgets::{ErrorBox, Modal};
use super::super::{Ctx, Load};
use crate::route::Route;
use crate::run;
use crate::wire::{decode, ContainerDto, CreateContainerRequest, ImageSummaryDto};
use leptos::prelude::*;

/// The images a container can be made from, as (value, text).
fn image_options(ctx: Ctx) -> Vec<(String, String)> {
    ctx.images.with(|l| match l {
        Load::Ready(list) => list
            .iter()
            .flat_map(|i: &ImageSummaryDto| {
                if i.repo_tags.is_empty() {
                    vec![(
                        i.id.clone(),
                        format!("<none>:<none> {}", docker_format::truncate_id(&i.id)),
                    )]
                } else {
                    i.repo_tags.iter().map(|t| (t.clone(), t.clone())).collect()
                }
            })
            .collect::<Vec<_>>(),
        _ => Vec::new(),
    })
}

/// The Run dialog: image, command, environment, published ports, name, `-it`, `--rm`;
/// Create makes the container, Run also starts it (a terminal one by attaching, on its
/// page).
#[component]
pub fn RunDialog(
    /// The image chosen at first (empty: none).
    #[prop(into)]
    image: String,
    /// Closes the dialog.
    #[prop(into)]
    on_close: Callback<()>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    // an image ID given: its first tag, as the select lists it
    let image = ctx
        .images
        .with_untracked(|l| match l {
            Load::Ready(list) => list
                .iter()
                .find(|i| i.id == image)
                .and_then(|i| i.repo_tags.first().cloned()),
            _ => None,
        })
        .unwrap_or(image);
    let image = RwSignal::new(image);
    let command = RwSignal::new(String::new());
    let env = RwSignal::new(String::new());
    let ports = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let tty = RwSignal::new(true);
    let rm = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    // create (and start): the answer's side effects are the dialog's outcome
    let create = Action::new_local(move |(start, body): &(bool, CreateContainerRequest)| {
        let (start, tty) = (*start, body.tty);
        let body = net::body(body);
        async move {
            let res = net::send(
                "cannot create the container",
                "POST",
                "/api/containers",
                body,
            )
            .await;
            match res.and_then(|b| decode::<ContainerDto>("container", &b)) {
                Ok(c) => {
                    error.set(None);
                    on_close.run(());
                    if start && tty {
                        ctx.attach_next.set(Some(c.id.clone()));
                    }
                    ctx.toast(
                        format!(
                            "{} container {}",
                            if start { "Started" } else { "Created" },
                            c.name
                        ),
                        false,
                    );
                    ctx.refresh_soon();
                    ctx.navigate(&Route::Container(c.id.clone()).href());
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        }
    });
    let busy = create.pending();
    let go = move |start: bool| {
        let img = image.get_untracked();
        if img.trim().is_empty() {
            error.set(Some("choose an image to run".into()));
            return;
        }
        let cmd = match run::split_command(&command.get_untracked()) {
            Ok(c) => c,
            Err(e) => return error.set(Some(e)),
        };
        let env = match run::env_lines(&env.get_untracked()) {
            Ok(e) => e,
            Err(e) => return error.set(Some(e)),
        };
        let n = name.get_untracked();
        let tty = tty.get_untracked();
        let body = CreateContainerRequest {
            image: img.trim().to_string(),
            name: Some(n.trim().to_string()).filter(|n| !n.is_empty()),
            cmd,
            env,
            tty,
            interactive: tty,
            auto_remove: rm.get_untracked(),
            ports: run::port_specs(&ports.get_untracked()),
            // a terminal container starts when its page attaches, so no output is lost
            start: start && !tty,
        };
        create.dispatch((start, body));
    };
    view! {
        <Modal title="Run a container" on_close=on_close>
            <form class="run-form" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); go(true); }>
                <label for="run-image">"Image"</label>
                <select id="run-image" on:change=move |ev| image.set(event_target_value(&ev)) prop:value=move || image.get()>
                    <option value="">"Choose an image…"</option>
                    {move || image_options(ctx).into_iter().map(|(v, t)| {
                        let selected = v == image.get_untracked();
                        view! { <option value=v selected=selected>{t}</option> }
                    }).collect_view()}
                </select>
                <label for="run-cmd">"Command (empty: the image's)"</label>
                <input id="run-cmd" type="text" spellcheck="false" autocomplete="off" placeholder="sh -c 'echo hello'"
                    prop:value=move || command.get() on:input=move |ev| command.set(event_target_value(&ev))/>
                <label for="run-env">"Environment (KEY=value, one a line)"</label>
                <textarea id="run-env" rows="2" spellcheck="false"
                    prop:value=move || env.get() on:input=move |ev| env.set(event_target_value(&ev))></textarea>
                <label for="run-ports">"Publish ports (-p HOST:CONTAINER, several separated by commas)"</label>
                <input id="run-ports" type="text" spellcheck="false" autocomplete="off" placeholder="8080:80, 127.0.0.1:5353:53/udp"
                    prop:value=move || ports.get() on:input=move |ev| ports.set(event_target_value(&ev))/>
                <label for="run-name">"Name (optional)"</label>
                <input id="run-name" type="text" autocomplete="off" prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))/>
                <label class="check"><input id="run-tty" type="checkbox" prop:checked=move || tty.get()
                    on:change=move |ev| tty.set(event_target_checked(&ev))/>" Interactive, with a terminal (-it)"</label>
                <label class="check"><input id="run-rm" type="checkbox" prop:checked=move || rm.get()
                    on:change=move |ev| rm.set(event_target_checked(&ev))/>" Remove it when it exits (--rm)"</label>
                {move || error.get().map(|e| view! { <ErrorBox message=e/> })}
                <div class="dialog-actions">
                    <button type="button" id="run-create" disabled=move || busy.get() on:click=move |_| go(false)>"Create only"</button>
                    <button type="submit" id="run-go" class="primary" disabled=move || busy.get()>"Run"</button>
                </div>
            </form>
        </Modal>
    }
}
