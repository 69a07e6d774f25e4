//! Sharing and disk: the disk-usage chart and the images × layers matrix with refcounts.

use super::net;
use super::widgets::{ErrorBox, Loading, Pager};
use super::{Ctx, Link, Load};
use crate::error::ApiError;
use crate::model::{self, Paging};
use crate::route::Route;
use crate::sharing;
use crate::wire::{ImageSummaryDto, LayerMapDto, PlanDto};
use leptos::prelude::*;

#[component]
pub fn SharingPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    // what `prune -a` would free, for the disk chart; refetched when the store changes
    let prune_plan = LocalResource::new(move || {
        ctx.revision.track();
        net::get_json::<PlanDto>("cannot plan a prune", "/api/prune-plan?all=1")
    });
    let prune_all = Signal::derive(move || {
        prune_plan
            .get()
            .and_then(|p: Result<PlanDto, ApiError>| p.ok())
            .map(|p| p.bytes_freed)
    });
    // every image's layers in one answer, refetched when the store changes
    let layers = LocalResource::new(move || {
        ctx.revision.track();
        net::get_json::<LayerMapDto>("cannot read the layers", "/api/layers")
    });
    // the matrix shows one page of images; its columns are the layers those images use
    let paging = RwSignal::new(Paging::default());
    let image_count = Signal::derive(move || {
        ctx.images.with(|l| match l {
            Load::Ready(v) => v.len(),
            _ => 0,
        })
    });
    let page = Memo::new(move |_| model::page(image_count.get(), paging.get()));

    view! {
        <section class="page" aria-labelledby="sharing-title">
            <h1 id="sharing-title">"Sharing and disk"</h1>
            <h2>"Disk usage"</h2>
            {move || match (ctx.disk.get(), ctx.containers.get()) {
                (Some(du), Load::Ready(cs)) => {
                    let d = sharing::disk(&du, &cs, prune_all.get());
                    view! {
                        <figure class="disk" aria-label="Disk usage">
                            <div class="disk-bar" role="img" aria-label=format!("{} on disk; {} reclaimable", d.total_text, d.reclaimable)>
                                {d.segments.iter().map(|s| view! {
                                    <span class=format!("seg {}", s.class) style=format!("width:{}%", s.percent) title=s.label.clone()></span>
                                }).collect_view()}

                            </div>
                            <div class="reclaim-bar" aria-hidden="true">
                                <span class="reclaim" style=format!("width:{}%", d.reclaimable_percent)
                                    title=format!("reclaimable by prune -a: {}", d.reclaimable)></span>
                            </div>
                            <figcaption>
                                <ul class="legend">
                                    {d.segments.iter().map(|s| view! { <li><span class=format!("key {}", s.class) aria-hidden="true"></span>{s.label.clone()}</li> }).collect_view()}
                                    <li><span class="key reclaim" aria-hidden="true"></span>{format!("reclaimable by pruning all unused images: {}", d.reclaimable)}</li>
                                </ul>
                                {d.notes.iter().map(|n| view! { <p class="help">{n.clone()}</p> }).collect_view()}
                                <p><strong>{format!("Total on disk: {}", d.total_text)}</strong></p>
                            </figcaption>
                        </figure>
                    }.into_any()
                }
                (_, Load::Failed(e)) => view! { <ErrorBox message=e retry=Callback::new(move |_| ctx.refresh())/> }.into_any(),
                _ => view! { <Loading what="Reading disk usage…"/> }.into_any(),
            }}
            <h2>"Which image uses which layer"</h2>
            <p class="help">"Columns are layers, most shared first; a filled cell gives the layer's position in that image's stack (1 = base). A layer is stored once however many images use it and is deleted only when its refcount reaches zero."</p>
            <Transition fallback=|| view! { <Loading what="Reading each image's layers…"/> }>
            {move || {
                let images: Vec<ImageSummaryDto> = ctx.images.with(|l| match l { Load::Ready(v) => v.clone(), _ => Vec::new() });
                let pg = page.get();
                Suspend::new(async move {
                match layers.await {
                    Err(e) => view! { <ErrorBox message=e/> }.into_any(),
                    Ok(_) if images.is_empty() => view! { <p class="empty">"No images yet: pull or import one to see how layers are shared."</p> }.into_any(),
                    Ok(map) => {
                        let m = sharing::matrix_page(&images, &map, pg.start..pg.end);
                        view! {
                            <div class="table-wrap">
                            <table class="matrix">
                                <thead>
                                    <tr>
                                        <th scope="col">"IMAGE"</th>
                                        <th scope="col" class="num">"SHARED"</th>
                                        <th scope="col" class="num">"UNIQUE"</th>
                                        {m.columns.iter().map(|c| view! {
                                            <th scope="col" class="layer-col" title=format!("{} · {} · used by {} image{}", c.diff_id, c.size_text, c.refcount, if c.refcount == 1 { "" } else { "s" })>
                                                <code>{c.short_id[..6.min(c.short_id.len())].to_string()}</code>
                                                <span class="rc">{format!("×{}", c.refcount)}</span>
                                                <span class="sz">{c.size_text.clone()}</span>
                                            </th>
                                        }).collect_view()}
                                    </tr>
                                </thead>
                                <tbody>
                                    {m.rows.into_iter().map(|r| view! {
                                        <tr>
                                            <th scope="row">
                                                <Link href=Route::Image(r.id.clone()).href()>{r.name.clone()}</Link>
                                                <span class="share-bar" aria-hidden="true"><span style=format!("width:{}%", r.shared_percent)></span></span>
                                            </th>
                                            <td class="num">{r.shared}</td>
                                            <td class="num">{r.unique}</td>
                                            {r.cells.into_iter().map(|c| match c {
                                                Some(pos) => view! { <td class="cell on" aria-label=format!("layer {pos} of this image")>{pos}</td> }.into_any(),
                                                None => view! { <td class="cell"><span class="visually-hidden">"not used"</span></td> }.into_any(),
                                            }).collect_view()}
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                            <Pager page=page paging=paging total=image_count/>
                        }.into_any()
                    }
                }
            })}}
            </Transition>
        </section>
    }
}
