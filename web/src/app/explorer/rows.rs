//! The explorer's tree: its rows (colour, layer chip, A/M/R letter, size, what it hides, the
//! markers on it) and the arrow keys that move through them.

use super::Shown;
use crate::tree::Row;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The rows of the tree as the view, mode, folds and filter give them, or why there are none.
/// Called inside a reactive closure: it reads `rows`.
pub(super) fn tree_rows(s: Shown) -> AnyView {
    let list = s.rows.get();
    if list.is_empty() {
        let search = s.search;
        return view! { <p class="muted">{move || if search.with(|s| s.is_empty()) { "No files in this view." } else { "No path matches the filter." }}</p> }.into_any();
    }
    list.into_iter()
        .map(|r| tree_row(s, r))
        .collect_view()
        .into_any()
}

/// One row of the tree: fold button, path (selects it), layer chip, change letter, size,
/// what it hides and the markers bearing on it.
fn tree_row(s: Shown, r: Row) -> impl IntoView {
    let Shown {
        view,
        folded,
        selected,
        ..
    } = s;
    let path = r.path.clone();
    let p2 = path.clone();
    let p3 = path.clone();
    let folded_now = folded.with_untracked(|f| f.contains(&path));
    let colour = r.layer.map(|l| format!("c{}", l % 8)).unwrap_or_default();
    let layer_text = r.layer.map(|l| format!("L{}", l + 1)).unwrap_or_default();
    let change_class = match r.change {
        Some('A') => "chg-a",
        Some('M') => "chg-m",
        Some('R') => "chg-r",
        _ => "",
    };
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
}

/// The tree's keys: up and down, Home and End move the focus; right unfolds; left folds or
/// goes to the parent.
pub(super) fn tree_keys(s: Shown, tree_id: String) -> impl Fn(web_sys::KeyboardEvent) + 'static {
    let Shown { folded, rows, .. } = s;
    move |ev: web_sys::KeyboardEvent| {
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
            let sel = format!(
                "#{} [data-path=\"{}\"]",
                tree_id,
                r.path.replace('"', "\\\"")
            );
            if let Ok(Some(el)) = document().query_selector(&sel) {
                if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                    let _ = el.focus();
                }
            }
        }
    }
}
