//! Pieces several pages use: the modal dialog, loading and error states, the layer stack
//! diagram and the plan lists of the remove and prune dialogs.

use super::Link;
use crate::model::{Page, Paging, PAGE_SIZES};
use crate::plan::PlanText;
use crate::stack::{Item, Stack, Step, Upper};
use leptos::prelude::*;
use std::collections::BTreeSet;

/// A modal dialog (the browser's `<dialog>`: focus stays inside, Esc closes it); when it
/// goes, the focus returns to what had it before (the button that opened it).
#[component]
pub fn Modal(
    /// The heading.
    #[prop(into)]
    title: String,
    /// Called when the dialog is dismissed (Esc, the close button).
    #[prop(into)]
    on_close: Callback<()>,
    children: Children,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Dialog>::new();
    let opener = StoredValue::new_local(
        document()
            .active_element()
            .and_then(|e| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(e).ok()),
    );
    node.on_load(|el| {
        let _ = el.show_modal();
    });
    on_cleanup(move || {
        if let Some(Some(el)) = opener.try_get_value() {
            // after the dialog's own removal, so the browser does not move the focus again
            request_animation_frame(move || {
                if el.is_connected() {
                    let _ = el.focus();
                }
            });
        }
    });
    let id = format!("dlg-{}", (js_sys::Math::random() * 1e9) as u64);
    let labelled = id.clone();
    view! {
        <dialog node_ref=node class="modal" aria-labelledby=labelled
            on:cancel=move |ev: web_sys::Event| { ev.prevent_default(); on_close.run(()); }>
            <div class="modal-head">
                <h2 id=id>{title}</h2>
                <button type="button" class="ghost" aria-label="Close" on:click=move |_| on_close.run(())>"✕"</button>
            </div>
            {children()}
        </dialog>
    }
}

/// The loading line.
#[component]
pub fn Loading(#[prop(into)] what: String) -> impl IntoView {
    view! { <p class="status loading" role="status"><span class="spinner" aria-hidden="true"></span>{what}</p> }
}

/// An error with what to do about it.
#[component]
pub fn ErrorBox(
    #[prop(into)] message: String,
    /// Retry button.
    #[prop(optional, into)]
    retry: Option<Callback<()>>,
) -> impl IntoView {
    view! {
        <div class="error" role="alert">
            <p>{message}</p>
            {retry.map(|r| view! { <button type="button" on:click=move |_| r.run(())>"Try again"</button> })}
        </div>
    }
}

fn steps_view(steps: Vec<Step>) -> impl IntoView {
    steps
        .into_iter()
        .map(|s| {
            view! {
                <li class="step-empty" title="a build step that changed only metadata: it made no layer">
                    <span class="tag-nolayer">"no layer"</span>
                    <code>{s.command}</code>
                </li>
            }
        })
        .collect_view()
}

