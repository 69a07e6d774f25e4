//! The Containers page: the list with each one's status, changes and controls, bulk remove.

use super::super::net::{self, enc};
use super::super::widgets::{ErrorBox, Loading, Modal};
use super::super::{Ctx, Link, Load};
use super::controls::Controls;
use super::run_dialog::RunDialog;
use super::ticking_now;
use crate::route::Route;
use crate::run;
use crate::wire::ContainerDto;
use leptos::prelude::*;
use std::collections::BTreeSet;

#[component]
pub fn ContainersPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let show_run = RwSignal::new(false);
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let confirm_bulk = RwSignal::new(false);
    let now = ticking_now();
    let bulk_remove = Action::new_local(move |ids: &Vec<String>| {
        let ids = ids.clone();
        async move {
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
        }
    });
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
                            <th scope="col">"COMMAND"</th><th scope="col">"CREATED"</th><th scope="col">"STATUS"</th><th scope="col">"PORTS"</th>
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
                                    <td class="ports">{c.ports.join(", ")}</td>
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
                        <button type="button" class="danger" id="bulk-remove-confirm" on:click=move |_| { confirm_bulk.set(false); bulk_remove.dispatch(selected.get_untracked().into_iter().collect()); }>"Remove"</button>
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
