//! The image page's layer changes: what one layer adds, changes and deletes, as `docker diff`
//! names them.

use super::super::net::{self, enc};
use super::super::widgets::{ErrorBox, Loading};
use super::super::Load;
use leptos::prelude::*;

/// What one layer of the image adds (`A`), changes (`C`) and deletes (`D`), as `docker diff`
/// names them; the top layer unless another is chosen.
#[component]
pub(super) fn LayerChanges(
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
