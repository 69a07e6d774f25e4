//! The Images page: pull box, status chips, search, the sortable table with multi-select,
//! tag, remove and prune dialogs with exact previews, and the totals line.

use super::net::{self, enc};
use super::registry::{LoadDialog, LoginDialog, SearchDialog};
use super::widgets::{ErrorBox, Loading, Modal, Pager, PlanBody};
use super::{Ctx, Link, Load};
use crate::error::ApiError;
use crate::model::{self, Column, ImageRow, Paging, Query, Status};
use crate::plan::{self, Scope};
use crate::pull::Pull;
use crate::route::Route;
use crate::wire::{decode, BulkPlanDto, ImageSummaryDto, PlanDto};
use leptos::prelude::*;
use std::collections::BTreeSet;

/// The registry and archive dialog open on the page, if any.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Login,
    Search,
    Load,
}

/// The dialog open on the page, if any; each reads its own plan when it opens.
#[derive(Clone, Debug, PartialEq)]
enum Dialog {
    Remove { name: String, forced: bool },
    Prune { scope: Scope },
    Tag { source: String },
    Bulk { names: Vec<String> },
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
    let open_bulk = move |_| {
        let names: Vec<String> = selected.get_untracked().into_iter().collect();
        if !names.is_empty() {
            dialog.set(Some(Dialog::Bulk { names }));
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
                    <button type="button" data-action="load" on:click=move |_| operator.set(Some(Operator::Load))>"Load…"</button>
                    <button type="button" data-action="search" on:click=move |_| operator.set(Some(Operator::Search))>"Search a registry…"</button>
                    <button type="button" data-action="login" on:click=move |_| operator.set(Some(Operator::Login))>"Log in…"</button>
                </div>
            </div>
            <PullBox input=pull_input/>
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
                        <button type="button" class="danger" on:click=open_bulk>
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
                        let disk = ctx.disk.with(|d| d.as_ref().map(|d| d.layers_size));
                        model::totals(&r, list, None, disk).text()
                    }
                    _ => String::new(),
                })
            }}</p>
            {move || dialog.get().map(|d| view! { <DialogView dialog=d state=dialog open_prune=Callback::new(open_prune)/> })}
            {move || operator.get().map(|o| {
                let close = Callback::new(move |_| operator.set(None));
                match o {
                    Operator::Login => view! { <LoginDialog on_close=close/> }.into_any(),
                    Operator::Load => view! { <LoadDialog on_close=close/> }.into_any(),
                    Operator::Search => view! {
                        <SearchDialog on_close=close on_pick=Callback::new(move |name: String| {
                            pull_input.set(name);
                            operator.set(None);
                        })/>
                    }.into_any(),
                }
            })}
        </section>
    }
}

#[component]
fn ImagesTable(
    rows: Memo<Vec<ImageRow>>,
    query: RwSignal<Query>,
    selected: RwSignal<BTreeSet<String>>,
    on_remove: Callback<String>,
    on_tag: Callback<String>,
) -> impl IntoView {
    let header = move |c: Column| {
        view! {
            <th scope="col" class:num=c.numeric() aria-sort=move || query.with(|q| q.aria_sort(c))
                title=match c { Column::Shared => Some(plan::SHARED_HELP), Column::Unique => Some(plan::UNIQUE_HELP), _ => None }>
                <button type="button" class="sort" on:click=move |_| query.update(|q| q.click(c))>
                    {c.header()}
                    <span class="arrow" aria-hidden="true">{move || match query.with(|q| q.aria_sort(c)) {
                        "ascending" => "▲", "descending" => "▼", _ => "",
                    }}</span>
                </button>
            </th>
        }
    };
    // one page at a time (sorting, filtering and the totals cover every row); a new search,
    // filter or sort starts again at the first page
    let paging = RwSignal::new(Paging::default());
    Effect::new(move |first: Option<()>| {
        query.track();
        if first.is_some() {
            paging.update(|p| p.page = 0);
        }
    });
    let page = Memo::new(move |_| model::page(rows.with(|r| r.len()), paging.get()));
    let shown = Memo::new(move |_| {
        let pg = page.get();
        rows.with(|r| r[pg.start..pg.end].to_vec())
    });
    let all_state = move || shown.with(|r| selected.with(|s| model::select_all_state(s, r)));
    view! {
        <div class="table-wrap">
        <table class="images" data-rows=move || rows.with(|r| r.len())>
            <caption class="visually-hidden">"Local images, one row per tag; click a column header to sort"</caption>
            <thead>
                <tr>
                    <th scope="col" class="check">
                        <input type="checkbox" aria-label="Select all rows on this page"
                            prop:checked=move || all_state().0
                            prop:indeterminate=move || all_state().1
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                let keys: Vec<String> = shown.with_untracked(|r| r.iter().map(|x| x.key.clone()).collect());
                                selected.update(|s| for k in keys { if on { s.insert(k); } else { s.remove(&k); } });
                            }/>
                    </th>
                    {Column::ALL.into_iter().map(header).collect_view()}
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                <Show when=move || rows.with(|r| r.is_empty())>
                    <tr><td colspan="10" class="empty-row">
                        {move || {
                            let q = query.get();
                            format!("No image matches{}{}. Clear the search or choose All.",
                                if q.search.trim().is_empty() { String::new() } else { format!(" “{}”", q.search.trim()) },
                                if q.status == Status::All { String::new() } else { format!(" with the {} filter", q.status.label()) })
                        }}
                    </td></tr>
                </Show>
                <For each=move || shown.get() key=|r| r.clone() let:row>
                    {row_view(row, selected, on_tag, on_remove)}
                </For>
            </tbody>
        </table>
        </div>
        <Pager page=page paging=paging total=Signal::derive(move || rows.with(|r| r.len()))/>
    }
}

