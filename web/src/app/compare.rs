//! Compare two images: both picked from the list, their stacks side by side with the shared
//! base marked, and every path whose merged entry differs.

use super::net::{self, enc};
use super::widgets::{ErrorBox, Loading};
use super::{Ctx, Link, Load};
use crate::compare;
use crate::error::ApiError;
use crate::lineage::image_name;
use crate::route::Route;
use crate::wire::{CompareDto, ImageDetailDto, ImageSummaryDto};
use leptos::prelude::*;

/// Both images' details and their comparison, or the first failure.
type Answer = Result<(ImageDetailDto, ImageDetailDto, CompareDto), ApiError>;

async fn read(a: String, b: String) -> Answer {
    let detail = |id: String| async move {
        net::get_json::<ImageDetailDto>(
            &format!("cannot read image {id}"),
            &format!("/api/images/{}", enc(&id)),
        )
        .await
    };
    let da = detail(a.clone()).await?;
    let db = detail(b.clone()).await?;
    let c = net::get_json::<CompareDto>(
        "cannot compare the images",
        &format!("/api/images/{}/compare?with={}", enc(&a), enc(&b)),
    )
    .await?;
    Ok((da, db, c))
}

#[component]
pub fn ComparePage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let (qa, qb) = compare::from_query(&window().location().search().unwrap_or_default());
    let a = RwSignal::new(qa);
    let b = RwSignal::new(qb);
    // the address follows the choice, so a comparison can be reloaded or shared
    Effect::new(move |_| {
        let href = compare::href(a.get().as_deref(), b.get().as_deref());
        if let Ok(h) = window().history() {
            let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&href));
        }
    });
    let images = Memo::new(move |_| {
        ctx.images.with(|l| match l {
            Load::Ready(v) => v.clone(),
            _ => Vec::new(),
        })
    });
    let answer = LocalResource::new(move || {
        ctx.revision.track();
        let pair = a.get().zip(b.get());
        async move {
            match pair {
                Some((a, b)) => Some(read(a, b).await),
                None => None,
            }
        }
    });
    let picker = move |label: &'static str, which: RwSignal<Option<String>>, key: &'static str| {
        view! {
            <label class="compare-pick">{label}" "
                <select data-compare=key
                    on:change=move |ev| {
                        let v = event_target_value(&ev);
                        which.set((!v.is_empty()).then_some(v));
                    }>
                    <option value="" selected=move || which.get().is_none()>"Choose an image…"</option>
                    {move || {
                        let list: Vec<ImageSummaryDto> = images.get();
                        let chosen = which.get();
                        list.iter().map(|i| {
                            let name = image_name(&i.id, &list);
                            // a query may name the image by a tag or a prefix: the option of
                            // the image it names is the selected one once the answer is in
                            let id = i.id.clone();
                            let selected = chosen.as_deref().is_some_and(|c| {
                                c == id || i.repo_tags.iter().any(|t| t == c)
                            });
                            view! { <option value=id selected=selected>{name}</option> }
                        }).collect_view()
                    }}
                </select>
            </label>
        }
    };

    view! {
        <section class="page" aria-labelledby="compare-title">
            <nav class="crumbs" aria-label="Breadcrumb">
                <Link href=Route::Images.href()>"Images"</Link>" › "
                <span aria-current="page">"Compare"</span>
            </nav>
            <h1 id="compare-title">"Compare two images"</h1>
            <p class="help">"Where two stacks share their first layers they share those bytes on disk; from the layer where they diverge, each image's own layers decide its files. Below: both stacks side by side, then every path one image has and the other has not, or both have differently (type, content, link target, mode, owner, extended attributes; modification times aside)."</p>
            <div class="compare-picks">
                {picker("First", a, "a")}
                <button type="button" class="ghost" title="Swap the two images"
                    on:click=move |_| {
                        let (x, y) = (a.get_untracked(), b.get_untracked());
                        a.set(y);
                        b.set(x);
                    }>"⇄ Swap"</button>
                {picker("Second", b, "b")}
            </div>
            <Transition fallback=|| view! { <Loading what="Comparing the images…"/> }>
            {move || match answer.get() {
                None | Some(None) => view! { <p class="muted" id="compare-empty">"Choose two images to compare."</p> }.into_any(),
                Some(Some(Err(e))) => view! { <ErrorBox message=e retry=Callback::new(move |_| answer.refetch())/> }.into_any(),
                Some(Some(Ok((da, db, c)))) => {
                    let list = images.get();
                    view! { <Comparison da=da db=db c=c images=list/> }.into_any()
                }
            }}
            </Transition>
        </section>
    }
}

/// The answer: the base, the stacks, the paths.
#[component]
fn Comparison(
    da: ImageDetailDto,
    db: ImageDetailDto,
    c: CompareDto,
    images: Vec<ImageSummaryDto>,
) -> impl IntoView {
    let shared = c.shared_layers as usize;
    let (name_a, name_b) = (image_name(&da.id, &images), image_name(&db.id, &images));
    let rows = compare::stack_rows(&da, &db, shared);
    let base = compare::base_text(&da.layers, &db.layers, shared);
    let summary = compare::summary(&c);
    let href_a = Route::Image(da.id.clone()).href();
    let href_b = Route::Image(db.id.clone()).href();
    view! {
        <h2>"Stacks"</h2>
        <p id="compare-base">{base}</p>
        <table class="compare-stacks" aria-label="Both stacks, top layer first">
            <thead><tr>
                <th scope="col"><Link href=href_a>{name_a}</Link></th>
                <th scope="col"><Link href=href_b>{name_b}</Link></th>
            </tr></thead>
            <tbody>
                {rows.into_iter().rev().map(|r| {
                    let class = if r.shared { "shared" } else { "own" };
                    let cell = |t: Option<String>| match t {
                        Some(t) => view! { <td>{t}</td> }.into_any(),
                        None => view! { <td class="muted">"—"</td> }.into_any(),
                    };
                    view! {
                        <tr class=class data-layer=r.index.to_string()>
                            {if r.shared {
                                view! { <td colspan="2" class="shared-cell">{r.a.clone().unwrap_or_default()}" · shared"</td> }.into_any()
                            } else {
                                view! { {cell(r.a)}{cell(r.b)} }.into_any()
                            }}
                        </tr>
                    }
                }).collect_view()}
            </tbody>
        </table>
        <h2>"Paths that differ"</h2>
        <p id="compare-summary" role="status">{summary}</p>
        {(!c.paths.is_empty()).then(|| view! {
            <div class="table-wrap">
            <table class="compare-paths" aria-label="Paths that differ, in tree order">
                <thead><tr>
                    <th scope="col" title="A: only in the second; D: only in the first; C: changed">"Change"</th>
                    <th scope="col">"Path"</th>
                    <th scope="col">"In the first"</th>
                    <th scope="col">"In the second"</th>
                    <th scope="col">"What differs"</th>
                </tr></thead>
                <tbody>
                    {c.paths.into_iter().map(|p| view! {
                        <tr data-path=p.path.clone() data-change=p.change.clone()>
                            <td class=format!("change change-{}", p.change.to_lowercase())>{p.change.clone()}</td>
                            <td class="path"><code>{p.path.clone()}</code></td>
                            <td>{compare::side_text(p.a.as_ref())}</td>
                            <td>{compare::side_text(p.b.as_ref())}</td>
                            <td>{compare::change_text(&p.change, &p.aspects)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            </div>
        })}
    }
}
