//! The image page: the layer stack diagram (each layer named by what made it, linked to the
//! explorer on it, with the images that share it), its parent and child images and its
//! containers, tags (tag, untag), SHARED and UNIQUE (exactly what removing it frees), config,
//! history, raw inspect, save as a download, push, remove, and creating a container from it.

use super::images::{remove_and_report, rmi_plan, runnable_preview, TagDialog};
use super::net::{self, enc};
use super::widgets::{ErrorBox, Loading, Modal, PlanBody, StackDiagram};
use super::{now, Ctx, Link, Load};
use crate::lineage::{self, Lineage};
use crate::plan;
use crate::route::Route;
use crate::stack;
use crate::wire::{ContainerDto, ImageDetailDto, ImageSummaryDto, LayerMapDto, PlanDto};
use leptos::prelude::*;

#[derive(Clone, Debug, PartialEq)]
struct Removing {
    name: String,
    forced: bool,
}

#[component]
pub fn ImagePage(id: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let inspect = RwSignal::new(false);
    let tagging = RwSignal::new(false);
    // the push dialog, with the image's tags when it opened; drawn outside the details, so a
    // refresh (the tag a push makes first) does not replace it mid-push
    let pushing = RwSignal::new(None::<Vec<String>>);
    let removing = RwSignal::new(None::<Removing>);

    // read now, and again after store events (tags change, containers come and go)
    let fetch_id = id.clone();
    let fetched = LocalResource::new(move || {
        ctx.revision.track();
        let id = fetch_id.clone();
        async move {
            net::get_json::<ImageDetailDto>(
                &format!("cannot read image {}", docker_format::truncate_id(&id)),
                &format!("/api/images/{}", enc(&id)),
            )
            .await
        }
    });
    // an unchanged answer does not redraw the page
    let detail = Memo::new(move |_| match fetched.get() {
        None => Load::Loading,
        Some(Ok(d)) => Load::Ready(d),
        Some(Err(e)) => Load::Failed(e),
    });
    let gone = move || detail.with(|d| matches!(d, Load::Failed(e) if e.is_not_found()));
    // which image uses which layer: the sharers of each layer, the parent and the children
    let layer_map = LocalResource::new(move || {
        ctx.revision.track();
        async move { net::get_json::<LayerMapDto>("cannot read the layers", "/api/layers").await }
    });
    let lineage_id = id.clone();
    let lineage = Memo::new(move |_| match layer_map.get() {
        Some(Ok(map)) => ctx.images.with(|l| match l {
            Load::Ready(images) => lineage::lineage(&lineage_id, &map, images),
            _ => lineage::lineage(&lineage_id, &map, &[]),
        }),
        _ => Lineage::default(),
    });
    // UNIQUE, exactly: what removing the image (by ID, all its tags) would free
    let freed_id = id.clone();
    let freed = LocalResource::new(move || {
        ctx.revision.track();
        let id = freed_id.clone();
        async move { rmi_plan(&id, true).await }
    });

    let open_remove = move |name: String, forced: bool| {
        removing.set(Some(Removing { name, forced }));
    };

    let running = RwSignal::new(false);
    let run_image = id.clone();
    let id_changes = id.clone();
    // the layer whose changes are listed: the top one unless a box of the stack was chosen
    let picked = RwSignal::new(None::<usize>);
    // a container from the image (`POST /api/containers`), then its page
    let create_action = Action::new_local(|image: &String| {
        let image = image.clone();
        async move {
            net::send(
                "cannot create a container",
                "POST",
                "/api/containers",
                net::body(&crate::wire::CreateContainerRequest {
                    image,
                    name: None,
                    ..Default::default()
                }),
            )
            .await
            .and_then(|b| crate::wire::decode::<ContainerDto>("container", &b))
        }
    });
    Effect::new(move |_| match create_action.value().get() {
        Some(Ok(c)) => {
            ctx.toast(format!("Created container {}", c.name), false);
            ctx.navigate(&Route::Container(c.id.clone()).href());
        }
        Some(Err(e)) => ctx.toast(e, true),
        None => {}
    });
    let create = {
        let id = id.clone();
        move |_| {
            create_action.dispatch(id.clone());
        }
    };

    // the raw inspect, read when shown
    let id_for_inspect = id.clone();
    let inspected = LocalResource::new(move || {
        let shown = inspect.get();
        let id = id_for_inspect.clone();
        async move {
            if !shown {
                return None;
            }
            let text = net::get_text("cannot inspect", &format!("/images/{}/json", enc(&id)))
                .await
                .map(|t| {
                    serde_json::from_str::<serde_json::Value>(&t)
                        .ok()
                        .and_then(|v| serde_json::to_string_pretty(&v).ok())
                        .unwrap_or(t)
                })
                .unwrap_or_else(|e| e.to_string());
            Some(text)
        }
    });
    let show_inspect = move |_| inspect.update(|i| *i = !*i);

    let id_save = id.clone();
    let push_id = id.clone();
    view! {
        <section class="page" aria-labelledby="image-title">
            <nav class="crumbs" aria-label="Breadcrumb">
                <Link href=Route::Images.href()>"Images"</Link>" › "
                <span aria-current="page">{docker_format::truncate_id(&id)}</span>
            </nav>
            {move || match detail.get() {
                Load::Loading => view! { <Loading what="Loading the image…"/> }.into_any(),
                Load::Failed(e) if gone() => view! {
                    <div class="empty" role="alert">
                        <p><strong>"This image is gone."</strong>" It was removed, or never existed here."</p>
                        <p class="muted">{e.to_string()}</p>
                        <p><Link href=Route::Images.href()>"Back to the images"</Link></p>
                    </div>
                }.into_any(),
                Load::Failed(e) => view! { <ErrorBox message=e retry=Callback::new(move |_| fetched.refetch())/> }.into_any(),
                Load::Ready(d) => {
                    let title = d.repo_tags.first().cloned().unwrap_or_else(|| "<none>:<none>".into());
                    let mut stack = stack::build(&d, None);
                    let family = lineage.get();
                    stack.name_users(&family);
                    let layer_names: Vec<String> = stack.items.iter().filter_map(|i| match i {
                        stack::Item::Layer(l) if l.name.is_empty() => Some(format!("Layer {}", l.index + 1)),
                        stack::Item::Layer(l) => Some(format!("Layer {} · {}", l.index + 1, l.name)),
                        _ => None,
                    }).collect();
                    let push_tags = d.repo_tags.clone();
                    let containers: Vec<ContainerDto> = ctx.containers.with(|l| match l {
                        Load::Ready(cs) => lineage::containers_of(&d.id, cs).into_iter().cloned().collect(),
                        _ => Vec::new(),
                    });
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
                        "{} · {}/{} · {} in {} layer{} · {} in layers other images share · {} in layers only it uses (Docker's measure) · used by {} container{}",
                        docker_format::truncate_id(&d.id), d.os, d.architecture,
                        docker_format::human_size(d.size), d.layers.len(), if d.layers.len() == 1 { "" } else { "s" },
                        docker_format::human_size(d.shared_size), docker_format::human_size(d.unique_size),
                        d.containers, if d.containers == 1 { "" } else { "s" });
                    let shared_text = docker_format::human_size(d.shared_size);
                    let shared_bytes = d.shared_size.to_string();
                    view! {
                        <div class="heading">
                            <h1 id="image-title">{title}</h1>
                            <div class="actions">
                                <button type="button" on:click=create.clone()>"Create container"</button>
                                <button type="button" class="primary" id="image-run" on:click=move |_| running.set(true)>"Run…"</button>
                                <Link href=files.clone() class="button">"Explore files"</Link>
                                <a class="button" href=save download=filename>"Save (docker save tar)"</a>
                                <button type="button" data-action="push" on:click=move |_| pushing.set(Some(push_tags.clone()))>"Push…"</button>
                                <button type="button" class="danger" on:click=move |_| open_remove(id_remove.clone(), false)>"Remove image…"</button>
                            </div>
                        </div>
                        <p class="facts">{facts}</p>
                        <dl class="numbers" aria-label="Shared and unique bytes">
                            <dt title=plan::SHARED_HELP>"SHARED"</dt>
                            <dd data-shared=shared_bytes>{shared_text}</dd>
                            <dt title=plan::UNIQUE_EXACT_HELP>"UNIQUE"</dt>
                            <dd data-unique=move || match freed.get() { Some(Ok(p)) if p.conflict.is_none() => p.bytes_freed.to_string(), _ => String::new() }>
                                {move || match freed.get() {
                                    None => "…".to_string(),
                                    Some(Ok(p)) if p.conflict.is_none() => docker_format::human_size(p.bytes_freed),
                                    Some(Ok(p)) => format!("nothing can be freed now: {}", p.conflict.unwrap_or_default()),
                                    Some(Err(e)) => e.to_string(),
                                }}
                            </dd>
                        </dl>
                        <ul class="legend numbers-legend">
                            <li>{plan::SHARED_HELP}</li>
                            <li>{plan::UNIQUE_EXACT_HELP}</li>
                        </ul>
                        <Family family=family containers=containers/>

                        <div class="columns">
                            <div>
                                <h2>"Layer stack"</h2>
                                <StackDiagram stack=stack files_href=files highlight=highlight/>
                                <LayerChanges id=id_changes.clone() names=layer_names pick=picked/>
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
            <button type="button" aria-expanded=move || inspect.get().to_string() on:click=show_inspect>
                {move || if inspect.get() { "Hide raw inspect" } else { "Show raw inspect (docker image inspect)" }}
            </button>
            {move || inspected.get().flatten().map(|t| view! { <pre class="raw" tabindex="0" aria-label="raw inspect JSON">{t}</pre> })}
            {move || tagging.get().then(|| view! {
                <TagDialog source=id_save.clone() on_close=Callback::new(move |_| tagging.set(false))/>
            })}
            {move || pushing.get().map(|tags| view! {
                <super::registry::PushDialog id=push_id.clone() tags=tags on_close=Callback::new(move |_| pushing.set(None))/>
            })}
            {move || running.get().then(|| view! {
                <super::containers::RunDialog image=run_image.clone() on_close=Callback::new(move |_| running.set(false))/>
            })}
            {move || removing.get().map(|r| view! { <RemoveDialog r=r state=removing reopen=Callback::new(move |(n, f)| open_remove(n, f))/> })}
        </section>
    }
}

/// The image's relatives: the image it was built on, the images built on it, and the
/// containers made from it.
#[component]
fn Family(family: Lineage, containers: Vec<ContainerDto>) -> impl IntoView {
    let Lineage {
        parent, children, ..
    } = family;
    let image_link = |n: lineage::Named| view! { <li><Link href=Route::Image(n.id.clone()).href()>{n.name}</Link></li> };
    view! {
        <section class="family" aria-labelledby="family-title">
            <h2 id="family-title" class="visually-hidden">"Related images and containers"</h2>
            <div class="family-cols">
                <div data-family="parent">
                    <h3>"Parent image"</h3>
                    {match parent {
                        Some(p) => view! { <ul>{image_link(p)}</ul> }.into_any(),
                        None => view! { <p class="muted">"None stored: its base layers belong to no other image here."</p> }.into_any(),
                    }}
                </div>
                <div data-family="children">
                    <h3>"Child images"</h3>
                    {if children.is_empty() {
                        view! { <p class="muted">"No image here is built on it."</p> }.into_any()
                    } else {
                        view! { <ul>{children.into_iter().map(image_link).collect_view()}</ul> }.into_any()
                    }}
                </div>
                <div data-family="containers">
                    <h3>{format!("Containers ({})", containers.len())}</h3>
                    {if containers.is_empty() {
                        view! { <p class="muted">"No container uses it."</p> }.into_any()
                    } else {
                        view! {
                            <ul>{containers.into_iter().map(|c| view! {
                                <li><Link href=Route::Container(c.id.clone()).href()>{c.name.clone()}</Link>" "<span class="muted">{c.state.clone()}</span></li>
                            }).collect_view()}</ul>
                        }.into_any()
                    }}
                </div>
            </div>
        </section>
    }
}

/// The remove dialog: the plan, read when it opens, and the removal it previews.
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
    let Removing { name, forced } = r;
    let plan_name = name.clone();
    let planned = LocalResource::new(move || {
        let name = plan_name.clone();
        async move { rmi_plan(&name, forced).await }
    });
    let plan = move || match planned.get() {
        None => Load::Loading,
        Some(Ok(p)) => Load::Ready(p),
        Some(Err(e)) => Load::Failed(e),
    };
    let blocked = move || matches!(plan(), Load::Ready(p) if p.conflict.is_some());
    let body_name = name.clone();
    let title = format!("Remove {}", plan::shown_name(&name, &images));
    let body = move || match plan() {
        Load::Loading => view! { <Loading what="Working out what would be removed…"/> }.into_any(),
        Load::Failed(e) => view! { <ErrorBox message=e/> }.into_any(),
        Load::Ready(p) => {
            view! { <PlanBody text=plan::rmi_text(&body_name, &p, &images, forced)/> }.into_any()
        }
    };
    let n = name.clone();
    let n2 = name.clone();
    let remove = Action::new_local(move |(name, preview): &(String, PlanDto)| {
        let (name, preview) = (name.clone(), preview.clone());
        async move {
            remove_and_report(ctx, name, forced, preview).await;
            state.set(None);
        }
    });
    let run = move |_| {
        let Some(preview) = runnable_preview(&plan()) else {
            return;
        };
        remove.dispatch((n.clone(), preview));
    };
    view! {
        <Modal title=title on_close=close>
            <div class="dialog-body" data-dialog="remove">{body}</div>
            <div class="dialog-actions">
                <button type="button" on:click=move |_| close.run(()) autofocus>"Cancel"</button>
                {move || (blocked() && !forced).then(|| { let n2 = n2.clone(); view! {
                    <button type="button" class="warn" on:click=move |_| reopen.run((n2.clone(), true))>"Preview with force…"</button>
                }})}
                <button type="button" class="danger" disabled=move || runnable_preview(&plan()).is_none() || remove.pending().get() on:click=run>
                    {if forced { "Force remove" } else { "Remove" }}
                </button>
            </div>
        </Modal>
    }
}

/// What one layer of the image adds (`A`), changes (`C`) and deletes (`D`), as `docker diff`
/// names them; the top layer unless another is chosen.
#[component]
fn LayerChanges(
    id: String,
    /// `Layer 2 · RUN mkdir -p /opt/app`, bottom first.
    names: Vec<String>,
    pick: RwSignal<Option<usize>>,
) -> impl IntoView {
    let layers = names.len();
    let tree = LocalResource::new(move || {
        let id = id.clone();
        async move {
            net::get_json::<crate::wire::TreeDto>(
                "cannot read the image's files",
                &format!("/api/images/{}/tree", enc(&id)),
            )
            .await
            .map(|t| crate::tree::View::from_dto(&t))
        }
    });
    let view = move || match tree.get() {
        None => Load::Loading,
        Some(Ok(v)) => Load::Ready(v),
        Some(Err(e)) => Load::Failed(e),
    };
    let title_names = names.clone();
    let n = move || pick.get().unwrap_or(layers.saturating_sub(1));
    view! {
        <section class="layer-changes" aria-labelledby="layer-changes-title">
            <h3 id="layer-changes-title">{move || format!("{} changes", title_names.get(n()).cloned().unwrap_or_else(|| format!("Layer {}", n() + 1)))}</h3>
            <label for="layer-pick" class="sr-only">"Layer"</label>
            <select id="layer-pick" prop:value=move || n().to_string()
                on:change=move |ev| pick.set(event_target_value(&ev).parse().ok())>
                {names.into_iter().enumerate().map(|(i, name)| view! { <option value=i.to_string()>{name}</option> }).collect_view()}
            </select>
            {move || match view() {
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
