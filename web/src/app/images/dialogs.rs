//! The Images page's dialogs: remove one image, prune, remove the selected rows and tag,
//! each with the exact preview it reads when it opens.

use super::super::net::{self, enc};
use super::super::widgets::{ErrorBox, Loading, Modal, PlanBody};
use super::super::{Ctx, Load};
use super::{execute_rmi, remove_and_report, rmi_plan, runnable_preview, Dialog};
use crate::error::ApiError;
use crate::model;
use crate::plan::{self, Scope};
use crate::retention;
use crate::wire::{decode, BulkPlanDto, ImageSummaryDto, PlanDto};
use leptos::prelude::*;

/// Reads a plan into a [`Load`] for a dialog.
fn loaded<T: Clone + 'static>(r: LocalResource<Result<T, ApiError>>) -> Load<T> {
    match r.get() {
        None => Load::Loading,
        Some(Ok(v)) => Load::Ready(v),
        Some(Err(e)) => Load::Failed(e),
    }
}

/// The dialog open on the Images page: the one its [`Dialog`] names.
#[component]
pub(super) fn DialogView(
    dialog: Dialog,
    state: RwSignal<Option<Dialog>>,
    open_prune: Callback<Scope>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let close = Callback::new(move |_| state.set(None));
    let images = ctx.image_list();
    match dialog {
        Dialog::Remove { name, forced } => {
            let again = name.clone();
            let on_force = Callback::new(move |_| {
                state.set(Some(Dialog::Remove {
                    name: again.clone(),
                    forced: true,
                }))
            });
            view! {
                <RemoveDialog name=name forced=forced images=images on_force=on_force on_close=close/>
            }
            .into_any()
        }
        Dialog::Prune { scope } => view! {
            <PruneDialog scope=scope images=images state=state close=close open_prune=open_prune/>
        }
        .into_any(),
        Dialog::Tag { source } => view! { <TagDialog source=source on_close=close/> }.into_any(),
        Dialog::Bulk { names, chosen } => view! {
            <BulkDialog names=names chosen=chosen images=images state=state close=close/>
        }
        .into_any(),
        Dialog::Retention => {
            view! { <RetentionDialog images=images state=state close=close/> }.into_any()
        }
    }
}

/// A retention rule (keep the newest N of each repository, let go of what is D days old,
/// untagged images too), what it matches as the rule is edited, and the review of that
/// removal: the bulk removal's dialog, with its plan of what goes, what it frees and what
/// blocks it.
#[component]
fn RetentionDialog(
    images: Vec<ImageSummaryDto>,
    state: RwSignal<Option<Dialog>>,
    close: Callback<()>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let rule = RwSignal::new(retention::Rule::default());
    let now = ctx.fetched_at.get_untracked();
    let named = images.clone();
    let chosen = Memo::new(move |_| retention::choose(&images, &rule.get(), now));
    let number = |ev: &leptos::ev::Event| event_target_value(ev).trim().parse::<u64>().ok();
    let review = move |_| {
        let names: Vec<String> = chosen.with(|c| c.iter().map(|c| c.name.clone()).collect());
        if !names.is_empty() {
            state.set(Some(Dialog::Bulk {
                names,
                chosen: plan::Chosen::ByRule,
            }));
        }
    };
    view! {
        <Modal title="Retention" on_close=close>
            <div class="dialog-body" data-dialog="retention">
                <p class="help">"Keep the newest images of each repository and let older ones go. Nothing is removed here: the next step shows exactly what goes, what it frees and what blocks it, before you confirm. An image a container uses is never chosen."</p>
                <div class="retention-rule">
                    <label>"Keep the newest "
                        <input type="number" min="0" step="1" data-rule="keep" prop:value=move || rule.with(|r| r.keep.to_string())
                            on:input=move |ev| if let Some(n) = number(&ev) { rule.update(|r| r.keep = n as usize) }/>
                        " of each repository"</label>
                    <label>"Let go of images created "
                        <input type="number" min="0" step="1" data-rule="days" prop:value=move || rule.with(|r| r.older_than_days.to_string())
                            on:input=move |ev| if let Some(n) = number(&ev) { rule.update(|r| r.older_than_days = n) }/>
                        " days ago or more"</label>
                    <label><input type="checkbox" data-rule="untagged" prop:checked=move || rule.with(|r| r.untagged)
                        on:change=move |ev| { let on = event_target_checked(&ev); rule.update(|r| r.untagged = on) }/>
                        " Untagged images too"</label>
                </div>
                <p class="plan-headline" id="retention-headline" role="status">{move || chosen.with(|c| retention::headline(c))}</p>
                <ul class="retention-chosen">
                    {move || chosen.get().into_iter().map(|c| {
                        let shown = plan::shown_name(&c.name, &named);
                        view! { <li data-name=c.name.clone()><code>{shown}</code>" — "{c.why}</li> }
                    }).collect_view()}
                </ul>
            </div>
            <div class="dialog-actions">
                <button type="button" on:click=move |_| close.run(()) autofocus>"Cancel"</button>
                <button type="button" class="danger" data-action="review" disabled=move || chosen.with(|c| c.is_empty()) on:click=review>"Review the removal…"</button>
            </div>
        </Modal>
    }
}

