//! What a build did: why nothing was built, why it was refused or failed, the image it made
//! with its cache summary, its steps, and the store's events meanwhile.

use super::super::Link;
use super::{BuildRequest, Outcome};
use crate::build::{cache_summary, LogStep};
use crate::error::{ApiError, ErrorKind};
use crate::route::Route;
use leptos::prelude::*;

/// The build's result line: the Dockerfile's parse errors, a refusal (its kind says why), a
/// failed step, or the image it built.
#[component]
pub(super) fn BuildOutcome(
    out: Outcome,
    /// The build, whose error says why it was refused.
    action: Action<BuildRequest, Result<(), ApiError>>,
    building: Memo<bool>,
    steps: Memo<Vec<LogStep>>,
) -> impl IntoView {
    let Outcome { problems, run, .. } = out;
    view! {
        {move || {
            let p = problems.get();
            (!p.is_empty()).then(|| view! {
                <div class="error" role="alert" id="build-problems">
                    <p>"The Dockerfile does not parse; nothing was built:"</p>
                    <ul>{p.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                </div>
            })
        }}
        // refused before any step ran: the kind says why
        {move || match action.value().get() {
            Some(Err(e)) => {
                let why = match e.kind {
                    ErrorKind::InvalidArgument => "The build was refused before any step ran:",
                    ErrorKind::NotFound => "Something the build needs is missing (a FROM image is not pulled by the dashboard: pull it first):",
                    ErrorKind::Denied => "Your token's role may not build (operators may):",
                    _ => "The build failed:",
                };
                Some(view! {
                    <div class="error" role="alert" id="build-error" data-kind=format!("{:?}", e.kind)>
                        <p>{why}</p><p>{e.message}</p>
                    </div>
                })
            }
            _ => None,
        }}
        {move || run.with(|r| r.error.clone()).map(|(e, code)| view! {
            <div class="error" role="alert" id="build-failed" data-code=code.map(|c| c.to_string())>
                <p>{e}</p>
            </div>
        })}
        {move || {
            let done = !building.get();
            run.with(|r| r.image.clone().filter(|_| done && r.error.is_none())).map(|id| {
                let short = docker_format::truncate_id(&id);
                view! {
                    <p id="build-result" class="ok" role="status">"Built "
                        <Link href=Route::Image(id.clone()).href()>{format!("image {short}")}</Link>
                        {move || steps.with(|s| cache_summary(s)).map(|t| format!(" · {t}"))}
                    </p>
                }
            })
        }}
    }
}

/// The build's steps as the log tells them: number, instruction, cached or ran, the image.
#[component]
pub(super) fn BuildSteps(steps: Memo<Vec<LogStep>>) -> impl IntoView {
    view! {
        <h2>"Steps"</h2>
        <div class="table-wrap">
            <table class="build-steps" id="build-steps">
                <thead><tr>
                    <th scope="col" class="num">"STEP"</th><th scope="col">"INSTRUCTION"</th>
                    <th scope="col">"CACHE"</th><th scope="col">"IMAGE"</th>
                </tr></thead>
                <tbody>
                    {move || steps.get().into_iter().map(|s| view! {
                        <tr data-step=s.number.to_string() class:cached=s.cached data-cached=s.cached.to_string() data-base=s.base.to_string()>
                            <td class="num">{format!("{}/{}", s.number, s.total)}</td>
                            <td class="cmd"><code>{s.instruction}</code></td>
                            <td>{if s.base { view! { <span class="muted">"base"</span> }.into_any() } else if s.cached { view! { <span class="pill cached">"cached"</span> }.into_any() } else if s.container.is_some() { view! { <span class="muted">"ran"</span> }.into_any() } else { view! { <span class="muted">"—"</span> }.into_any() }}</td>
                            <td><code>{s.image.unwrap_or_default()}</code></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The store's events since the build started, as the live event stream reports them.
#[component]
pub(super) fn BuildEvents(events: RwSignal<Vec<String>>) -> impl IntoView {
    view! {
        <h2>"Store events"</h2>
        <ol id="build-events" class="log" aria-live="polite">
            {move || {
                let l = events.get();
                if l.is_empty() {
                    view! { <li class="muted">"The build's containers, step images and tag show here as the event stream reports them."</li> }.into_any()
                } else {
                    l.into_iter().map(|e| view! { <li>{e}</li> }).collect_view().into_any()
                }
            }}
        </ol>
    }
}
