//! The Images page: pull box, status chips, search, the sortable table with multi-select,
//! tag, remove and prune dialogs with exact previews, and the totals line.

mod dialogs;
mod pull;
mod table;

pub use dialogs::{RemoveDialog, TagDialog};

use super::net::{self, enc};
use super::registry::{ImportDialog, LoadDialog, LoginDialog, SearchDialog};
use super::widgets::{ErrorBox, Loading};
use super::{Ctx, Load};
use crate::error::ApiError;
use crate::model::{self, Query, Status};
use crate::plan::{self, Scope};
use crate::wire::{decode, PlanDto};
use dialogs::DialogView;
use leptos::prelude::*;
use pull::PullBox;
use std::collections::BTreeSet;
use table::ImagesTable;

/// The registry and archive dialog open on the page, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Login,
    Search,
    Load,
    Import,
}

/// The dialog open on the page, if any; each reads its own plan when it opens.
#[derive(Clone, Debug, PartialEq)]
enum Dialog {
    Remove {
        name: String,
        forced: bool,
    },
    Prune {
        scope: Scope,
    },
    Tag {
        source: String,
    },
    Bulk {
        names: Vec<String>,
        chosen: plan::Chosen,
    },
    Retention,
}

/// Fetches an rmi plan.
pub async fn rmi_plan(name: &str, force: bool) -> Result<PlanDto, ApiError> {
    net::get_json(
        &format!("cannot plan removing {name}"),
        &format!("/api/images/{}/rmi-plan?force={}", enc(name), force as u8),
    )
    .await
}

/// Executes a removal and checks it against its preview; returns the toast text and whether
/// it is a warning.
pub async fn execute_rmi(
    name: &str,
    force: bool,
    preview: &PlanDto,
) -> Result<(String, bool), String> {
    let body = net::send(
        &format!("cannot remove {name}"),
        "DELETE",
        &format!("/api/images/{}?force={}", enc(name), force as u8),
        None,
    )
    .await?;
    let done: PlanDto = decode("removal", &body)?;
    Ok(match plan::compare(preview, &done) {
        None => (plan::done_text(&done), false),
        Some(diff) => (diff, true),
    })
}

/// The preview of a loaded plan when it can be carried out.
pub fn runnable_preview(plan: &Load<PlanDto>) -> Option<PlanDto> {
    match plan {
        Load::Ready(p) if plan::runnable(p) => Some(p.clone()),
        _ => None,
    }
}

/// Carries out a previewed removal, says how it went in a toast and refreshes the lists.
pub async fn remove_and_report(ctx: Ctx, name: String, forced: bool, preview: PlanDto) {
    match execute_rmi(&name, forced, &preview).await {
        Ok((text, warn)) => ctx.toast(text, warn),
        Err(e) => ctx.toast(e, true),
    }
    ctx.refresh_soon();
}

/// `/ui/images`: the pull box, the filters, the images table, the totals and the dialogs.
#[component]
pub fn ImagesPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let query = RwSignal::new(Query::default());
    let selected = RwSignal::new(BTreeSet::<String>::new());
    let dialog = RwSignal::new(None::<Dialog>);
    let operator = RwSignal::new(None::<Operator>);
    let pull_input = RwSignal::new(String::new());

    let rows = Memo::new(move |_| {
        ctx.images.with(|l| match l {
            Load::Ready(list) => query.with(|q| model::table(list, ctx.fetched_at.get(), q)),
            _ => Vec::new(),
        })
    });
    // a refresh drops selected rows that are gone
    Effect::new(move |_| {
        let r = rows.get();
        let kept = selected.with_untracked(|s| model::prune_selection(s, &r));
        if selected.with_untracked(|s| *s != kept) {
            selected.set(kept);
        }
    });
    // for `just bench`: when the first table with rows is painted
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        let ready = matches!(ctx.images.get(), Load::Ready(_));
        if ready {
            // the next frame, then a task: the table is painted by then
            request_animation_frame(move || {
                set_timeout(
                    move || {
                        let t = window().performance().map(|p| p.now()).unwrap_or(0.0);
                        if let Some(root) = document().document_element() {
                            let _ = root.set_attribute("data-table-ready", &format!("{t:.1}"));
                        }
                    },
                    std::time::Duration::ZERO,
                )
            });
        }
        ready
    });

    let open_remove = move |name: String| {
        dialog.set(Some(Dialog::Remove {
            name,
            forced: false,
        }))
    };
    let open_prune = move |scope: Scope| dialog.set(Some(Dialog::Prune { scope }));
    let open_bulk = move |_: ()| {
        let names: Vec<String> = selected.get_untracked().into_iter().collect();
        if !names.is_empty() {
            dialog.set(Some(Dialog::Bulk {
                names,
                chosen: plan::Chosen::Selected,
            }));
        }
    };

    // the page's state, so a refresh that changes the list does not rebuild the table
    let state_kind = Memo::new(move |_| {
        ctx.images.with(|l| match l {
            Load::Loading => 0u8,
            Load::Failed(_) => 1,
            Load::Ready(v) if v.is_empty() => 2,
            Load::Ready(_) => 3,
        })
    });
    let counts = Memo::new(move |_| {
        ctx.images.with(|l| match l {
            Load::Ready(list) => model::status_counts(list),
            _ => [0; 4],
        })
    });

    view! {
        <section aria-labelledby="images-title" class="page">
            <div class="heading">
                <h1 id="images-title">"Images"</h1>
                <div class="actions">
                    <button type="button" data-action="prune" on:click=move |_| open_prune(Scope::Dangling)>"Prune…"</button>
                    <button type="button" data-action="retention" on:click=move |_| dialog.set(Some(Dialog::Retention))>"Retention…"</button>
                    <button type="button" data-action="load" on:click=move |_| operator.set(Some(Operator::Load))>"Load…"</button>
                    <button type="button" data-action="import" on:click=move |_| operator.set(Some(Operator::Import))>"Import…"</button>
                    <button type="button" data-action="search" on:click=move |_| operator.set(Some(Operator::Search))>"Search a registry…"</button>
                    <button type="button" data-action="login" on:click=move |_| operator.set(Some(Operator::Login))>"Log in…"</button>
                </div>
            </div>
            <PullBox input=pull_input/>
            <ImagesToolbar query=query selected=selected counts=counts on_bulk=Callback::new(open_bulk)/>
            {move || match state_kind.get() {
                0 => view! { <Loading what="Loading images…"/> }.into_any(),
                1 => view! {
                    <ErrorBox message=ctx.images.with_untracked(|l| match l { Load::Failed(e) => format!("{e}. Check that `strata serve` is running, then try again."), _ => String::new() })
                        retry=Callback::new(move |_| ctx.refresh())/>
                }.into_any(),
                2 => view! {
                    <div class="empty">
                        <p><strong>"No images yet."</strong></p>
                        <p>"Pull one with the box above, or import a root filesystem from a terminal: "
                            <code>"strata import rootfs.tar myimage:1.0"</code>"."</p>
                        <p>"New images appear here by themselves."</p>
                    </div>
                }.into_any(),
                _ => view! {
                    <ImagesTable rows=rows query=query selected=selected
                        on_remove=Callback::new(open_remove)
                        on_tag=Callback::new(move |source: String| dialog.set(Some(Dialog::Tag { source })))/>
                }.into_any(),
            }}
            <p class="totals" role="status">{move || {
                let r = rows.get();
                ctx.images.with(|l| match l {
                    Load::Ready(list) => {
                        let disk = ctx.disk.with(|d| d.as_ref().map(|d| d.stored_bytes));
                        model::totals(&r, list, None, disk).text()
                    }
                    _ => String::new(),
                })
            }}</p>
            {move || dialog.get().map(|d| view! { <DialogView dialog=d state=dialog open_prune=Callback::new(open_prune)/> })}
            {move || operator.get().map(|o| view! { <OperatorDialog operator=o state=operator pull_input=pull_input/> })}
        </section>
    }
}

