//! The images table: sortable columns, one page of rows at a time, multi-select, and each
//! row's tag and remove buttons.

use super::super::widgets::Pager;
use super::super::Link;
use crate::model::{self, Column, ImageRow, Paging, Query, Status};
use crate::plan;
use crate::route::Route;
use leptos::prelude::*;
use std::collections::BTreeSet;

/// The table of image rows, one page at a time, with the select-all box and sortable headers.
#[component]
pub(super) fn ImagesTable(
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