/// The layer stack diagram, drawn top (container) to bottom (host kernel). `fresh` paths of
/// the writable layer flash (they appeared since the last refresh).
#[component]
pub fn StackDiagram(
    stack: Stack,
    #[prop(optional)] fresh: BTreeSet<String>,
    /// Where a layer's "files" link goes (the union explorer), if anywhere.
    #[prop(optional, into)]
    files_href: Option<String>,
    /// A layer (0-based) to mark as new: the one a commit just made.
    #[prop(default = None)]
    highlight: Option<usize>,
) -> impl IntoView {
    let items: Vec<Item> = stack.items.iter().rev().cloned().collect();
    let top_layer = stack
        .items
        .iter()
        .filter(|i| matches!(i, Item::Layer(_)))
        .count();
    let warning = stack.warning.clone();
    let total = docker_format::human_size(stack.image_bytes);
    view! {
        <figure class="stack" aria-label="Layer stack, top to bottom">
            <ol class="stack-list">
                {items.into_iter().map(|item| match item {
                    Item::Writable(w) => {
                        let n = w.changes.len();
                        view! {
                            <li class="stack-box writable" data-layer="writable">
                                <div class="box-head">
                                    <strong>{format!("Container layer (writable): {}", w.name)}</strong>
                                    <span class="num">{w.size_text}</span>
                                </div>
                                <p class="box-note">
                                    {if n == 0 {
                                        "Empty: every write, delete or new file of the container lands here; the image layers below never change.".to_string()
                                    } else {
                                        format!("{n} change{} so far; the image layers below are untouched.", if n == 1 { "" } else { "s" })
                                    }}
                                </p>
                                <ul class="upper">
                                    {w.changes.into_iter().map(|c| {
                                        let class = match &c {
                                            Upper::Added { .. } => "chg-a",
                                            Upper::CopiedUp { .. } => "chg-m",
                                            Upper::Opaque { .. } => "chg-o",
                                            Upper::WhitedOut { .. } => "chg-r",
                                        };
                                        let is_fresh = fresh.contains(c.path());
                                        view! {
                                            <li class=class class:fresh=is_fresh data-path=c.path().to_string()>
                                                <span class="letter" aria-hidden="true">{c.letter().to_string()}</span>
                                                {c.text()}
                                            </li>
                                        }
                                    }).collect_view()}
                                </ul>
                            </li>
                        }.into_any()
                    }
                    Item::Metadata(steps) => view! {
                        <li class="stack-meta"><ul>{steps_view(steps)}</ul></li>
                    }.into_any(),
                    Item::Layer(l) => {
                        let base = l.index == 0;
                        let title = match (base, l.name.is_empty()) {
                            (true, true) => "Layer 1 · base rootfs".to_string(),
                            (true, false) => format!("Layer 1 · base rootfs · {}", l.name),
                            (false, true) => format!("Layer {}", l.index + 1),
                            (false, false) => format!("Layer {} · {}", l.index + 1, l.name),
                        };
                        // the layer opens the explorer on itself
                        let open = files_href.clone().map(|h| (format!("{h}?layer={}", l.index + 1), format!("Open layer {} in the explorer", l.index + 1)));
                        let users = l.users.clone();
                        let cmd = l.step.as_ref().map(|s| {
                            if s.command.trim().is_empty() {
                                if s.comment.is_empty() { "(no command recorded)".to_string() } else { s.comment.clone() }
                            } else {
                                s.command.clone()
                            }
                        });
                        let empties = l.empty_before.clone();
                        let shared = l.refcount > 1;
                        view! {
                            <li class=format!("stack-box image-layer c{}", l.index % 8) class:highlight=highlight == Some(l.index) data-layer=l.index.to_string()>
                                <div class="box-head">
                                    <strong class="layer-title">{title}</strong>
                                    <code class="digest" title=l.diff_id.clone()>{l.short_id.clone()}</code>
                                    <span class="num">{l.size_text.clone()}</span>
                                    <span class="refcount" class:shared=shared>{l.refcount_text.clone()}</span>
                                </div>
                                {(!users.is_empty()).then(|| view! {
                                    <p class="box-users">"Also in: "
                                        {users.into_iter().map(|u| view! { <Link href=crate::route::Route::Image(u.id.clone()).href() class="user">{u.name}</Link>" " }).collect_view()}
                                    </p>
                                })}
                                {open.map(|(h, label)| view! { <Link href=h class="open-layer" label=label>"Files of this layer"</Link> })}
                                <p class="box-note">
                                    {match cmd {
                                        Some(c) => view! { <code class="cmd">{c}</code> }.into_any(),
                                        None => view! { <span class="muted">"no history entry for this layer"</span> }.into_any(),
                                    }}
                                </p>
                            </li>
                            {(!empties.is_empty()).then(|| view! { <li class="stack-meta"><ul>{steps_view(empties)}</ul></li> })}
                        }.into_any()
                    }
                    Item::Kernel => view! {
                        <li class="stack-box kernel" data-layer="kernel">
                            <div class="box-head"><strong>"Host kernel (bootfs)"</strong></div>
                            <p class="box-note">
                                "The host's own kernel, shared by every container on this machine. It is not in the image: the image brings only its root filesystem (the layers above)."
                            </p>
                        </li>
                    }.into_any(),
                }).collect_view()}
            </ol>
            <figcaption>
                {format!("{top_layer} image layer{} totalling {total}, read-only and shared by reference.", if top_layer == 1 { "" } else { "s" })}
                {files_href.map(|h| view! { " " <Link href=h>"Explore the merged files"</Link> })}
                {warning.map(|w| view! { <span class="warn">{format!(" ({w})")}</span> })}
            </figcaption>
        </figure>
    }
}

