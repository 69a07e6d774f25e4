//! The union explorer: the merged tree coloured by providing layer, "this layer only" vs
//! merged, A/M/R markers, the versions a selected path shadows and the whiteouts and opaque
//! markers bearing on it, and dive's wasted space and efficiency score. Used by the image files
//! page, the container page and the sandbox.

use super::net::{self, enc};
use super::widgets::{ErrorBox, Loading};
use super::Link;
use crate::error::ApiError;
use crate::route::Route;
use crate::tree::{self, Mode, View};
use crate::wire::TreeDto;
use leptos::prelude::*;
use std::collections::BTreeSet;
use wasm_bindgen::JsCast;

/// A path and the layer whose view of it to read (`None`: the merged view).
pub type FileAt = (String, Option<usize>);

/// A file's content as loaded for a [`FileAt`]: the preview text, or what went wrong.
pub type Loaded = (FileAt, Result<String, ApiError>);

/// Bytes of a file loaded for the detail panel; more are cut (see [`crate::preview`]).
const PREVIEW_LIMIT: usize = 64 * 1024;

/// A `content` callback reading files from `base` (`/api/images/{name}/files` or
/// `/api/containers/{id}/files`), and the last file it read, for [`Explorer`]'s `loaded`.
/// Each click is a request (an action): the panel shows the answer to the latest one.
pub fn content_loader(base: String) -> (Callback<FileAt, ()>, Signal<Option<Loaded>>) {
    let read = Action::new_local(move |(p, layer): &FileAt| {
        let (p, layer) = (p.clone(), *layer);
        let shown = format!("/{}", p.trim_start_matches('/'));
        let mut url = format!("{base}?path={}", enc(&shown));
        if let Some(n) = layer {
            url.push_str(&format!("&layer={n}"));
        }
        async move {
            let r = net::get_bytes(&format!("cannot read {shown}"), &url)
                .await
                .map(|b| crate::preview::preview(&b, PREVIEW_LIMIT));
            ((p, layer), r)
        }
    });
    let loaded = read.value();
    (
        Callback::new(move |at: FileAt| {
            read.dispatch(at);
        }),
        Signal::derive(move || loaded.get()),
    )
}

