//! The image page's details once the image is read: the heading with its actions, the facts
//! and the SHARED/UNIQUE numbers, its relatives, the layer stack, tags, config and history.

use super::super::net::enc;
use super::super::widgets::StackDiagram;
use super::super::{now, Ctx, Link};
use super::changes::LayerChanges;
use super::Dialogs;
use crate::error::ApiError;
use crate::lineage::{self, Lineage};
use crate::plan;
use crate::route::Route;
use crate::stack;
use crate::wire::{ContainerDto, ImageDetailDto, PlanDto};
use leptos::prelude::*;

/// Everything the page shows about a read image, below the breadcrumb.
#[component]
pub(super) fn ImageDetails(
    /// The page's image, as its address names it.
    id: String,
    d: ImageDetailDto,
    family: Lineage,
    containers: Vec<ContainerDto>,
    /// What removing the image would free (UNIQUE).
    freed: LocalResource<Result<PlanDto, ApiError>>,
    /// The layer whose changes are listed.
    picked: RwSignal<Option<usize>>,
    dialogs: Dialogs,
    /// Creates a container from the image.
    create: Callback<()>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let title = d
        .repo_tags
        .first()
        .cloned()
        .unwrap_or_else(|| "<none>:<none>".into());
    let mut stack = stack::build(&d, None);
    stack.name_users(&family);
    let layer_names: Vec<String> = stack
        .items
        .iter()
        .filter_map(|i| match i {
            stack::Item::Layer(l) if l.name.is_empty() => Some(format!("Layer {}", l.index + 1)),
            stack::Item::Layer(l) => Some(format!("Layer {} · {}", l.index + 1, l.name)),
            _ => None,
        })
        .collect();
    let fresh_top = ctx
        .fresh_image
        .with_untracked(|f| f.as_deref() == Some(d.id.as_str()));
    let highlight = fresh_top.then(|| d.layers.len().saturating_sub(1));
    let files = Route::ImageFiles(d.id.clone()).href();
    view! {
        <ImageHeading d=d.clone() title=title files=files.clone() dialogs=dialogs create=create/>
        <ImageNumbers d=d.clone() freed=freed/>
        <Family family=family containers=containers/>

        <div class="columns">
            <div>
                <h2>"Layer stack"</h2>
                <StackDiagram stack=stack files_href=files highlight=highlight/>
                <LayerChanges id=id names=layer_names pick=picked/>
            </div>
            <div>
                <TagsAndConfig d=d.clone() dialogs=dialogs/>
            </div>
        </div>
        <super::super::build::InstructionLayers detail=d.clone() pick=picked/>
        <History d=d/>
    }
}

/// The image's name and its actions: create, run, explore, compare, save, push, remove.
#[component]
fn ImageHeading(
    d: ImageDetailDto,
    title: String,
    /// The union explorer on the image.
    files: String,
    dialogs: Dialogs,
    create: Callback<()>,
) -> impl IntoView {
    let save = format!("/images/{}/get", enc(&d.id));
    let filename = format!(
        "{}.tar",
        title
            .replace(['/', ':'], "_")
            .replace("<none>_<none>", &docker_format::truncate_id(&d.id))
    );
    let push_tags = d.repo_tags.clone();
    let id_remove = d.id.clone();
    let compare = crate::compare::href(Some(&d.id), None);
    view! {
        <div class="heading">
            <h1 id="image-title">{title}</h1>
            <div class="actions">
                <button type="button" on:click=move |_| create.run(())>"Create container"</button>
                <button type="button" class="primary" id="image-run" on:click=move |_| dialogs.running.set(true)>"Run…"</button>
                <Link href=files class="button">"Explore files"</Link>
                <Link href=compare class="button">"Compare with…"</Link>
                <a class="button" href=save download=filename>"Save (docker save tar)"</a>
                <button type="button" data-action="push" on:click=move |_| dialogs.pushing.set(Some(push_tags.clone()))>"Push…"</button>
                <button type="button" class="danger" on:click=move |_| dialogs.open_remove(id_remove.clone(), false)>"Remove image…"</button>
            </div>
        </div>
    }
}

