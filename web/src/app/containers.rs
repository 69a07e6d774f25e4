//! Containers: the list with a create form, and one container's page: its stack with the
//! writable layer on top (copy-ups and whiteouts appear as they happen), a file editor (add,
//! edit, delete, mkdir), commit, export and remove.

use super::explorer::Explorer;
use super::net::{self, enc};
use super::terminal::{TermMode, Terminal};
use super::widgets::{ErrorBox, Loading, Modal, StackDiagram};
use super::{Ctx, Link, Load};
use crate::error::ApiError;
use crate::route::Route;
use crate::run;
use crate::stack::{self, Upper};
use crate::tree::View;
use crate::wire::{
    decode, CommitResultDto, ContainerDto, ImageDetailDto, ImageSummaryDto, LayerMarkDto,
    LogLineDto, TopDto, TreeDto,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::BTreeSet;

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

/// The Run dialog: image, command, environment, name, `-it`, `--rm`; Create makes the
/// container, Run also starts it (a terminal one by attaching, on its page).
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
    let name = RwSignal::new(String::new());
    let tty = RwSignal::new(true);
    let rm = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
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
        let body = crate::wire::CreateContainerRequest {
            image: img.trim().to_string(),
            name: Some(n.trim().to_string()).filter(|n| !n.is_empty()),
            cmd,
            env,
            tty,
            interactive: tty,
            auto_remove: rm.get_untracked(),
            // a terminal container starts when its page attaches, so no output is lost
            start: start && !tty,
        };
        busy.set(true);
        spawn_local(async move {
            let res = net::send(
                "cannot create the container",
                "POST",
                "/api/containers",
                net::body(&body),
            )
            .await;
            busy.set(false);
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
        });
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

/// Runs a control on a container and says how it went.
fn act(ctx: Ctx, id: String, action: run::Action) {
    spawn_local(async move {
        let url = format!("/api/containers/{}/{}", enc(&id), action.verb());
        match net::send(&format!("cannot {}", action.verb()), "POST", &url, None).await {
            Ok(_) => ctx.toast(
                format!("{} {}", action.done(), docker_format::truncate_id(&id)),
                false,
            ),
            Err(e) => ctx.toast(e, true),
        }
        ctx.refresh_soon();
    });
}

/// The controls of one container in `state`.
#[component]
fn Controls(id: String, state: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    run::actions(&state)
        .into_iter()
        .map(|a| {
            let id = id.clone();
            let class = format!("act-{}", a.verb());
            view! { <button type="button" class=class on:click=move |_| act(ctx, id.clone(), a)>{a.label()}</button> }
        })
        .collect_view()
}

/// A clock for the live status texts: the browser's unix seconds, every second.
fn ticking_now() -> RwSignal<i64> {
    let now = RwSignal::new(super::now());
    let handle = set_interval_with_handle(
        move || now.set(super::now()),
        std::time::Duration::from_secs(1),
    );
    if let Ok(h) = handle {
        on_cleanup(move || h.clear());
    }
    now
}

#[component]
pub fn ContainersPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let show_run = RwSignal::new(false);
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let confirm_bulk = RwSignal::new(false);
    let now = ticking_now();
    let bulk_remove = move || {
        let ids: Vec<String> = selected.get_untracked().into_iter().collect();
        spawn_local(async move {
            let mut removed = 0;
            for id in &ids {
                match net::send(
                    "cannot remove a container",
                    "DELETE",
                    &format!("/api/containers/{}", enc(id)),
                    None,
                )
                .await
                {
                    Ok(_) => removed += 1,
                    Err(e) => ctx.toast(e, true),
                }
            }
            selected.set(BTreeSet::new());
            ctx.toast(
                format!("Removed {removed} container(s) and their writable layers."),
                false,
            );
            ctx.refresh_soon();
        });
    };
    view! {
        <section class="page" aria-labelledby="containers-title">
            <div class="heading">
                <h1 id="containers-title">"Containers"</h1>
                <div class="actions">
                    <button type="button" class="danger" id="bulk-remove"
                        disabled=move || selected.with(|s| s.is_empty())
                        on:click=move |_| confirm_bulk.set(true)>
                        {move || format!("Remove selected ({})", selected.with(|s| s.len()))}
                    </button>
                    <button type="button" class="primary" id="open-run" on:click=move |_| show_run.set(true)>"Run a container…"</button>
                </div>
            </div>
            <p class="help">"A container is an image's read-only layers plus one writable layer on top, and a process that runs on their union. What the process writes lands in the writable layer; commit turns it into a new image layer."</p>
            {move || match ctx.containers.get() {
                Load::Loading => view! { <Loading what="Loading containers…"/> }.into_any(),
                Load::Failed(e) => view! { <ErrorBox message=e retry=Callback::new(move |_| ctx.refresh())/> }.into_any(),
                Load::Ready(list) if list.is_empty() => view! {
                    <div class="empty"><p><strong>"No containers."</strong>" Run one from an image: open a shell, change files, and watch copy-up and whiteouts happen."</p></div>
                }.into_any(),
                Load::Ready(list) => view! {
                    <div class="table-wrap">
                    <table class="containers">
                        <thead><tr>
                            <th scope="col"><span class="sr-only">"Select"</span></th>
                            <th scope="col">"NAME"</th><th scope="col">"CONTAINER ID"</th><th scope="col">"IMAGE"</th>
                            <th scope="col">"COMMAND"</th><th scope="col">"CREATED"</th><th scope="col">"STATUS"</th>
                            <th scope="col" class="num">"CHANGES"</th><th scope="col" class="num">"WRITABLE LAYER"</th><th scope="col">"ACTIONS"</th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|c| {
                                let c2 = c.clone();
                                let (id, name, state) = (c.id.clone(), c.name.clone(), c.state.clone());
                                let (id_sel, id_chk) = (id.clone(), id.clone());
                                let created = c.created.clone();
                                let shown = image_shown(&c, ctx);
                                let image_href = Route::Image(c.image.clone()).href();
                                let command = c.command.join(" ");
                                let label = format!("Select {name}");
                                let (name_key, name_link) = (name.clone(), name.clone());
                                let (id_link, id_short, id_ctl) = (Route::Container(id.clone()).href(), docker_format::truncate_id(&id), id.clone());
                                view! {
                                <tr data-key=name_key data-state=state.clone()>
                                    <td><input type="checkbox" aria-label=label
                                        prop:checked=move || selected.with(|s| s.contains(&id_chk))
                                        on:change=move |ev| { let on = event_target_checked(&ev); let id = id_sel.clone(); selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } }); }/></td>
                                    <td><Link href=id_link>{name_link}</Link></td>
                                    <td><code>{id_short}</code></td>
                                    <td><Link href=image_href>{shown}</Link></td>
                                    <td><code>{command}</code></td>
                                    <td>{move || run::ago(&created, now.get())}</td>
                                    <td class="status-text">{move || run::status_text(&c2, now.get())}</td>
                                    <td class="num">{c.changes}</td>
                                    <td class="num">{docker_format::human_size(c.size_rw)}</td>
                                    <td class="row-actions"><Controls id=id_ctl state=state.clone()/></td>
                                </tr>
                            }}).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any(),
            }}
            {move || show_run.get().then(|| view! { <RunDialog image="" on_close=Callback::new(move |_| show_run.set(false))/> })}
            {move || confirm_bulk.get().then(|| view! {
                <Modal title="Remove the selected containers" on_close=Callback::new(move |_| confirm_bulk.set(false))>
                    <p>{move || format!("Removing {} container(s) deletes their writable layers and every change in them; running ones are killed first. The images stay.", selected.with(|s| s.len()))}</p>
                    <div class="dialog-actions">
                        <button type="button" on:click=move |_| confirm_bulk.set(false) autofocus>"Cancel"</button>
                        <button type="button" class="danger" id="bulk-remove-confirm" on:click=move |_| { confirm_bulk.set(false); bulk_remove(); }>"Remove"</button>
                    </div>
                </Modal>
            })}
        </section>
    }
}

