//! A container's controls (start, stop, kill, pause, …) as its state allows them.

use super::super::net::{self, enc};
use super::super::Ctx;
use crate::run;
use leptos::prelude::*;

/// The controls of one container in `state`; each runs its verb and says how it went.
#[component]
pub(super) fn Controls(id: String, state: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let act = Action::new_local(move |(id, action): &(String, run::Action)| {
        let (id, action) = (id.clone(), *action);
        async move {
            let url = format!("/api/containers/{}/{}", enc(&id), action.verb());
            match net::send(&format!("cannot {}", action.verb()), "POST", &url, None).await {
                Ok(_) => ctx.toast(
                    format!("{} {}", action.done(), docker_format::truncate_id(&id)),
                    false,
                ),
                Err(e) => ctx.toast(e, true),
            }
            ctx.refresh_soon();
        }
    });
    run::actions(&state)
        .into_iter()
        .map(|a| {
            let id = id.clone();
            let class = format!("act-{}", a.verb());
            view! { <button type="button" class=class on:click=move |_| { act.dispatch((id.clone(), a)); }>{a.label()}</button> }
        })
        .collect_view()
}
