//! The explorer's controls: which view to show (merged, one layer, merged up to a layer), the
//! path filter, removed paths shown or not, fold and unfold all.

use super::Shown;
use crate::tree::{self, Mode};
use leptos::prelude::*;
use std::collections::BTreeSet;

/// The explorer's controls: the view picker with each layer's A/M/R counts, the filter, the
/// removed-paths box and the fold buttons.
#[component]
pub(super) fn ExplorerControls(
    s: Shown,
    /// The tree's element id, which names the radio group.
    tree_id: String,
) -> impl IntoView {
    let Shown {
        view,
        mode,
        folded,
        search,
        show_removed,
        rows,
        ..
    } = s;
    let counts = Memo::new(move |_| view.with(tree::change_counts));
    let layer_count = Memo::new(move |_| view.with(|v| v.layer_count()));
    view! {
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
    }
}