/// One row of the images table.
fn row_view(
    row: ImageRow,
    selected: RwSignal<BTreeSet<String>>,
    on_tag: Callback<String>,
    on_remove: Callback<String>,
) -> impl IntoView {
    let key = row.key.clone();
    let key2 = key.clone();
    let key3 = key.clone();
    let key4 = key.clone();
    let key_attr = key.clone();
    let href = Route::Image(row.id.clone()).href();
    let label = format!("{}:{}", row.repository, row.tag);
    view! {
        <tr class:dangling=row.dangling class:in-use=(row.containers > 0) data-key=key_attr>
            <td class="check">
                <input type="checkbox" aria-label=format!("Select {label}")
                    prop:checked=move || selected.with(|s| s.contains(&key))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        let k = key2.clone();
                        selected.update(|s| if on { s.insert(k); } else { s.remove(&k); });
                    }/>
            </td>
            <td><Link href=href.clone()>{row.repository.clone()}</Link></td>
            <td>{if row.dangling { view! { <span class="none">"<none>"</span> }.into_any() } else { view! { <span class="pill">{row.tag.clone()}</span> }.into_any() }}</td>
            <td><code title=row.id.clone()>{row.short_id.clone()}</code></td>
            <td title=row.created_at.to_string()>{row.created.clone()}</td>
            <td class="num">{row.size.clone()}</td>
            <td class="num">{row.shared.clone()}</td>
            <td class="num">{row.unique.clone()}</td>
            <td class="num">
                {if row.containers > 0 {
                    view! { <span class="badge used" title="used by containers">{row.containers}" in use"</span> }.into_any()
                } else {
                    view! { <span class="muted">"0"</span> }.into_any()
                }}
            </td>
            <td class="row-actions"><div>
                <button type="button" class="small" aria-label=format!("Tag {label}")
                    on:click=move |_| on_tag.run(key3.clone())>"Tag"</button>
                <button type="button" class="small danger" aria-label=format!("Remove {label}")
                    on:click=move |_| on_remove.run(key4.clone())>
                    {if row.dangling { "Remove" } else { "Untag / remove" }}
                </button>
            </div></td>
        </tr>
    }
}