/// The image's name as the user knows it: the name given at create, else the image's first
/// tag, else its short ID (never the 64-character ID).
fn image_shown(c: &ContainerDto, ctx: Ctx) -> String {
    if !c.image_name.starts_with("sha256:") {
        return c.image_name.clone();
    }
    ctx.images
        .with_untracked(|l| match l {
            Load::Ready(list) => list
                .iter()
                .find(|i| i.id == c.image)
                .and_then(|i| i.repo_tags.first().cloned()),
            _ => None,
        })
        .unwrap_or_else(|| docker_format::truncate_id(&c.image))
}

#[derive(Clone, Debug, PartialEq)]
struct Loaded {
    container: ContainerDto,
    image: ImageDetailDto,
    view: View,
}

/// Why the container page could not load: the error, and whether it means the container is
/// gone (its own request or its tree's answered not found; its image's does not say so).
#[derive(Clone, Debug, PartialEq)]
struct LoadError {
    error: ApiError,
    gone: bool,
}

impl LoadError {
    fn of_container(error: ApiError) -> LoadError {
        let gone = error.is_not_found();
        LoadError { error, gone }
    }

    fn of_image(error: ApiError) -> LoadError {
        LoadError { error, gone: false }
    }
}

async fn load_all(id: &str) -> Result<Loaded, LoadError> {
    let container: ContainerDto = net::get_json(
        "cannot read the container",
        &format!("/api/containers/{}", enc(id)),
    )
    .await
    .map_err(LoadError::of_container)?;
    let image: ImageDetailDto = net::get_json(
        "cannot read the container's image",
        &format!("/api/images/{}", enc(&container.image)),
    )
    .await
    .map_err(LoadError::of_image)?;
    let tree: TreeDto = net::get_json(
        "cannot read the container's files",
        &format!("/api/containers/{}/tree", enc(id)),
    )
    .await
    .map_err(LoadError::of_container)?;
    Ok(Loaded {
        container,
        image,
        view: View::from_dto(&tree),
    })
}