/// The explorer over a view that may change (a container being edited, the sandbox).
#[component]
pub fn Explorer(
    view: Signal<View>,
    /// Called with a path to open it in an editor (containers, sandbox).
    #[prop(optional)]
    on_open: Option<Callback<String>>,
    /// Loads a file's content as a layer shows it (`None`: the merged view); see
    /// [`content_loader`].
    #[prop(optional)]
    content: Option<Callback<FileAt, ()>>,
    /// The text loaded by `content`, for the path and layer it was loaded for.
    #[prop(optional)]
    loaded: Option<Signal<Option<Loaded>>>,
    /// Start on this path.
    #[prop(optional, into)]
    initial: Option<String>,
    /// Start in this mode (one layer, merged up to a layer) rather than the merged view.
    #[prop(optional)]
    start: Option<Mode>,
) -> impl IntoView {
    let mode = RwSignal::new(start.unwrap_or(Mode::Merged));
    let folded = RwSignal::new(BTreeSet::<String>::new());
    let search = RwSignal::new(String::new());
    let show_removed = RwSignal::new(true);
    let selected = RwSignal::new(initial);
    let tree_id = format!("tree-{}", (js_sys::Math::random() * 1e9) as u64);

    let rows = Memo::new(move |_| {
        view.with(|v| {
            folded.with(|f| search.with(|s| tree::rows(v, mode.get(), f, s, show_removed.get())))
        })
    });
    let counts = Memo::new(move |_| view.with(tree::change_counts));
    let layer_count = Memo::new(move |_| view.with(|v| v.layer_count()));

    let tid = tree_id.clone();
    let tree_id_el = tree_id.clone();
    let on_key = move |ev: web_sys::KeyboardEvent| {
        let key = ev.key();
        if !matches!(
            key.as_str(),
            "ArrowDown" | "ArrowUp" | "ArrowLeft" | "ArrowRight" | "Home" | "End"
        ) {
            return;
        }
        let Some(active) = document().active_element() else {
            return;
        };
        let Some(path) = active.get_attribute("data-path") else {
            return;
        };
        let list = rows.get_untracked();
        let Some(i) = list.iter().position(|r| r.path == path) else {
            return;
        };
        ev.prevent_default();
        let target = match key.as_str() {
            "ArrowDown" => (i + 1).min(list.len().saturating_sub(1)),
            "ArrowUp" => i.saturating_sub(1),
            "Home" => 0,
            "End" => list.len().saturating_sub(1),
            "ArrowRight" => {
                if list[i].has_children {
                    folded.update(|f| {
                        f.remove(&path);
                    });
                }
                i
            }
            _ => {
                if list[i].has_children && !folded.with_untracked(|f| f.contains(&path)) {
                    folded.update(|f| {
                        f.insert(path.clone());
                    });
                    i
                } else {
                    // to the parent
                    let parent = crate::tree::slash(&path);
                    let parent = parent
                        .rsplit_once('/')
                        .map(|(p, _)| p.trim_start_matches('/').to_string())
                        .unwrap_or_default();
                    list.iter().position(|r| r.path == parent).unwrap_or(i)
                }
            }
        };
        if let Some(r) = list.get(target) {
            let sel = format!("#{} [data-path=\"{}\"]", tid, r.path.replace('"', "\\\""));
            if let Ok(Some(el)) = document().query_selector(&sel) {
                if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                    let _ = el.focus();
                }
            }
        }
    };

    view! {
        <div class="explorer">
            <div class="explorer-controls">
                <fieldset class="modes">
                    <legend>"Show"</legend>
                    <label class="mode">
                        <input type="radio" name=format!("{tree_id}-mode") prop:checked=move || mode.get() == Mode::Merged
                            on:change=move |_| mode.set(Mode::Merged)/>
                        "Merged view (what a container sees)"
                    </label>
                    {let tree_id = tree_id.clone(); move || (0..layer_count.get()).map(|n| {
                        let c = counts.get().get(n).copied().unwrap_or_default();
                        let name = view.with(|v| v.layer_name(n));
                        view! {
                            <label class=format!("mode layer-pick c{}", n % 8)>
                                <input type="radio" name=format!("{tree_id}-mode") prop:checked=move || mode.get() == Mode::Layer(n)
                                    on:change=move |_| mode.set(Mode::Layer(n))/>
                                <span class="swatch" aria-hidden="true"></span>
                                {format!("{name} only")}
                                <span class="amr" title="added, modified, removed">{format!(" +{} ~{} -{}", c.0, c.1, c.2)}</span>
                            </label>
                        }
                    }).collect_view()}
                    <label class="mode upto">
                        <input type="radio" name=format!("{tree_id}-mode") prop:checked=move || matches!(mode.get(), Mode::UpTo(_))
                            on:change=move |_| mode.set(Mode::UpTo(layer_count.get_untracked().saturating_sub(1)))/>
                        "Merged up to "
                        <select data-upto aria-label="Merged up to layer"
                            prop:value=move || match mode.get() { Mode::UpTo(n) => n.to_string(), _ => String::new() }
                            on:change=move |ev| if let Ok(n) = event_target_value(&ev).parse() { mode.set(Mode::UpTo(n)) }>
                            <option value="">"…"</option>
                            {move || (0..layer_count.get()).map(|n| view! { <option value=n.to_string()>{format!("layer {}", n + 1)}</option> }).collect_view()}
                        </select>
                    </label>
                </fieldset>
                <label class="search">
                    <span class="visually-hidden">"Filter paths"</span>
                    <input type="search" placeholder="Filter paths" prop:value=move || search.get()
                        on:input=move |ev| search.set(event_target_value(&ev))/>
                </label>
                <label class="check">
                    <input type="checkbox" prop:checked=move || show_removed.get()
                        on:change=move |ev| show_removed.set(event_target_checked(&ev))/>
                    "Show removed paths (hidden by a whiteout or opaque directory)"
                </label>
                <div class="fold-buttons">
                    <button type="button" class="small" on:click=move |_| folded.set(tree::all_dirs(&rows.get_untracked()))>"Fold all"</button>
                    <button type="button" class="small" on:click=move |_| folded.set(BTreeSet::new())>"Unfold all"</button>
                </div>
            </div>
            <div class="explorer-main">
                <div class="tree" id=tree_id_el role="tree" aria-label="Files" on:keydown=on_key>
                    {move || {
                        let list = rows.get();
                        if list.is_empty() {
                            return view! { <p class="muted">{move || if search.with(|s| s.is_empty()) { "No files in this view." } else { "No path matches the filter." }}</p> }.into_any();
                        }
                        list.into_iter().map(|r| {
                            let path = r.path.clone();
                            let p2 = path.clone();
                            let p3 = path.clone();
                            let folded_now = folded.with_untracked(|f| f.contains(&path));
                            let colour = r.layer.map(|l| format!("c{}", l % 8)).unwrap_or_default();
                            let layer_text = r.layer.map(|l| format!("L{}", l + 1)).unwrap_or_default();
                            let change_class = match r.change { Some('A') => "chg-a", Some('M') => "chg-m", Some('R') => "chg-r", _ => "" };
                            let title = match (r.layer, r.removed) {
                                (Some(l), true) => format!("removed by layer {}", l + 1),
                                (Some(l), false) => format!("from layer {}", l + 1),
                                _ => String::new(),
                            };
                            view! {
                                <div class=format!("tree-row {colour}") class:removed=r.removed role="treeitem"
                                    attr:aria-level=r.depth + 1
                                    aria-expanded=r.has_children.then(|| (!folded_now).to_string())
                                    aria-selected=move || (selected.get().as_deref() == Some(p3.as_str())).to_string()
                                    style=format!("--depth:{}", r.depth)>
                                    {r.has_children.then(|| {
                                        let p = path.clone();
                                        view! {
                                            <button type="button" class="fold" tabindex="-1" aria-label=if folded_now { "Unfold" } else { "Fold" }
                                                on:click=move |_| folded.update(|f| { if !f.remove(&p) { f.insert(p.clone()); } })>
                                                {if folded_now { "▸" } else { "▾" }}
                                            </button>
                                        }
                                    })}
                                    <button type="button" class="path" data-path=path.clone() title=title
                                        on:click=move |_| selected.set(Some(p2.clone()))>
                                        <span class="name">{r.name.clone()}{if r.is_dir { "/" } else { "" }}</span>
                                        {r.target.clone().map(|t| view! { <span class="target">{format!(" → {t}")}</span> })}
                                    </button>
                                    <span class="layer-chip" aria-label=format!("layer {}", r.layer.map(|l| l + 1).unwrap_or(0))>{layer_text}</span>
                                    <span class=format!("letter {change_class}")>{r.change.map(|c| c.to_string()).unwrap_or_default()}</span>
                                    {if r.is_dir { view! { <span class="num dir-total" data-total=r.total.to_string() title="the files under it in this view">{docker_format::human_size(r.total)}</span> }.into_any() } else { view! { <span class="num">{if r.kind == "file" { docker_format::human_size(r.size) } else { String::new() }}</span> }.into_any() }}
                                    {(r.shadows > 0 && !r.removed).then(|| view! { <span class="hides" title="lower versions it hides">{format!("hides {}", r.shadows)}</span> })}
                                    {view.with_untracked(|v| v.markers_on(&r.path)).into_iter().map(|(l, kind)| {
                                        let (text, title) = if kind == "opaque" {
                                            (format!("opaque L{}", l + 1), format!("layer {} holds .wh..wh..opq here: what lower layers had under this directory is hidden", l + 1))
                                        } else {
                                            (format!("whiteout L{}", l + 1), format!("layer {} holds a .wh. file deleting this path", l + 1))
                                        };
                                        view! { <span class=format!("mark mark-{kind}") title=title>{text}</span> }
                                    }).collect_view()}
                                </div>
                            }
                        }).collect_view().into_any()
                    }}
                </div>
                <aside class="detail" aria-live="polite" aria-label="Selected path">
                    {move || match selected.get() {
                        None => view! { <p class="muted">"Select a path to see which layer provides it, the versions it hides and the whiteouts that bear on it."</p> }.into_any(),
                        Some(p) => {
                            let d = view.with(|v| tree::detail(v, &p));
                            let names: Vec<String> = view.with(|v| (0..v.layer_count()).map(|n| v.layer_name(n)).collect());
                            let name_of = move |n: usize| names.get(n).cloned().unwrap_or_else(|| format!("layer {}", n + 1));
                            let is_file = view.with(|v| v.get(&p).is_some_and(|x| x.kind == "file"));
                            let p_open = p.clone();
                            let p_load = p.clone();
                            let p_shown = p.clone();
                            view! {
                                <h3><code>{d.path.clone()}</code></h3>
                                <p class="summary" data-summary>{d.summary.clone()}</p>
                                {(!d.versions.is_empty()).then(|| view! {
                                    <h4>"Versions, bottom layer first"</h4>
                                    <ol class="versions">
                                        {d.versions.clone().into_iter().map(|v| {
                                            let label = name_of(v.layer);
                                            let at: FileAt = (p.clone(), Some(v.layer));
                                            let at_shown = at.clone();
                                            let fetch = (v.readable && v.text.is_none()).then_some(()).and(content);
                                            view! {
                                                <li class=format!("c{}", v.layer % 8) class:shadowed=!v.visible>
                                                    <span class="layer-chip">{format!("L{}", v.layer + 1)}</span>
                                                    <strong>{label.clone()}</strong>": "{v.what}
                                                    {if v.visible { " (visible)" } else { " (shadowed)" }}
                                                    {fetch.map(|c| view! {
                                                        <button type="button" class="small version-content" aria-label=format!("Show the content in {label}")
                                                            on:click=move |_| c.run(at.clone())>"Show content"</button>
                                                    })}
                                                    {v.text.map(|t| view! { <pre class="content">{t}</pre> })}
                                                    {loaded.map(|l| view! {
                                                        {move || l.get().filter(|(k, _)| *k == at_shown).map(|(_, r)| match r {
                                                            Ok(t) => view! { <pre class="content" aria-label=format!("content in layer {}", at_shown.1.unwrap_or(0) + 1)>{t}</pre> }.into_any(),
                                                            Err(e) => view! { <ErrorBox message=e/> }.into_any(),
                                                        })}
                                                    })}
                                                </li>
                                            }
                                        }).collect_view()}
                                    </ol>
                                })}
                                {(!d.markers.is_empty()).then(|| view! {
                                    <h4>"Markers"</h4>
                                    <ul class="markers">
                                        {d.markers.clone().into_iter().map(|m| view! {
                                            <li class=format!("marker {} c{}", m.kind, m.layer % 8)>
                                                <span class="layer-chip">{format!("L{}", m.layer + 1)}</span>
                                                <code>{m.tar_name}</code>" ("{m.kind}"): "{m.effect}
                                            </li>
                                        }).collect_view()}
                                    </ul>
                                })}
                                <div class="detail-actions">
                                    {(is_file && content.is_some()).then(|| view! {
                                        <button type="button" class="small" on:click=move |_| if let Some(c) = content { c.run((p_load.clone(), None)) }>"Show content"</button>
                                    })}
                                    {on_open.map(|o| view! {
                                        <button type="button" class="small" on:click=move |_| o.run(p_open.clone())>"Edit or delete…"</button>
                                    })}
                                </div>
                                {loaded.map(|l| view! {
                                    {move || l.get().filter(|((lp, layer), _)| *lp == p_shown && layer.is_none()).map(|(_, r)| match r {
                                        Ok(t) => view! { <pre class="content" aria-label="file content">{t}</pre> }.into_any(),
                                        Err(e) => view! { <ErrorBox message=e/> }.into_any(),
                                    })}
                                })}
                            }.into_any()
                        }
                    }}
                    <Efficiency view=view/>
                </aside>
            </div>
        </div>
    }
}