/// The body of a remove or prune dialog: what goes, what is freed, what blocks it.
#[component]
pub fn PlanBody(text: PlanText) -> impl IntoView {
    let PlanText {
        headline,
        untag,
        delete_images,
        delete_layers,
        freed,
        bytes,
        blocked,
        nothing,
    } = text;
    let freed_line = (!nothing).then(|| {
        view! { <p class="freed">"Frees "<strong data-bytes-freed=bytes.to_string() title=format!("{bytes} bytes")>{freed.clone()}</strong>" on disk."</p> }
    });
    view! {
        <p class="plan-headline">{headline}</p>
        {blocked.map(|b| view! {
            <div class="blocked" role="alert"><strong>"Blocked: "</strong>{b}</div>
        })}
        {(!untag.is_empty()).then(|| view! {
            <h3>"Untagged"</h3>
            <ul class="plan-list">{untag.into_iter().map(|u| view! { <li><code>{u}</code></li> }).collect_view()}</ul>
        })}
        {(!delete_images.is_empty()).then(|| view! {
            <h3>"Images deleted"</h3>
            <ul class="plan-list">{delete_images.into_iter().map(|d| view! {
                <li><code>{d.short_id}</code>" "{d.names}</li>
            }).collect_view()}</ul>
        })}
        {(!delete_layers.is_empty()).then(|| view! {
            <h3>"Layers deleted (no other image uses them)"</h3>
            <ul class="plan-list">{delete_layers.into_iter().map(|d| view! { <li><code>{d}</code></li> }).collect_view()}</ul>
        })}
        {freed_line}
    }
}

/// Page controls under the table: rows per page, previous and next, `1–100 of 1,000 rows`.
#[component]
pub fn Pager(page: Memo<Page>, paging: RwSignal<Paging>, total: Signal<usize>) -> impl IntoView {
    let go = move |delta: isize| {
        paging.update(|p| {
            let pg = page.get_untracked();
            p.page = (pg.page as isize + delta).clamp(0, pg.pages as isize - 1) as usize;
        })
    };
    view! {
        <nav class="pager" aria-label="Table pages">
            <label>
                "Rows per page "
                <select data-page-size on:change=move |ev| {
                    let v = event_target_value(&ev);
                    paging.set(Paging { size: v.parse().ok(), page: 0 });
                }>
                    {PAGE_SIZES.into_iter().map(|size| {
                        let value = size.map(|n| n.to_string()).unwrap_or_else(|| "all".into());
                        let label = size.map(|n| n.to_string()).unwrap_or_else(|| "All".into());
                        view! { <option value=value selected=move || paging.with(|p| p.size == size)>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
            <span class="page-label" role="status">{move || page.get().label(total.get())}</span>
            <button type="button" class="small" data-page="prev" disabled=move || page.get().page == 0 on:click=move |_| go(-1)>"‹ Previous"</button>
            <button type="button" class="small" data-page="next" disabled=move || { let p = page.get(); p.page + 1 >= p.pages } on:click=move |_| go(1)>"Next ›"</button>
        </nav>
    }
}
