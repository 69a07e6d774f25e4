//! Containers: the list with a create form, and one container's page: its stack with the
//! writable layer on top (copy-ups and whiteouts appear as they happen), a file editor (add,
//! edit, delete, mkdir), commit, export and remove.

use super::explorer::Explorer;
use super::net::{self, enc};
use super::widgets::{ErrorBox, Loading, Modal, StackDiagram};
use super::{Ctx, Link, Load};
use crate::route::Route;
use crate::stack::{self, Upper};
use crate::tree::View;
use crate::wire::{
    decode, CommitResultDto, ContainerDto, ImageDetailDto, ImageSummaryDto, TreeDto,
};
use leptos::prelude::*;
use leptos::task::spawn_local;
use std::collections::BTreeSet;

#[component]
pub fn ContainersPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let image = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let img = image.get_untracked();
        if img.trim().is_empty() {
            error.set(Some("choose an image to create the container from".into()));
            return;
        }
        let n = name.get_untracked();
        busy.set(true);
        spawn_local(async move {
            let body = crate::wire::CreateContainerRequest {
                image: img.trim().to_string(),
                name: Some(n.trim().to_string()).filter(|n| !n.is_empty()),
            };
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
                    ctx.toast(format!("Created container {}", c.name), false);
                    ctx.navigate(&Route::Container(c.id.clone()).href());
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    let options = move || {
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
    };
    view! {
        <section class="page" aria-labelledby="containers-title">
            <h1 id="containers-title">"Containers"</h1>
            <p class="help">"A container here is an image's read-only layers plus one writable layer on top. Processes do not run in it; you change its files from the browser and commit them as a new layer."</p>
            <form class="create" on:submit=create aria-label="Create a container">
                <label for="create-image">"Image"</label>
                <select id="create-image" on:change=move |ev| image.set(event_target_value(&ev)) prop:value=move || image.get()>
                    <option value="">"Choose an image…"</option>
                    {move || options().into_iter().map(|(v, t)| view! { <option value=v>{t}</option> }).collect_view()}
                </select>
                <label for="create-name">"Name (optional)"</label>
                <input id="create-name" type="text" autocomplete="off" prop:value=move || name.get()
                    on:input=move |ev| name.set(event_target_value(&ev))/>
                <button type="submit" class="primary" disabled=move || busy.get()>"Create"</button>
            </form>
            {move || error.get().map(|e| view! { <ErrorBox message=e/> })}
            {move || match ctx.containers.get() {
                Load::Loading => view! { <Loading what="Loading containers…"/> }.into_any(),
                Load::Failed(e) => view! { <ErrorBox message=e retry=Callback::new(move |_| ctx.refresh())/> }.into_any(),
                Load::Ready(list) if list.is_empty() => view! {
                    <div class="empty"><p><strong>"No containers."</strong>" Create one from an image above, then edit its files to watch copy-up and whiteouts happen."</p></div>
                }.into_any(),
                Load::Ready(list) => view! {
                    <div class="table-wrap">
                    <table class="containers">
                        <thead><tr>
                            <th scope="col">"NAME"</th><th scope="col">"CONTAINER ID"</th><th scope="col">"IMAGE"</th>
                            <th scope="col">"COMMAND"</th><th scope="col">"CREATED"</th><th scope="col" class="num">"WRITABLE LAYER"</th>
                        </tr></thead>
                        <tbody>
                            {list.into_iter().map(|c| view! {
                                <tr>
                                    <td><Link href=Route::Container(c.id.clone()).href()>{c.name.clone()}</Link></td>
                                    <td><code>{docker_format::truncate_id(&c.id)}</code></td>
                                    <td><Link href=Route::Image(c.image.clone()).href()>{c.image_name.clone()}</Link></td>
                                    <td><code>{c.command.join(" ")}</code></td>
                                    <td>{c.created.clone()}</td>
                                    <td class="num">{docker_format::human_size(c.size_rw)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    </div>
                }.into_any(),
            }}
        </section>
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Loaded {
    container: ContainerDto,
    image: ImageDetailDto,
    view: View,
}

async fn load_all(id: &str) -> Result<Loaded, String> {
    let container: ContainerDto = net::get_json(
        "cannot read the container",
        &format!("/api/containers/{}", enc(id)),
    )
    .await?;
    let image: ImageDetailDto = net::get_json(
        "cannot read the container's image",
        &format!("/api/images/{}", enc(&container.image)),
    )
    .await?;
    let tree: TreeDto = net::get_json(
        "cannot read the container's files",
        &format!("/api/containers/{}/tree", enc(id)),
    )
    .await?;
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
                    Err(e) if e.contains("No such container") => {
                        gone.set(true);
                        state.set(Load::Failed(e));
                    }
                    Err(e) => state.set(Load::Failed(e)),
                }
            });
        }
    };
    let r2 = reload.clone();
    Effect::new(move |_| {
        ctx.revision.track();
        r2();
    });

    // the file editor
    let path = RwSignal::new(String::from("/etc/passwd"));
    let text = RwSignal::new(String::new());
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
                    editor_note.set(Some((format!("Loaded {p}."), false)));
                }
                Err(e) => editor_note.set(Some((e, true))),
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
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let id = id_w.clone();
        let p = path.get_untracked();
        let body = text.get_untracked().into_bytes();
        spawn_local(async move {
            let url = format!("/api/containers/{}/files?path={}", enc(&id), enc(&p));
            match net::put_bytes(&format!("cannot write {p}"), &url, body).await {
                Ok(()) => {
                    editor_note.set(Some((format!("Saved {p} into the writable layer."), false)))
                }
                Err(e) => editor_note.set(Some((e, true))),
            }
            ctx.refresh_soon();
        });
    };
    let id_d = id.clone();
    let delete = move |_| {
        let id = id_d.clone();
        let p = path.get_untracked();
        spawn_local(async move {
            let url = format!("/api/containers/{}/files?path={}", enc(&id), enc(&p));
            match net::send(&format!("cannot delete {p}"), "DELETE", &url, None).await {
                Ok(_) => editor_note.set(Some((format!("Deleted {p}: a lower copy is now hidden by a whiteout in the writable layer."), false))),
                Err(e) => editor_note.set(Some((e, true))),
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
                Err(e) => editor_note.set(Some((e, true))),
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

    view! {
        <section class="page" aria-labelledby="container-title">
            <nav class="crumbs" aria-label="Breadcrumb">
                <Link href=Route::Containers.href()>"Containers"</Link>" › "
                <span aria-current="page">{id_short.clone()}</span>
            </nav>
            {move || match state.get() {
                Load::Loading => view! { <Loading what="Loading the container…"/> }.into_any(),
                Load::Failed(e) if gone.get() => view! {
                    <div class="empty" role="alert"><p><strong>"This container is gone."</strong></p><p class="muted">{e}</p>
                    <p><Link href=Route::Containers.href()>"Back to the containers"</Link></p></div>
                }.into_any(),
                Load::Failed(e) => view! { <ErrorBox message=e retry=Callback::new({ let r = reload.clone(); move |_| r() })/> }.into_any(),
                Load::Ready(l) => {
                    let st = stack::build(&l.image, Some((&l.container.name, l.container.size_rw, &l.view)));
                    let image_href = Route::Image(l.image.id.clone()).href();
                    view! {
                        <div class="heading">
                            <h1 id="container-title">{l.container.name.clone()}</h1>
                            <div class="actions">
                                <a class="button" href=export.clone() download=format!("{}.tar", l.container.name)>"Export (flattened tar)"</a>
                                <button type="button" class="danger" on:click=move |_| confirm_rm.set(true)>"Remove…"</button>
                            </div>
                        </div>
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
                                        <input id="edit-path" type="text" spellcheck="false" autocomplete="off"
                                            prop:value=move || path.get() on:input=move |ev| path.set(event_target_value(&ev))/>
                                        <button type="button" on:click={ let r = r_btn.clone(); move |_| r(path.get_untracked()) }>"Load"</button>
                                    </div>
                                    <label for="edit-text">"Content"</label>
                                    <textarea id="edit-text" rows="8" spellcheck="false"
                                        prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
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
            }}
            <h2>"Files (image layers + writable layer)"</h2>
            {move || ready.get().then(|| view! {
                <Explorer view=view_sig on_open=open_in_editor content=show_content loaded=loaded_content/>
            })}
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
