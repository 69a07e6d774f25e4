//! `top`: the processes running in a container, on demand.

use super::super::net::{self, enc};
use super::super::widgets::ErrorBox;
use crate::error::ApiError;
use crate::wire::TopDto;
use leptos::prelude::*;

/// `top`: the processes in the container, on demand.
#[component]
pub(super) fn Top(id: String) -> impl IntoView {
    // asked for by the button (a snapshot of a moment), so an action, not a resource
    let load: Action<(), Result<TopDto, ApiError>> = Action::new_local(move |_: &()| {
        let url = format!("/api/containers/{}/top", enc(&id));
        async move { net::get_json::<TopDto>("cannot list the processes", &url).await }
    });
    let top = load.value();
    view! {
        <section class="top" aria-labelledby="top-title">
            <h2 id="top-title">"Processes"</h2>
            <button type="button" id="top-load" on:click=move |_| { load.dispatch(()); }>"Show processes (top)"</button>
            {move || top.get().map(|t| match t {
                Ok(t) => view! {
                    <div class="table-wrap"><table class="top-table">
                        <thead><tr>{t.titles.iter().map(|h| view! { <th scope="col">{h.clone()}</th> }).collect_view()}</tr></thead>
                        <tbody>{t.processes.iter().map(|r| view! { <tr>{r.iter().map(|c| view! { <td><code>{c.clone()}</code></td> }).collect_view()}</tr> }).collect_view()}</tbody>
                    </table></div>
                }.into_any(),
                Err(e) => view! { <ErrorBox message=e/> }.into_any(),
            })}
        </section>
    }
}