/// The facts line and the SHARED and UNIQUE bytes, UNIQUE read from the removal plan.
#[component]
fn ImageNumbers(
    d: ImageDetailDto,
    freed: LocalResource<Result<PlanDto, ApiError>>,
) -> impl IntoView {
    let facts = format!(
        "{} · {}/{} · {} in {} layer{} · {} in layers other images share · {} in layers only it uses (Docker's measure) · used by {} container{}",
        docker_format::truncate_id(&d.id), d.os, d.architecture,
        docker_format::human_size(d.size), d.layers.len(), if d.layers.len() == 1 { "" } else { "s" },
        docker_format::human_size(d.shared_size), docker_format::human_size(d.unique_size),
        d.containers, if d.containers == 1 { "" } else { "s" });
    let shared_text = docker_format::human_size(d.shared_size);
    let shared_bytes = d.shared_size.to_string();
    view! {
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
    }
}

/// The tags the image lost, newest first, each with where it went: how a dangling image
/// became one (a rebuild or a pull took its tag).
#[component]
fn LostTags(lost: Vec<crate::wire::LostTagDto>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let at = now();
    (!lost.is_empty()).then(|| {
        // named as the image list names them, once it is read (and again when it changes)
        let rows = move || {
            ctx.images.with(|l| {
                let images: &[crate::wire::ImageSummaryDto] = match l {
                    super::super::Load::Ready(list) => list,
                    _ => &[],
                };
                lost.iter()
                    .map(|t| lineage::lost_tag_text(t, at, images))
                    .collect::<Vec<_>>()
            })
        };
        view! {
            <ul class="lost-tags" aria-label="Tags it lost">
                {move || rows().into_iter().map(|(text, to)| view! {
                    <li class="lost-tag">{capitalise(&text)}
                        {to.map(|n| view! { " "<Link href=Route::Image(n.id.clone()).href()>{n.name}</Link> })}
                    </li>
                }).collect_view()}
            </ul>
        }
    })
}

/// The text with its first letter in capitals.
fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The image's tags (each with Untag), its digests, Add a tag, its config, author and comment.
#[component]
fn TagsAndConfig(d: ImageDetailDto, dialogs: Dialogs) -> impl IntoView {
    let config = stack::config_rows(&d.config);
    let tags = d.repo_tags.clone();
    let digests = d.repo_digests.clone();
    view! {
        <h2>"Tags"</h2>
        <ul class="tags">
            {if tags.is_empty() { view! { <li class="muted">"No tag: this image is dangling (<none>:<none>)."</li> }.into_any() } else {
                tags.into_iter().map(|t| {
                    let t2 = t.clone();
                    view! {
                        <li>
                            <span class="pill">{t.clone()}</span>
                            <button type="button" class="small" aria-label=format!("Untag {t}")
                                on:click=move |_| dialogs.open_remove(t2.clone(), false)>"Untag…"</button>
                        </li>
                    }
                }).collect_view().into_any()
            }}
            {digests.into_iter().map(|t| view! { <li><code class="digest-ref">{t}</code></li> }).collect_view()}
        </ul>
        <LostTags lost=d.lost_tags.clone()/>
        <button type="button" on:click=move |_| dialogs.tagging.set(true)>"Add a tag…"</button>
        {
            let host = window().location().host().unwrap_or_default();
            let pulls = crate::registry::pull_from_store(&d.repo_tags, &host);
            (!pulls.is_empty()).then(|| view! {
                <h2>"Pull it from this store"</h2>
                <p class="help">"This store is a registry too: a teammate's docker, skopeo or strata pulls the very image (same ID) with"</p>
                <ul class="pull-from-store">
                    {pulls.into_iter().map(|p| view! { <li><code>{p}</code></li> }).collect_view()}
                </ul>
            })
        }
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
    }
}

/// The image's history as `docker history` shows it.
#[component]
fn History(d: ImageDetailDto) -> impl IntoView {
    let history = stack::history_rows(&d, now());
    view! {
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
