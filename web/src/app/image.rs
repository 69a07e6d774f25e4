//! The image page: the layer stack diagram, tags (tag, untag), config, history, raw inspect,
//! save as a download, remove, and creating a container from it.

use super::images::{remove_and_report, rmi_plan, runnable_preview, TagDialog};
use super::net::{self, enc};
use super::widgets::{ErrorBox, Loading, Modal, PlanBody, StackDiagram};
use super::{now, Ctx, Link, Load};
use crate::error::ApiError;
use crate::plan;
use crate::route::Route;
use crate::stack;
use crate::wire::{ContainerDto, ImageDetailDto, ImageSummaryDto, PlanDto};
use leptos::prelude::*;
use leptos::task::spawn_local;

#[derive(Clone, Debug, PartialEq)]
struct Removing {
    name: String,
    forced: bool,
    plan: Load<PlanDto>,
}

#[component]
pub fn ImagePage(id: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let detail = RwSignal::new(Load::<ImageDetailDto>::Loading);
    let inspect = RwSignal::new(None::<String>);
    let tagging = RwSignal::new(false);
    let removing = RwSignal::new(None::<Removing>);
    let gone = RwSignal::new(false);

    let load = {
        let id = id.clone();
        move || {
            let id = id.clone();
            spawn_local(async move {
                let res: Result<ImageDetailDto, ApiError> = net::get_json(
                    &format!("cannot read image {}", docker_format::truncate_id(&id)),
                    &format!("/api/images/{}", enc(&id)),
                )
                .await;
                match res {
                    Ok(d) => {
                        let next = Load::Ready(d);
                        if detail.with_untracked(|old| *old != next) {
                            detail.set(next);
                        }
                    }
                    Err(e) if e.is_not_found() => {
                        gone.set(true);
                        detail.set(Load::Failed(e));
                    }
                    Err(e) => detail.set(Load::Failed(e)),
                }
            });
        }
    };
    // load now, and again after store events (tags change, containers come and go)
    let reload = load.clone();
    Effect::new(move |_| {
        ctx.revision.track();
        reload();
    });

    let open_remove = move |name: String, forced: bool| {
        removing.set(Some(Removing {
            name: name.clone(),
            forced,
            plan: Load::Loading,
        }));
        spawn_local(async move {
            let p = rmi_plan(&name, forced).await;
            removing.update(|r| {
                if let Some(r) = r {
                    r.plan = match p {
                        Ok(v) => Load::Ready(v),
                        Err(e) => Load::Failed(e),
                    };
                }
            });
        });
    };

    let running = RwSignal::new(false);
    let run_image = id.clone();
    let id_changes = id.clone();
    // the layer whose changes are listed: the top one unless a box of the stack was chosen
    let picked = RwSignal::new(None::<usize>);
    let create = {
        let id = id.clone();
        move |_| {
            let id = id.clone();
            spawn_local(async move {
                let res = net::send(
                    "cannot create a container",
                    "POST",
                    "/api/containers",
                    net::body(&crate::wire::CreateContainerRequest {
                        image: id,
                        name: None,
                        ..Default::default()
                    }),
                )
                .await;
                match res.and_then(|b| crate::wire::decode::<ContainerDto>("container", &b)) {
                    Ok(c) => {
                        ctx.toast(format!("Created container {}", c.name), false);
                        ctx.navigate(&Route::Container(c.id.clone()).href());
                    }
                    Err(e) => ctx.toast(e, true),
                }
            });
        }
    };

    let id_for_inspect = id.clone();
    let show_inspect = move |_| {
        if inspect.get_untracked().is_some() {
            inspect.set(None);
            return;
        }
        let id = id_for_inspect.clone();
        spawn_local(async move {
            let text = net::get_text("cannot inspect", &format!("/images/{}/json", enc(&id)))
                .await
                .map(|t| {
                    serde_json::from_str::<serde_json::Value>(&t)
                        .ok()
                        .and_then(|v| serde_json::to_string_pretty(&v).ok())
                        .unwrap_or(t)
                })
                .unwrap_or_else(|e| e.to_string());
            inspect.set(Some(text));
        });
    };

    let id_save = id.clone();
    view! {
        <section class="page" aria-labelledby="image-title">
            <nav class="crumbs" aria-label="Breadcrumb">
                <Link href=Route::Images.href()>"Images"</Link>" › "
                <span aria-current="page">{docker_format::truncate_id(&id)}</span>
            </nav>
            {move || match detail.get() {
                Load::Loading => view! { <Loading what="Loading the image…"/> }.into_any(),
                Load::Failed(e) if gone.get() => view! {
                    <div class="empty" role="alert">
                        <p><strong>"This image is gone."</strong>" It was removed, or never existed here."</p>
                        <p class="muted">{e.to_string()}</p>
                        <p><Link href=Route::Images.href()>"Back to the images"</Link></p>
                    </div>
                }.into_any(),
                Load::Failed(e) => view! { <ErrorBox message=e retry=Callback::new({ let l = load.clone(); move |_| l() })/> }.into_any(),
                Load::Ready(d) => {
                    let title = d.repo_tags.first().cloned().unwrap_or_else(|| "<none>:<none>".into());
                    let stack = stack::build(&d, None);
                    let fresh_top = ctx.fresh_image.with_untracked(|f| f.as_deref() == Some(d.id.as_str()));
                    let highlight = fresh_top.then(|| d.layers.len().saturating_sub(1));
                    let config = stack::config_rows(&d.config);
                    let history = stack::history_rows(&d, now());
                    let files = Route::ImageFiles(d.id.clone()).href();
                    let save = format!("/images/{}/get", enc(&d.id));
                    let filename = format!("{}.tar", title.replace(['/', ':'], "_").replace("<none>_<none>", &docker_format::truncate_id(&d.id)));
                    let tags = d.repo_tags.clone();
                    let digests = d.repo_digests.clone();
                    let id_remove = d.id.clone();
                    let facts = format!(
                        "{} · {}/{} · {} in {} layer{} · {} shared with other images · {} only here · used by {} container{}",
                        docker_format::truncate_id(&d.id), d.os, d.architecture,
                        docker_format::human_size(d.size), d.layers.len(), if d.layers.len() == 1 { "" } else { "s" },
                        docker_format::human_size(d.shared_size), docker_format::human_size(d.unique_size),
                        d.containers, if d.containers == 1 { "" } else { "s" });
                    view! {
                        <div class="heading">
                            <h1 id="image-title">{title}</h1>
                            <div class="actions">
                                <button type="button" on:click=create.clone()>"Create container"</button>
                                <button type="button" class="primary" id="image-run" on:click=move |_| running.set(true)>"Run…"</button>
                                <Link href=files.clone() class="button">"Explore files"</Link>
                                <a class="button" href=save download=filename>"Save (docker save tar)"</a>
                                <button type="button" class="danger" on:click=move |_| open_remove(id_remove.clone(), false)>"Remove image…"</button>
                            </div>
                        </div>
                        <p class="facts">{facts}</p>
                        <div class="columns">
                            <div>
                                <h2>"Layer stack"</h2>
                                <StackDiagram stack=stack files_href=files highlight=highlight/>
                                <LayerChanges id=id_changes.clone() layers=d.layers.len() pick=picked/>
                            </div>
                            <div>
                                <h2>"Tags"</h2>
                                <ul class="tags">
                                    {if tags.is_empty() { view! { <li class="muted">"No tag: this image is dangling (<none>:<none>)."</li> }.into_any() } else {
                                        tags.into_iter().map(|t| {
                                            let t2 = t.clone();
                                            view! {
                                                <li>
                                                    <span class="pill">{t.clone()}</span>
                                                    <button type="button" class="small" aria-label=format!("Untag {t}")
                                                        on:click=move |_| open_remove(t2.clone(), false)>"Untag…"</button>
                                                </li>
                                            }
                                        }).collect_view().into_any()
                                    }}
                                    {digests.into_iter().map(|t| view! { <li><code class="digest-ref">{t}</code></li> }).collect_view()}
                                </ul>
                                <button type="button" on:click=move |_| tagging.set(true)>"Add a tag…"</button>
                                <h2>"Config"</h2>
                                {if config.is_empty() {
                                    view! { <p class="muted">"No process configuration (CMD, ENV…) is set."</p> }.into_any()
                                } else {
                                    view! {
                                        <dl class="config">
                                            {config.into_iter().map(|(k, vs)| view! {
                                                <dt>{k}</dt>
                                                <dd>{vs.into_iter().map(|v| view! { <code>{v}</code> }).collect_view()}</dd>
                                            }).collect_view()}
                                        </dl>
                                    }.into_any()
                                }}
                                {d.author.clone().filter(|a| !a.is_empty()).map(|a| view! { <p>"Author: "{a}</p> })}
                                {d.comment.clone().filter(|a| !a.is_empty()).map(|a| view! { <p>"Comment: "{a}</p> })}
                            </div>
                        </div>
                        <super::build::InstructionLayers detail=d.clone() pick=picked/>
                        <h2>"History"</h2>
                        <div class="table-wrap">
                        <table class="history">
                            <thead><tr>
                                <th scope="col">"IMAGE"</th><th scope="col">"CREATED"</th>
                                <th scope="col">"CREATED BY"</th><th scope="col" class="num">"SIZE"</th><th scope="col">"COMMENT"</th>
                            </tr></thead>
                            <tbody>
                                {history.into_iter().map(|h| view! {
                                    <tr class:empty-step=h.empty>
                                        <td><code>{h.image}</code></td>
                                        <td>{h.created}</td>
                                        <td class="cmd"><code>{h.command}</code></td>
                                        <td class="num">{h.size}</td>
                                        <td>{h.comment}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any()
                }
            }}
            <h2>"Inspect"</h2>
            <button type="button" aria-expanded=move || inspect.with(|i| i.is_some()).to_string() on:click=show_inspect>
                {move || if inspect.with(|i| i.is_some()) { "Hide raw inspect" } else { "Show raw inspect (docker image inspect)" }}
            </button>
            {move || inspect.get().map(|t| view! { <pre class="raw" tabindex="0" aria-label="raw inspect JSON">{t}</pre> })}
            {move || tagging.get().then(|| view! {
                <TagDialog source=id_save.clone() on_close=Callback::new(move |_| tagging.set(false))/>
            })}
            {move || running.get().then(|| view! {
                <super::containers::RunDialog image=run_image.clone() on_close=Callback::new(move |_| running.set(false))/>
            })}
            {move || removing.get().map(|r| view! { <RemoveDialog r=r state=removing reopen=Callback::new(move |(n, f)| open_remove(n, f))/> })}
        </section>
    }
}

#[component]
fn RemoveDialog(
    r: Removing,
    state: RwSignal<Option<Removing>>,
    reopen: Callback<(String, bool)>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let images: Vec<ImageSummaryDto> = ctx.images.with_untracked(|l| match l {
        Load::Ready(v) => v.clone(),
        _ => Vec::new(),
    });
    let close = Callback::new(move |_| state.set(None));
    let busy = RwSignal::new(false);
    let Removing { name, forced, plan } = r;
    let ready = runnable_preview(&plan);
    let blocked = matches!(&plan, Load::Ready(p) if p.conflict.is_some());
    let can_run = ready.is_some();
    let body = match &plan {
        Load::Loading => view! { <Loading what="Working out what would be removed…"/> }.into_any(),
        Load::Failed(e) => view! { <ErrorBox message=e.clone()/> }.into_any(),
        Load::Ready(p) => {
            view! { <PlanBody text=plan::rmi_text(&name, p, &images, forced)/> }.into_any()
        }
    };
    let n = name.clone();
    let n2 = name.clone();
    let run = move |_| {
        let Some(preview) = ready.clone() else { return };
        let name = n.clone();
        busy.set(true);
        spawn_local(async move {
            remove_and_report(ctx, name, forced, preview).await;
            state.set(None);
        });
    };
    view! {
        <Modal title=format!("Remove {name}") on_close=close>
            <div class="dialog-body" data-dialog="remove">{body}</div>
            <div class="dialog-actions">
                <button type="button" on:click=move |_| close.run(()) autofocus>"Cancel"</button>
                {(blocked && !forced).then(|| view! {
                    <button type="button" class="warn" on:click=move |_| reopen.run((n2.clone(), true))>"Preview with force…"</button>
                })}
                <button type="button" class="danger" disabled=move || !can_run || busy.get() on:click=run>
                    {if forced { "Force remove" } else { "Remove" }}
                </button>
            </div>
        </Modal>
    }
}

/// What one layer of the image adds (`A`), changes (`C`) and deletes (`D`), as `docker diff`
/// names them; the top layer unless another is chosen.
#[component]
fn LayerChanges(id: String, layers: usize, pick: RwSignal<Option<usize>>) -> impl IntoView {
    let view = RwSignal::new(Load::<crate::tree::View>::Loading);
    spawn_local(async move {
        let res = net::get_json::<crate::wire::TreeDto>(
            "cannot read the image's files",
            &format!("/api/images/{}/tree", enc(&id)),
        )
        .await;
        view.set(match res {
            Ok(t) => Load::Ready(crate::tree::View::from_dto(&t)),
            Err(e) => Load::Failed(e),
        });
    });
    let n = move || pick.get().unwrap_or(layers.saturating_sub(1));
    view! {
        <section class="layer-changes" aria-labelledby="layer-changes-title">
            <h3 id="layer-changes-title">{move || format!("Layer {} changes", n() + 1)}</h3>
            <label for="layer-pick" class="sr-only">"Layer"</label>
            <select id="layer-pick" prop:value=move || n().to_string()
                on:change=move |ev| pick.set(event_target_value(&ev).parse().ok())>
                {(0..layers).map(|i| view! { <option value=i.to_string()>{format!("Layer {}", i + 1)}</option> }).collect_view()}
            </select>
            {move || match view.get() {
                Load::Loading => view! { <Loading what="Reading the layers…"/> }.into_any(),
                Load::Failed(e) => view! { <ErrorBox message=e/> }.into_any(),
                Load::Ready(v) => {
                    let list: Vec<(String, char)> = v.layer_changes(n()).to_vec();
                    if list.is_empty() {
                        view! { <p class="muted">"This layer changes nothing."</p> }.into_any()
                    } else {
                        view! {
                            <ul class="upper layer-diff" id="layer-diff">
                                {list.into_iter().map(|(p, c)| {
                                    let (class, letter) = match c { 'A' => ("chg-a", 'A'), 'R' => ("chg-r", 'D'), _ => ("chg-m", 'C') };
                                    let path = format!("/{}", p.trim_start_matches('/'));
                                    view! { <li class=class data-path=path.clone()>{format!("{letter} {path}")}</li> }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }
                }
            }}
        </section>
    }
}