#[component]
pub fn ContainerPage(id: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let state = RwSignal::new(Load::<Loaded>::Loading);
    let fresh = RwSignal::new(BTreeSet::<String>::new());
    let last_changes = StoredValue::new(None::<Vec<Upper>>);
    let gone = RwSignal::new(false);

    let reload = {
        let id = id.clone();
        move || {
            let id = id.clone();
            spawn_local(async move {
                match load_all(&id).await {
                    Ok(l) => {
                        let now = stack::upper_changes(&l.view);
                        if let Some(before) = last_changes.get_value() {
                            fresh.set(stack::fresh(&before, &now));
                        }
                        last_changes.set_value(Some(now));
                        let next = Load::Ready(l);
                        if state.with_untracked(|old| *old != next) {
                            state.set(next);
                        }
                    }
                    Err(LoadError { error, gone: true }) => {
                        gone.set(true);
                        state.set(Load::Failed(error));
                    }
                    Err(LoadError { error, .. }) => state.set(Load::Failed(error)),
                }
            });
        }
    };
    let r2 = reload.clone();
    Effect::new(move |_| {
        ctx.revision.track();
        r2();
    });

    // A running process changes the writable layer without any store event: ask for the
    // layer's mark every second while it runs and reload when it moves.
    let now = ticking_now();
    let last_mark = StoredValue::new(None::<(u64, String)>);
    {
        let id = id.clone();
        let reload = reload.clone();
        let handle = set_interval_with_handle(
            move || {
                let running = state.with_untracked(
                    |s| matches!(s, Load::Ready(l) if run::has_process(&l.container.state)),
                );
                if !running {
                    return;
                }
                let id = id.clone();
                let reload = reload.clone();
                spawn_local(async move {
                    let url = format!("/api/containers/{}/mark", enc(&id));
                    if let Ok(m) = net::get_json::<LayerMarkDto>("mark", &url).await {
                        let now = (m.mark, m.state.clone());
                        let before = last_mark.get_value();
                        last_mark.set_value(Some(now.clone()));
                        if before.as_ref().is_some_and(|b| *b != now) {
                            reload();
                            if before.as_ref().is_some_and(|b| b.1 != m.state) {
                                ctx.refresh_soon();
                            }
                        }
                    }
                });
            },
            std::time::Duration::from_millis(700),
        );
        if let Ok(h) = handle {
            on_cleanup(move || h.clear());
        }
    }

    // the terminal: opened by a button, or at once after the Run dialog
    let term = RwSignal::new(None::<(u32, TermMode)>);
    let term_gen = StoredValue::new(0u32);
    let open_term = move |mode: TermMode| {
        term_gen.update_value(|g| *g += 1);
        term.set(Some((term_gen.get_value(), mode)));
    };
    if ctx.attach_next.get_untracked().as_deref() == Some(id.as_str()) {
        ctx.attach_next.set(None);
        open_term(TermMode::Attach);
    }
    let term_ended = {
        let reload = reload.clone();
        Callback::new(move |_code: Option<i32>| {
            reload();
            ctx.refresh_soon();
        })
    };
    let shell = RwSignal::new(String::from("sh"));

    // the file editor
    let path = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    // the path whose content the editor holds (loaded from it), and the mode to save with
    let loaded_from = RwSignal::new(None::<String>);
    let mode = RwSignal::new(String::new());
    let confirm_overwrite = RwSignal::new(None::<String>);
    let editor_note = RwSignal::new(None::<(String, bool)>);
    let loaded_content = RwSignal::new(None::<super::explorer::Loaded>);
    let id_read = id.clone();
    let read = move |p: String| {
        let id = id_read.clone();
        spawn_local(async move {
            let url = format!("/api/containers/{}/files?path={}", enc(&id), enc(&p));
            match net::get_text(&format!("cannot read {p}"), &url).await {
                Ok(t) => {
                    text.set(t);
                    let m = state.with_untracked(|s| match s {
                        Load::Ready(l) => l.view.get(p.trim_start_matches('/')).map(|v| v.mode),
                        _ => None,
                    });
                    mode.set(m.map(|m| format!("{:04o}", m & 0o7777)).unwrap_or_default());
                    loaded_from.set(Some(p.clone()));
                    editor_note.set(Some((format!("Loaded {p}."), false)));
                }
                Err(e) => editor_note.set(Some((e.to_string(), true))),
            }
        });
    };
    let show_content = super::explorer::content_loader(
        format!("/api/containers/{}/files", enc(&id)),
        loaded_content,
    );
    let r_load = read.clone();
    let open_in_editor = Callback::new(move |p: String| {
        let shown = format!("/{}", p.trim_start_matches('/'));
        path.set(shown.clone());
        r_load(shown);
        if let Some(el) = document().get_element_by_id("editor") {
            el.scroll_into_view();
        }
    });
    let id_w = id.clone();
    let write = move |p: String| {
        let id = id_w.clone();
        let body = text.get_untracked().into_bytes();
        let m = match run::file_mode(&mode.get_untracked()) {
            Ok(m) => m,
            Err(e) => return editor_note.set(Some((e, true))),
        };
        spawn_local(async move {
            let mut url = format!("/api/containers/{}/files?path={}", enc(&id), enc(&p));
            if let Some(m) = &m {
                url.push_str(&format!("&mode={m}"));
            }
            match net::put_bytes(&format!("cannot write {p}"), &url, body).await {
                Ok(()) => {
                    loaded_from.set(Some(p.clone()));
                    editor_note.set(Some((format!("Saved {p} into the writable layer."), false)))
                }
                Err(e) => editor_note.set(Some((e.to_string(), true))),
            }
            ctx.refresh_soon();
        });
    };
    let w2 = write.clone();
    // Saving over an existing file whose content the editor did not load asks first: one
    // click must not replace /etc/passwd with an empty text.
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let p = path.get_untracked().trim().to_string();
        if p.is_empty() {
            return editor_note.set(Some((
                "type a path to save, or load a file first".into(),
                true,
            )));
        }
        let p = format!("/{}", p.trim_start_matches('/'));
        let exists = state.with_untracked(|s| match s {
            Load::Ready(l) => l.view.get(p.trim_start_matches('/')).is_some(),
            _ => false,
        });
        if exists && loaded_from.get_untracked().as_deref() != Some(p.as_str()) {
            confirm_overwrite.set(Some(p));
            return;
        }
        w2(p);
    };
    let id_d = id.clone();
    let delete = move |_| {
        let id = id_d.clone();
        let p = path.get_untracked();
        spawn_local(async move {
            let url = format!("/api/containers/{}/files?path={}", enc(&id), enc(&p));
            match net::send(&format!("cannot delete {p}"), "DELETE", &url, None).await {
                Ok(_) => editor_note.set(Some((format!("Deleted {p}: a lower copy is now hidden by a whiteout in the writable layer."), false))),
                Err(e) => editor_note.set(Some((e.to_string(), true))),
            }
            ctx.refresh_soon();
        });
    };
    let id_m = id.clone();
    let mkdir = move |_| {
        let id = id_m.clone();
        let p = path.get_untracked();
        spawn_local(async move {
            let url = format!("/api/containers/{}/mkdir?path={}", enc(&id), enc(&p));
            match net::send(&format!("cannot make directory {p}"), "POST", &url, None).await {
                Ok(_) => editor_note.set(Some((format!("Made directory {p}."), false))),
                Err(e) => editor_note.set(Some((e.to_string(), true))),
            }
            ctx.refresh_soon();
        });
    };
    let r_btn = read.clone();

    // commit
    let reference = RwSignal::new(String::new());
    let message = RwSignal::new(String::new());
    let author = RwSignal::new(String::new());
    let committing = RwSignal::new(false);
    let id_c = id.clone();
    let commit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = id_c.clone();
        let given = |s: String| Some(s).filter(|s| !s.trim().is_empty());
        let body = net::body(&crate::wire::CommitRequest {
            reference: given(reference.get_untracked()),
            message: given(message.get_untracked()),
            author: given(author.get_untracked()),
            changes: Vec::new(),
        });
        committing.set(true);
        spawn_local(async move {
            let res = net::send(
                "cannot commit",
                "POST",
                &format!("/api/containers/{}/commit", enc(&id)),
                body,
            )
            .await;
            committing.set(false);
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
        });
    };

    let confirm_rm = RwSignal::new(false);
    let id_rm = id.clone();
    let remove = Callback::new(move |_| {
        let id = id_rm.clone();
        spawn_local(async move {
            match net::send(
                "cannot remove the container",
                "DELETE",
                &format!("/api/containers/{}", enc(&id)),
                None,
            )
            .await
            {
                Ok(_) => {
                    ctx.toast("Removed the container and its writable layer.", false);
                    ctx.navigate(&Route::Containers.href());
                }
                Err(e) => ctx.toast(e, true),
            }
        });
    });

    let view_sig = Signal::derive(move || match state.get() {
        Load::Ready(l) => l.view,
        _ => View::default(),
    });
    let ready = Memo::new(move |_| matches!(state.get(), Load::Ready(_)));
    let export = format!("/containers/{}/export", enc(&id));
    let id_short = docker_format::truncate_id(&id);
    let (id_term, id_logs, id_top) = (id.clone(), id.clone(), id.clone());

    view! {
        <section class="page" aria-labelledby="container-title">
            <nav class="crumbs" aria-label="Breadcrumb">
                <Link href=Route::Containers.href()>"Containers"</Link>" › "
                <span aria-current="page">{id_short.clone()}</span>
            </nav>
            {move || match state.get() {
                Load::Loading => view! { <Loading what="Loading the container…"/> }.into_any(),
                Load::Failed(e) if gone.get() => view! {
                    <div class="empty" role="alert"><p><strong>"This container is gone."</strong></p><p class="muted">{e.to_string()}</p>
                    <p><Link href=Route::Containers.href()>"Back to the containers"</Link></p></div>
                }.into_any(),
                Load::Failed(e) => view! { <ErrorBox message=e retry=Callback::new({ let r = reload.clone(); move |_| r() })/> }.into_any(),
                Load::Ready(l) => {
                    view! {
                        <div class="heading">
                            <h1 id="container-title">{l.container.name.clone()}</h1>
                            <div class="actions">
                                <Controls id=l.container.id.clone() state=l.container.state.clone()/>
                                <a class="button" href=export.clone() download=format!("{}.tar", l.container.name)>"Export (flattened tar)"</a>
                                <button type="button" class="danger" on:click=move |_| confirm_rm.set(true)>"Remove…"</button>
                            </div>
                        </div>
                        <p class="facts"><span class="status-text" id="container-status" data-state=l.container.state.clone()>{
                            let c = l.container.clone();
                            move || run::status_text(&c, now.get())
                        }</span>{format!(" · {} change(s) in the writable layer", l.container.changes)}</p>
                        <div class="run-panel">
                            <h2>"Terminal"</h2>
                            <div class="row term-actions">
                                {
                                    let running = l.container.state == "running";
                                    let paused = l.container.state == "paused";
                                    let tty = l.container.tty;
                                    let attach_text = if running { "Attach to its terminal" } else { "Start and attach" };
                                    let exec_title = if running { "exec -it a new process in the container" } else { "start the container first" };
                                    view! {
                                        {tty.then(|| view! {
                                            <button type="button" id="term-attach" disabled=paused
                                                on:click=move |_| open_term(TermMode::Attach)>{attach_text}</button>
                                        })}
                                        <label for="term-cmd" class="sr-only">"Shell"</label>
                                        <input id="term-cmd" type="text" class="short" spellcheck="false" prop:value=move || shell.get()
                                            on:input=move |ev| shell.set(event_target_value(&ev))/>
                                        <button type="button" id="term-exec" disabled=!running title=exec_title
                                            on:click=move |_| open_term(TermMode::Exec(shell.get_untracked()))>"Open a shell (exec)"</button>
                                    }
                                }
                            </div>
                        </div>
                    }.into_any()
                }
            }}
            <div id="terminal-slot">
            {move || term.get().map(|(_, mode)| view! {
                <Terminal id=id_term.clone() mode=mode on_end=term_ended/>
            })}
            </div>
            {move || match state.get() {
                Load::Ready(l) => {
                    let st = stack::build(&l.image, Some((&l.container.name, l.container.size_rw, &l.view)));
                    let image_href = Route::Image(l.image.id.clone()).href();
                    view! {
                        <p class="facts">"From image "<Link href=image_href>{
                            if l.container.image_name.starts_with("sha256:") {
                                l.image.repo_tags.first().cloned().unwrap_or_else(|| docker_format::truncate_id(&l.image.id))
                            } else {
                                l.container.image_name.clone()
                            }
                        }</Link>
                            {format!(" · writable layer {} · created {}", docker_format::human_size(l.container.size_rw), l.container.created)}</p>
                        <div class="columns">
                            <div>
                                <h2>"Layer stack"</h2>
                                <StackDiagram stack=st fresh=fresh.get_untracked()/>
                            </div>
                            <div>
                                <h2 id="editor">"Edit files"</h2>
                                <form class="editor" on:submit=save.clone() aria-labelledby="editor">
                                    <label for="edit-path">"Path"</label>
                                    <div class="row">
                                        <input id="edit-path" type="text" spellcheck="false" autocomplete="off" placeholder="/etc/motd"
                                            prop:value=move || path.get() on:input=move |ev| path.set(event_target_value(&ev))/>
                                        <button type="button" on:click={ let r = r_btn.clone(); move |_| r(path.get_untracked()) }>"Load"</button>
                                    </div>
                                    <label for="edit-text">"Content"</label>
                                    <textarea id="edit-text" rows="8" spellcheck="false"
                                        prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                                    <label for="edit-mode">"Mode (octal; empty keeps the file's, or 0644 for a new one)"</label>
                                    <input id="edit-mode" type="text" class="short" spellcheck="false" autocomplete="off" placeholder="0755"
                                        prop:value=move || mode.get() on:input=move |ev| mode.set(event_target_value(&ev))/>
                                    <p class="help">"Saving a file a lower layer provides copies it up into the writable layer first; deleting one leaves a whiteout there. The image layers never change."</p>
                                    <div class="row">
                                        <button type="submit" class="primary">"Save file"</button>
                                        <button type="button" on:click=mkdir.clone()>"Make directory"</button>
                                        <button type="button" class="danger" on:click=delete.clone()>"Delete path"</button>
                                    </div>
                                    {move || editor_note.get().map(|(t, err)| view! { <p class=if err { "error" } else { "status ok" } role="status">{t}</p> })}
                                </form>
                                <h2>"Commit"</h2>
                                <form class="commit" on:submit=commit.clone() aria-label="Commit the writable layer">
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
                            </div>
                        </div>
                    }.into_any()
                }
                _ => ().into_any(),
            }}
            {move || ready.get().then(|| view! { <Logs id=id_logs.clone() state=Signal::derive(move || match state.get() { Load::Ready(l) => l.container.state, _ => String::new() })/> })}
            {move || ready.get().then(|| view! { <Top id=id_top.clone()/> })}
            <h2>"Files (image layers + writable layer)"</h2>
            {move || ready.get().then(|| view! {
                <Explorer view=view_sig on_open=open_in_editor content=show_content loaded=loaded_content/>
            })}
            {move || confirm_overwrite.get().map(|p| {
                let w = write.clone();
                let p2 = p.clone();
                view! {
                <Modal title="Overwrite this file?" on_close=Callback::new(move |_| confirm_overwrite.set(None))>
                    <p>{format!("{p} exists and the editor's content was not loaded from it: saving replaces the whole file with the {} byte(s) in the editor. Load it first to edit it.", text.get_untracked().len())}</p>
                    <div class="dialog-actions">
                        <button type="button" on:click=move |_| confirm_overwrite.set(None) autofocus>"Cancel"</button>
                        <button type="button" class="danger" id="overwrite-confirm" on:click=move |_| { confirm_overwrite.set(None); w(p2.clone()); }>"Overwrite"</button>
                    </div>
                </Modal>
            }})}
            {move || confirm_rm.get().then(|| view! {
                <Modal title="Remove this container" on_close=Callback::new(move |_| confirm_rm.set(false))>
                    <p>"Removing the container deletes its writable layer and every change in it. The image and its layers stay."</p>
                    <div class="dialog-actions">
                        <button type="button" on:click=move |_| confirm_rm.set(false) autofocus>"Cancel"</button>
                        <button type="button" class="danger" on:click=move |_| { confirm_rm.set(false); remove.run(()); }>"Remove container"</button>
                    </div>
                </Modal>
            })}
        </section>
    }
}

