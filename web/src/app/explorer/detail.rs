//! The explorer's detail panel: the selected path's provider, every version with its layer
//! (content on demand), the markers bearing on it; and dive's efficiency for the whole view.

use super::super::widgets::ErrorBox;
use super::{FileAt, Loaded};
use crate::tree::{self, DetailVersion, View};
use leptos::prelude::*;

/// The selected path: where it comes from, its versions bottom first, its markers, and the
/// buttons to show its content or open it in the editor. Called inside a reactive closure: it
/// reads `view`.
pub(super) fn path_detail(
    view: Signal<View>,
    p: String,
    content: Option<Callback<FileAt, ()>>,
    loaded: Option<Signal<Option<Loaded>>>,
    on_open: Option<Callback<String>>,
) -> AnyView {
    let d = view.with(|v| tree::detail(v, &p));
    let names: Vec<String> = view.with(|v| (0..v.layer_count()).map(|n| v.layer_name(n)).collect());
    let name_of = move |n: usize| {
        names
            .get(n)
            .cloned()
            .unwrap_or_else(|| format!("layer {}", n + 1))
    };
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
                    version_item(v, label, p.clone(), content, loaded)
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
    }
    .into_any()
}

/// One version of the selected path: its layer, what it is, visible or shadowed, and its
/// content (known, or loaded on demand).
fn version_item(
    v: DetailVersion,
    label: String,
    p: String,
    content: Option<Callback<FileAt, ()>>,
    loaded: Option<Signal<Option<Loaded>>>,
) -> impl IntoView {
    let at: FileAt = (p, Some(v.layer));
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
}

/// Dive's measure of the whole view: the score, the wasted bytes and the paths that waste them.
#[component]
pub(super) fn Efficiency(view: Signal<View>) -> impl IntoView {
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