/// The filter chips with their counts, the search box and, while rows are selected, what can
/// be done with them.
#[component]
fn ImagesToolbar(
    query: RwSignal<Query>,
    selected: RwSignal<BTreeSet<String>>,
    counts: Memo<[usize; 4]>,
    on_bulk: Callback<()>,
) -> impl IntoView {
    view! {
        <div class="toolbar" role="toolbar" aria-label="Filter images">
            <div class="chips" role="radiogroup" aria-label="Status">
                {Status::ALL.into_iter().enumerate().map(|(i, s)| view! {
                    <button type="button" role="radio" class="chip"
                        aria-checked=move || (query.with(|q| q.status) == s).to_string()
                        on:click=move |_| query.update(|q| q.status = s)>
                        {s.label()}" "<span class="count">{move || counts.get()[i]}</span>
                    </button>
                }).collect_view()}
            </div>
            <label class="search">
                <span class="visually-hidden">"Search images"</span>
                <input type="search" data-search placeholder="Search name, tag, ID or label  ( / )"
                    prop:value=move || query.with(|q| q.search.clone())
                    on:input=move |ev| { let v = event_target_value(&ev); query.update(|q| q.search = v); }/>
            </label>
            <Show when=move || selected.with(|s| !s.is_empty())>
                <div class="bulk" role="group" aria-label="Selected rows">
                    <span>{move || format!("{} selected", selected.with(|s| s.len()))}</span>
                    <button type="button" class="danger" on:click=move |_| on_bulk.run(())>
                        {move || format!("Remove {} selected…", selected.with(|s| s.len()))}
                    </button>
                    <a class="button" data-action="save-selected" download="images.tar"
                        href=move || format!("/images/get?{}", selected.with(|s| s.iter().map(|n| format!("names={}", enc(n))).collect::<Vec<_>>().join("&")))>
                        {move || format!("Save {} selected", selected.with(|s| s.len()))}
                    </a>
                    <button type="button" class="ghost" on:click=move |_| selected.set(BTreeSet::new())>"Clear selection"</button>
                </div>
            </Show>
        </div>
    }
}

/// The operator's dialog open on the Images page: log in, load an archive, import a root
/// filesystem or search a registry (a pick fills the pull box).
#[component]
fn OperatorDialog(
    operator: Operator,
    state: RwSignal<Option<Operator>>,
    pull_input: RwSignal<String>,
) -> impl IntoView {
    let close = Callback::new(move |_| state.set(None));
    match operator {
        Operator::Login => view! { <LoginDialog on_close=close/> }.into_any(),
        Operator::Load => view! { <LoadDialog on_close=close/> }.into_any(),
        Operator::Import => view! { <ImportDialog on_close=close/> }.into_any(),
        Operator::Search => view! {
            <SearchDialog on_close=close on_pick=Callback::new(move |name: String| {
                pull_input.set(name);
                state.set(None);
            })/>
        }
        .into_any(),
    }
}