/// The container's log, followed live while it runs: search, timestamps, download.
#[component]
fn Logs(id: String, state: Signal<String>) -> impl IntoView {
    let lines = RwSignal::new(Vec::<LogLineDto>::new());
    let search = RwSignal::new(String::new());
    let stamps = RwSignal::new(false);
    let gen = StoredValue::new(0u32);
    let alive = StoredValue::new(true);
    on_cleanup(move || alive.set_value(false));
    let follow = {
        let id = id.clone();
        move || {
            gen.update_value(|g| *g += 1);
            let mine = gen.get_value();
            let id = id.clone();
            spawn_local(async move {
                let mut cut = run::LineCutter::default();
                let mut first = true;
                let url = format!("/api/containers/{}/logs?follow=1", enc(&id));
                let _ = net::get_stream("cannot read the log", &url, |chunk| {
                    if !alive.get_value() || gen.get_value() != mine {
                        return false;
                    }
                    let new = cut.push(chunk);
                    if first {
                        first = false;
                        lines.set(new);
                    } else if !new.is_empty() {
                        lines.update(|l| l.extend(new));
                    }
                    true
                })
                .await;
            });
        }
    };
    // a new stream at each start (the old one ends with the process)
    Effect::new(move |prev: Option<String>| {
        let now = state.get();
        if prev.as_deref() != Some(now.as_str()) && (prev.is_none() || now == "running") {
            lines.set(Vec::new());
            follow();
        }
        now
    });
    let download = {
        let id = id.clone();
        move |_| {
            let text = run::log_download(&lines.get_untracked(), stamps.get_untracked());
            let href = format!(
                "data:text/plain;charset=utf-8,{}",
                js_sys::encode_uri_component(&text)
            );
            if let Ok(a) = document().create_element("a") {
                let _ = a.set_attribute("href", &href);
                let _ = a.set_attribute(
                    "download",
                    &format!("{}.log", docker_format::truncate_id(&id)),
                );
                if let Ok(a) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(a) {
                    a.click();
                }
            }
        }
    };
    view! {
        <section class="logs" aria-labelledby="logs-title">
            <h2 id="logs-title">"Logs"</h2>
            <div class="row">
                <label for="log-search" class="sr-only">"Search the log"</label>
                <input id="log-search" type="search" placeholder="Search the log" prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev))/>
                <label class="check"><input id="log-stamps" type="checkbox" prop:checked=move || stamps.get()
                    on:change=move |ev| stamps.set(event_target_checked(&ev))/>" Timestamps"</label>
                <button type="button" id="log-download" on:click=download>"Download"</button>
                <span class="muted" id="log-count">{move || format!("{} line(s)", lines.with(|l| l.len()))}</span>
            </div>
            <pre class="log-view" id="log-view" tabindex="0">{move || {
                let ts = stamps.get();
                lines.with(|l| run::filter_logs(l, &search.get()).into_iter().map(|x| run::log_line_text(x, ts) + "\n").collect::<String>())
            }}</pre>
        </section>
    }
}

/// `top`: the processes in the container, on demand.
#[component]
fn Top(id: String) -> impl IntoView {
    let top = RwSignal::new(None::<Result<TopDto, ApiError>>);
    let load = move |_| {
        let id = id.clone();
        spawn_local(async move {
            let url = format!("/api/containers/{}/top", enc(&id));
            top.set(Some(
                net::get_json::<TopDto>("cannot list the processes", &url).await,
            ));
        });
    };
    view! {
        <section class="top" aria-labelledby="top-title">
            <h2 id="top-title">"Processes"</h2>
            <button type="button" id="top-load" on:click=load>"Show processes (top)"</button>
            {move || top.get().map(|t| match t {
                Ok(t) => view! {
                    <div class="table-wrap"><table class="top-table">
                        <thead><tr>{t.titles.iter().map(|h| view! { <th scope="col">{h.clone()}</th> }).collect_view()}</tr></thead>
                        <tbody>{t.processes.iter().map(|r| view! { <tr>{r.iter().map(|c| view! { <td><code>{c.clone()}</code></td> }).collect_view()}</tr> }).collect_view()}</tbody>
                    </table></div>
                }.into_any(),
                Err(e) => view! { <ErrorBox message=e/> }.into_any(),
            })}
        </section>
    }
}
