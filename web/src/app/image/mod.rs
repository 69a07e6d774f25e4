//! The image page: the layer stack diagram (each layer named by what made it, linked to the
//! explorer on it, with the images that share it), its parent and child images and its
//! containers, tags (tag, untag), SHARED and UNIQUE (exactly what removing it frees), config,
//! history, raw inspect, save as a download, push, remove, and creating a container from it.

mod changes;
mod details;

use super::images::{rmi_plan, RemoveDialog, TagDialog};
use super::net::{self, enc};
use super::widgets::{ErrorBox, Loading};
use super::{Ctx, Link, Load};
use crate::lineage::{self, Lineage};
use crate::route::Route;
use crate::wire::{ContainerDto, ImageDetailDto, LayerMapDto};
use details::ImageDetails;
use leptos::prelude::*;

#[derive(Clone, Debug, PartialEq)]
struct Removing {
    name: String,
    forced: bool,
}

/// The page's dialogs, opened by its parts: tag, push, run and remove.
#[derive(Clone, Copy)]
struct Dialogs {
    tagging: RwSignal<bool>,
    /// The push dialog, with the image's tags when it opened; drawn outside the details, so a
    /// refresh (the tag a push makes first) does not replace it mid-push.
    pushing: RwSignal<Option<Vec<String>>>,
    removing: RwSignal<Option<Removing>>,
    running: RwSignal<bool>,
}

impl Dialogs {
    fn new() -> Dialogs {
        Dialogs {
            tagging: RwSignal::new(false),
            pushing: RwSignal::new(None),
            removing: RwSignal::new(None),
            running: RwSignal::new(false),
        }
    }

    fn open_remove(self, name: String, forced: bool) {
        self.removing.set(Some(Removing { name, forced }));
    }
}

/// `/ui/images/<id>`: one image, read again after store events, its raw inspect and its dialogs.
#[component]
pub fn ImagePage(id: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let dialogs = Dialogs::new();

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
    let lineage = lineage_of(ctx, id.clone());
    // UNIQUE, exactly: what removing the image (by ID, all its tags) would free
    let freed_id = id.clone();
    let freed = LocalResource::new(move || {
        ctx.revision.track();
        let id = freed_id.clone();
        async move { rmi_plan(&id, true).await }
    });
    // the layer whose changes are listed: the top one unless a box of the stack was chosen
    let picked = RwSignal::new(None::<usize>);
    let create = create_container(ctx, id.clone());

    let id_details = id.clone();
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
                    // read here, so a new lineage or container list redraws the details
                    let family = lineage.get();
                    let containers: Vec<ContainerDto> = ctx.containers.with(|l| match l {
                        Load::Ready(cs) => lineage::containers_of(&d.id, cs).into_iter().cloned().collect(),
                        _ => Vec::new(),
                    });
                    view! {
                        <ImageDetails id=id_details.clone() d=d family=family containers=containers
                            freed=freed picked=picked dialogs=dialogs create=create/>
                    }.into_any()
                }
            }}
            <RawInspect id=id.clone()/>
            <ImageDialogs id=id dialogs=dialogs/>
        </section>
    }
}

/// Which image uses which layer: the sharers of each layer, the parent and the children, read
/// again after store events.
fn lineage_of(ctx: Ctx, id: String) -> Memo<Lineage> {
    let layer_map = LocalResource::new(move || {
        ctx.revision.track();
        async move { net::get_json::<LayerMapDto>("cannot read the layers", "/api/layers").await }
    });
    Memo::new(move |_| match layer_map.get() {
        Some(Ok(map)) => ctx.images.with(|l| match l {
            Load::Ready(images) => lineage::lineage(&id, &map, images),
            _ => lineage::lineage(&id, &map, &[]),
        }),
        _ => Lineage::default(),
    })
}

/// A container from the image (`POST /api/containers`), then its page.
fn create_container(ctx: Ctx, id: String) -> Callback<()> {
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
    Callback::new(move |_| {
        create_action.dispatch(id.clone());
    })
}

/// The raw `docker image inspect` JSON, read when shown.
#[component]
fn RawInspect(id: String) -> impl IntoView {
    let inspect = RwSignal::new(false);
    let inspected = LocalResource::new(move || {
        let shown = inspect.get();
        let id = id.clone();
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
    view! {
        <h2>"Inspect"</h2>
        <button type="button" aria-expanded=move || inspect.get().to_string() on:click=show_inspect>
            {move || if inspect.get() { "Hide raw inspect" } else { "Show raw inspect (docker image inspect)" }}
        </button>
        {move || inspected.get().flatten().map(|t| view! { <pre class="raw" tabindex="0" aria-label="raw inspect JSON">{t}</pre> })}
    }
}

/// The open dialog, if any: tag, push, run (a container from the image) or remove.
#[component]
fn ImageDialogs(id: String, dialogs: Dialogs) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let Dialogs {
        tagging,
        pushing,
        removing,
        running,
    } = dialogs;
    let (id_save, push_id, run_image) = (id.clone(), id.clone(), id);
    view! {
        {move || tagging.get().then(|| view! {
            <TagDialog source=id_save.clone() on_close=Callback::new(move |_| tagging.set(false))/>
        })}
        {move || pushing.get().map(|tags| view! {
            <super::registry::PushDialog id=push_id.clone() tags=tags on_close=Callback::new(move |_| pushing.set(None))/>
        })}
        {move || running.get().then(|| view! {
            <super::containers::RunDialog image=run_image.clone() on_close=Callback::new(move |_| running.set(false))/>
        })}
        {move || removing.get().map(|Removing { name, forced }| {
            let images = ctx.image_list();
            let again = name.clone();
            view! {
                <RemoveDialog name=name forced=forced images=images
                    on_force=Callback::new(move |_| dialogs.open_remove(again.clone(), true))
                    on_close=Callback::new(move |_| removing.set(None))/>
            }
        })}
    }
}