/// Removing one image or tag (from the Images page or the image's own page): the rmi plan,
/// read when the dialog opens, and the removal it previews; `on_force` asks for the forced
/// preview when the plan is blocked, `on_close` closes the dialog (also once the removal ran).
#[component]
pub fn RemoveDialog(
    name: String,
    forced: bool,
    images: Vec<ImageSummaryDto>,
    on_force: Callback<()>,
    on_close: Callback<()>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let title = format!("Remove {}", plan::shown_name(&name, &images));
    let plan_name = name.clone();
    let planned = LocalResource::new(move || {
        let name = plan_name.clone();
        async move { rmi_plan(&name, forced).await }
    });
    let plan = move || loaded(planned);
    let body_name = name.clone();
    let body = move || match plan() {
        Load::Loading => view! { <Loading what="Working out what would be removed…"/> }.into_any(),
        Load::Failed(e) => view! { <ErrorBox message=e/> }.into_any(),
        Load::Ready(p) => {
            view! { <PlanBody text=plan::rmi_text(&body_name, &p, &images, forced)/> }.into_any()
        }
    };
    let blocked = move || matches!(plan(), Load::Ready(p) if p.conflict.is_some());
    let remove = Action::new_local(move |(name, preview): &(String, PlanDto)| {
        let (name, preview) = (name.clone(), preview.clone());
        async move {
            remove_and_report(ctx, name, forced, preview).await;
            on_close.run(());
        }
    });
    let run = move |_| {
        if let Some(preview) = runnable_preview(&plan()) {
            remove.dispatch((name.clone(), preview));
        }
    };
    view! {
        <Modal title=title on_close=on_close>
            <div class="dialog-body" data-dialog="remove">{body}</div>
            <div class="dialog-actions">
                <button type="button" on:click=move |_| on_close.run(()) autofocus>"Cancel"</button>
                <Show when=move || blocked() && !forced>
                    <button type="button" class="warn" on:click=move |_| on_force.run(())
                        title="Force untags across repositories and deletes images stopped containers use">
                        "Preview with force…"
                    </button>
                </Show>
                <button type="button" class="danger" disabled=move || runnable_preview(&plan()).is_none() || remove.pending().get() on:click=run>
                    {if forced { "Force remove" } else { "Remove" }}
                </button>
            </div>
        </Modal>
    }
}

/// Pruning: the scope (dangling or all unused), the prune plan for it and the prune it previews.
#[component]
fn PruneDialog(
    scope: Scope,
    images: Vec<ImageSummaryDto>,
    state: RwSignal<Option<Dialog>>,
    close: Callback<()>,
    open_prune: Callback<Scope>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let planned = LocalResource::new(move || async move {
        net::get_json::<PlanDto>(
            "cannot plan the prune",
            &format!("/api/prune-plan?all={}", scope.all() as u8),
        )
        .await
    });
    let plan = move || loaded(planned);
    let body = move || match plan() {
        Load::Loading => view! { <Loading what="Working out what would be pruned…"/> }.into_any(),
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
    }
}

/// Removing the selected rows: one plan for all of them in order, each row's part, and the
/// removals it previews.
#[component]
fn BulkDialog(
    names: Vec<String>,
    chosen: plan::Chosen,
    images: Vec<ImageSummaryDto>,
    state: RwSignal<Option<Dialog>>,
    close: Callback<()>,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
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
                format!("Removed {done} of {}.", chosen.names_text(plan.items.len())),
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
        <Modal title=chosen.title() on_close=close>
            <div class="dialog-body" data-dialog="bulk">
                {move || match plan() {
                    Load::Loading => view! { <Loading what=format!("Working out what removing {count} rows would do…")/> }.into_any(),
                    Load::Failed(e) => view! { <ErrorBox message=e/> }.into_any(),
                    Load::Ready(p) => view! {
                        <p class="plan-headline" data-bytes-freed=p.total.bytes_freed.to_string()>{plan::bulk_headline(&p, chosen)}</p>
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