/// The pull box: `name[:tag]`, Enter submits, one progress bar per layer below.
#[component]
fn PullBox(
    /// The reference typed (a search result can fill it in).
    input: RwSignal<String>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let state = RwSignal::new(None::<Pull>);
    let error = RwSignal::new(None::<String>);
    // the pull streams its progress into `state` while it runs
    let pull = Action::new_local(move |(image, tag): &(String, String)| {
        let (image, tag) = (image.clone(), tag.clone());
        async move {
            let url = format!("/images/create?fromImage={}&tag={}", enc(&image), enc(&tag));
            let res = net::post_stream(&format!("cannot pull {image}:{tag}"), &url, |chunk| {
                state.update(|p| {
                    if let Some(p) = p {
                        p.feed(chunk)
                    }
                })
            })
            .await;
            state.update(|p| {
                if let Some(p) = p {
                    p.finish()
                }
            });
            match res {
                Err(e) => {
                    state.set(None);
                    error.set(Some(e.to_string()));
                }
                Ok(()) => {
                    let ok = state.with_untracked(|p| p.as_ref().is_some_and(Pull::succeeded));
                    match state.with_untracked(|p| p.as_ref().and_then(|p| p.error.clone())) {
                        Some(e) => error.set(Some(e)),
                        None if ok => ctx.toast(format!("Pulled {image}:{tag}"), false),
                        None => {}
                    }
                    ctx.refresh_soon();
                }
            }
        }
    });
    let busy = pull.pending();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        match model::pull_params(&input.get_untracked()) {
            Ok(p) => {
                error.set(None);
                state.set(Some(Pull::new()));
                pull.dispatch(p);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    view! {
        <form class="pull" on:submit=submit aria-label="Pull an image">
            <label for="pull-ref">"Pull"</label>
            <input id="pull-ref" type="text" autocomplete="off" spellcheck="false"
                placeholder="busybox, or localhost:5000/team/app:1.0"
                aria-describedby="pull-help"
                prop:value=move || input.get()
                on:input=move |ev| input.set(event_target_value(&ev))/>
            <button type="submit" disabled=move || busy.get()>{move || if busy.get() { "Pulling…" } else { "Pull" }}</button>
            <span id="pull-help" class="help">"Enter pulls. The tag defaults to latest."</span>
        </form>
        {move || error.get().map(|e| view! { <ErrorBox message=e/> })}
        {move || state.get().map(|p| {
            let summary = p.summary();
            view! {
                <div class="pull-progress" aria-live="polite">
                    <p class="status">{summary}</p>
                    <ul class="layers-progress">
                        {p.layers.iter().map(|l| {
                            let pct = l.percent();
                            view! {
                                <li data-layer-id=l.id.clone()>
                                    <code>{l.id.clone()}</code>
                                    <progress max="100" value=pct aria-label=format!("layer {}", l.id)>{format!("{pct}%")}</progress>
                                    <span class="layer-status">{l.status.clone()}</span>
                                    <span class="num">{l.bytes_text()}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                    <ul class="pull-lines">{p.lines.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}</ul>
                </div>
            }
        })}
    }
}

/// Reads a plan into a [`Load`] for a dialog.
fn loaded<T: Clone + 'static>(r: LocalResource<Result<T, ApiError>>) -> Load<T> {
    match r.get() {
        None => Load::Loading,
        Some(Ok(v)) => Load::Ready(v),
        Some(Err(e)) => Load::Failed(e),
    }
}

#[component]
fn DialogView(
    dialog: Dialog,
    state: RwSignal<Option<Dialog>>,
    open_prune: Callback<Scope>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let close = Callback::new(move |_| state.set(None));
    let images: Vec<ImageSummaryDto> = ctx.images.with_untracked(|l| match l {
        Load::Ready(v) => v.clone(),
        _ => Vec::new(),
    });
    match dialog {
        Dialog::Remove { name, forced } => {
            let title = format!("Remove {}", plan::shown_name(&name, &images));
            let plan_name = name.clone();
            let planned = LocalResource::new(move || {
                let name = plan_name.clone();
                async move { rmi_plan(&name, forced).await }
            });
            let plan = move || loaded(planned);
            let body_name = name.clone();
            let body = move || match plan() {
                Load::Loading => {
                    view! { <Loading what="Working out what would be removed…"/> }.into_any()
                }
                Load::Failed(e) => view! { <ErrorBox message=e/> }.into_any(),
                Load::Ready(p) => {
                    view! { <PlanBody text=plan::rmi_text(&body_name, &p, &images, forced)/> }
                        .into_any()
                }
            };
            let blocked = move || matches!(plan(), Load::Ready(p) if p.conflict.is_some());
            let remove = Action::new_local(move |(name, preview): &(String, PlanDto)| {
                let (name, preview) = (name.clone(), preview.clone());
                async move {
                    remove_and_report(ctx, name, forced, preview).await;
                    state.set(None);
                }
            });
            let n1 = name.clone();
            let run = move |_| {
                if let Some(preview) = runnable_preview(&plan()) {
                    remove.dispatch((n1.clone(), preview));
                }
            };
            let force_preview = move |_| {
                state.set(Some(Dialog::Remove {
                    name: name.clone(),
                    forced: true,
                }))
            };
            view! {
                <Modal title=title on_close=close>
                    <div class="dialog-body" data-dialog="remove">{body}</div>
                    <div class="dialog-actions">
                        <button type="button" on:click=move |_| close.run(()) autofocus>"Cancel"</button>
                        <Show when=move || blocked() && !forced>
                            <button type="button" class="warn" on:click=force_preview.clone()
                                title="Force untags across repositories and deletes images stopped containers use">
                                "Preview with force…"
                            </button>
                        </Show>
                        <button type="button" class="danger" disabled=move || runnable_preview(&plan()).is_none() || remove.pending().get() on:click=run>
                            {if forced { "Force remove" } else { "Remove" }}
                        </button>
                    </div>
                </Modal>
            }.into_any()
        }
        Dialog::Prune { scope } => {
            let planned = LocalResource::new(move || async move {
                net::get_json::<PlanDto>(
                    "cannot plan the prune",
                    &format!("/api/prune-plan?all={}", scope.all() as u8),
                )
                .await
            });
            let plan = move || loaded(planned);
            let body = move || match plan() {
                Load::Loading => {
                    view! { <Loading what="Working out what would be pruned…"/> }.into_any()
                }
                Load::Failed(e) => view! { <ErrorBox message=e/> }.into_any(),
                Load::Ready(p) => {
                    view! { <PlanBody text=plan::prune_text(scope, &p, &images)/> }.into_any()
                }
            };
            let ready = move || match plan() {
                Load::Ready(p) if !(p.untag.is_empty() && p.delete_images.is_empty()) => Some(p),
                _ => None,
            };
            let prune = Action::new_local(move |preview: &PlanDto| {
                let preview = preview.clone();
                async move {
                    let res = net::send(
                        "cannot prune",
                        "POST",
                        &format!("/api/prune?all={}", scope.all() as u8),
                        None,
                    )
                    .await;
                    match res.and_then(|b| decode::<PlanDto>("prune", &b)) {
                        Ok(done) => match plan::compare(&preview, &done) {
                            None => ctx.toast(plan::done_text(&done), false),
                            Some(diff) => ctx.toast(diff, true),
                        },
                        Err(e) => ctx.toast(e, true),
                    }
                    state.set(None);
                    ctx.refresh_soon();
                }
            });
            let run = move |_| {
                if let Some(preview) = ready() {
                    prune.dispatch(preview);
                }
            };
            view! {
                <Modal title="Prune images" on_close=close>
                    <fieldset class="scopes">
                        <legend>"What to prune"</legend>
                        {[Scope::Dangling, Scope::AllUnused].into_iter().map(|s| view! {
                            <label>
                                <input type="radio" name="prune-scope" checked=s == scope
                                    on:change=move |_| open_prune.run(s)/>
                                {s.label()}
                            </label>
                        }).collect_view()}
                    </fieldset>
                    <div class="dialog-body" data-dialog="prune">{body}</div>
                    <div class="dialog-actions">
                        <button type="button" on:click=move |_| close.run(()) autofocus>"Cancel"</button>
                        <button type="button" class="danger" disabled=move || ready().is_none() || prune.pending().get() on:click=run>{scope.button()}</button>
                    </div>
                </Modal>
            }.into_any()
        }
        Dialog::Tag { source } => view! { <TagDialog source=source on_close=close/> }.into_any(),
        Dialog::Bulk { names } => {
            let count = names.len();
            let planned = LocalResource::new(move || {
                let query: Vec<String> = names.iter().map(|n| format!("name={}", enc(n))).collect();
                async move {
                    net::get_json::<BulkPlanDto>(
                        "cannot plan removing the selected rows",
                        &format!("/api/rmi-plan?{}", query.join("&")),
                    )
                    .await
                }
            });
            let plan = move || loaded(planned);
            let remove = Action::new_local(move |plan: &BulkPlanDto| {
                let plan = plan.clone();
                async move {
                    let mut warnings = Vec::new();
                    let mut done = 0;
                    // in the planned order: each preview assumes the ones before it went
                    for item in plan.items.iter().filter(|i| i.plan.conflict.is_none()) {
                        match execute_rmi(&item.name, false, &item.plan).await {
                            Ok((_, false)) => done += 1,
                            Ok((text, true)) => {
                                done += 1;
                                warnings.push(format!("{}: {text}", item.name))
                            }
                            Err(e) => warnings.push(e),
                        }
                    }
                    ctx.toast(
                        format!("Removed {done} of {} selected.", plan.items.len()),
                        false,
                    );
                    for w in warnings {
                        ctx.toast(w, true);
                    }
                    state.set(None);
                    ctx.refresh_soon();
                }
            });
            let can_run = move || matches!(plan(), Load::Ready(p) if plan::runnable(&p.total));
            let run = move |_| {
                if let Load::Ready(p) = plan() {
                    remove.dispatch(p);
                }
            };
            view! {
                <Modal title="Remove the selected rows" on_close=close>
                    <div class="dialog-body" data-dialog="bulk">
                        {move || match plan() {
                            Load::Loading => view! { <Loading what=format!("Working out what removing {count} rows would do…")/> }.into_any(),
                            Load::Failed(e) => view! { <ErrorBox message=e/> }.into_any(),
                            Load::Ready(p) => view! {
                                <p class="plan-headline" data-bytes-freed=p.total.bytes_freed.to_string()>{plan::bulk_headline(&p)}</p>
                                <p class="help">"The rows go in this order. Each row's part counts what the rows above it already removed, so a layer several selected images share is counted once: it is freed with the last of them."</p>
                                {p.items.iter().zip(plan::bulk_rows(&p, &images)).map(|(item, (shown, bytes))| { let open = item.plan.conflict.is_some(); let item = item.clone(); view! {
                                    <details open=open>
                                        <summary><code>{shown}</code>{(bytes > 0).then(|| format!(" — frees {}", docker_format::human_size(bytes)))}</summary>
                                        <PlanBody text=plan::rmi_text(&item.name, &item.plan, &images, false)/>
                                    </details>
                                }}).collect_view()}
                            }.into_any(),
                        }}
                    </div>
                    <div class="dialog-actions">
                        <button type="button" on:click=move |_| close.run(()) autofocus>"Cancel"</button>
                        <button type="button" class="danger" disabled=move || !can_run() || remove.pending().get() on:click=run>"Remove"</button>
                    </div>
                </Modal>
            }.into_any()
        }
    }
}

/// Tag an image: `repo[:tag]` (`:latest` when no tag).
#[component]
pub fn TagDialog(source: String, on_close: Callback<()>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let target = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let src = source.clone();
    let tag = Action::new_local(move |t: &String| {
        let (src, t) = (src.clone(), t.clone());
        async move {
            let res = net::send(
                &format!("cannot tag {src} as {t}"),
                "POST",
                &format!("/api/images/{}/tag", enc(&src)),
                net::body(&crate::wire::TagRequest { target: t.clone() }),
            )
            .await;
            match res {
                Ok(body) => {
                    let moved = serde_json::from_str::<serde_json::Value>(&body)
                        .ok()
                        .and_then(|v| {
                            v.get("previous")
                                .and_then(|p| p.as_str().map(str::to_string))
                        });
                    let text = match moved {
                        Some(prev) => format!(
                            "Tagged {src} as {t}; the tag moved from {}, which may now be dangling.",
                            docker_format::truncate_id(&prev)
                        ),
                        None => format!("Tagged {src} as {t}."),
                    };
                    ctx.toast(text, false);
                    on_close.run(());
                    ctx.refresh_soon();
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match model::check_tag_target(&target.get_untracked()) {
            Ok(t) => {
                tag.dispatch(t);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    view! {
        <Modal title=format!("Tag {source}") on_close=on_close>
            <form class="tag-form" on:submit=submit>
                <label for="tag-target">"New name"</label>
                <input id="tag-target" type="text" autofocus autocomplete="off" spellcheck="false"
                    placeholder="myapp:1.0 (tag defaults to latest)"
                    prop:value=move || target.get()
                    on:input=move |ev| target.set(event_target_value(&ev))/>
                <p class="help">"A tag is only a name: the image and its layers are not copied."</p>
                {move || error.get().map(|e| view! { <ErrorBox message=e/> })}
                <div class="dialog-actions">
                    <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button type="submit" class="primary" disabled=move || tag.pending().get()>"Tag"</button>
                </div>
            </form>
        </Modal>
    }
}