#[component]
fn Efficiency(view: Signal<View>) -> impl IntoView {
    view! {
        {move || {
            let e = view.with(tree::efficiency);
            view! {
                <section class="efficiency" aria-label="Efficiency">
                    <h4>"Efficiency (dive's rules)"</h4>
                    <p>"Score "<strong>{e.score.clone()}</strong>" · wasted "<strong>{e.wasted.clone()}</strong></p>
                    <p class="help">"Wasted space: bytes of paths stored in more than one layer, or written and later deleted. A whiteout hides a file but the lower layer still ships it."</p>
                    {(!e.paths.is_empty()).then(|| view! {
                        <table class="waste">
                            <thead><tr><th scope="col">"Path"</th><th scope="col" class="num">"All copies"</th><th scope="col">"Layers"</th></tr></thead>
                            <tbody>
                                {e.paths.clone().into_iter().map(|(p, s, l)| view! { <tr><td><code>{p}</code></td><td class="num">{s}</td><td>{l}</td></tr> }).collect_view()}
                            </tbody>
                        </table>
                    })}
                </section>
            }
        }}
    }
}

/// `/ui/images/<id>/files`: the union explorer of one image.
#[component]
pub fn ImageFilesPage(id: String) -> impl IntoView {
    let tree = LocalResource::new({
        let id = id.clone();
        move || {
            let url = format!("/api/images/{}/tree", enc(&id));
            async move {
                net::get_json::<TreeDto>("cannot read the image's files", &url)
                    .await
                    .map(|t| View::from_dto(&t))
            }
        }
    });
    let view_sig = Signal::derive(move || match tree.get() {
        Some(Ok(v)) => v,
        _ => View::default(),
    });
    let back = Route::Image(id.clone()).href();
    let (content, loaded) = content_loader(format!("/api/images/{}/files", enc(&id)));
    view! {
        <section class="page" aria-labelledby="files-title">
            <nav class="crumbs" aria-label="Breadcrumb">
                <Link href=Route::Images.href()>"Images"</Link>" › "
                <Link href=back>{docker_format::truncate_id(&id)}</Link>" › "
                <span aria-current="page">"Files"</span>
            </nav>
            <h1 id="files-title">"Union explorer"</h1>
            <p class="help">"Each path is coloured by the layer that provides it. Read top-down, the first layer that has a path wins; a whiteout hides the path below it; an opaque directory hides everything below it."</p>
            <Suspense fallback=|| view! { <Loading what="Reading the layers…"/> }>
            {move || Suspend::new(async move {
                match tree.await {
                    Err(e) => view! { <ErrorBox message=e retry=Callback::new(move |_| tree.refetch())/> }.into_any(),
                    Ok(_) => {
                        let start = Mode::from_query(&window().location().search().unwrap_or_default());
                        view! { <Explorer view=view_sig content=content loaded=loaded start=start.unwrap_or(Mode::Merged)/> }.into_any()
                    }
                }
            })}
            </Suspense>
        </section>
    }
}
