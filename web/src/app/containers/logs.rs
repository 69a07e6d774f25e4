//! A container's log: followed live while it runs, searched, with timestamps, downloaded.

use super::super::net::{self, enc};
use crate::run;
use crate::wire::LogLineDto;
use leptos::prelude::*;
use leptos::task::spawn_local;

/// The container's log, followed live while it runs: search, timestamps, download.
#[component]
pub(super) fn Logs(id: String, state: Signal<String>) -> impl IntoView {
    let lines = RwSignal::new(Vec::<LogLineDto>::new());
    let search = RwSignal::new(String::new());
    let stamps = RwSignal::new(false);
    let gen = StoredValue::new(0u32);
    let alive = StoredValue::new(true);
    on_cleanup(move || alive.set_value(false));
    let follow = {
        let id = id.clone();
        move || {
            gen.update_value(|g| *g += 1);
            let mine = gen.get_value();
            let id = id.clone();
            // a long-lived stream (the followed log, until the process ends or the page goes): a task, not a resource
            spawn_local(async move {
                let mut cut = run::LineCutter::default();
                let mut first = true;
                let url = format!("/api/containers/{}/logs?follow=1", enc(&id));
                let _ = net::get_stream("cannot read the log", &url, |chunk| {
                    if !alive.get_value() || gen.get_value() != mine {
                        return false;
                    }
                    let new = cut.push(chunk);
                    if first {
                        first = false;
                        lines.set(new);
                    } else if !new.is_empty() {
                        lines.update(|l| l.extend(new));
                    }
                    true
                })
                .await;
            });
        }
    };
    // a new stream at each start (the old one ends with the process)
    Effect::new(move |prev: Option<String>| {
        let now = state.get();
        if prev.as_deref() != Some(now.as_str()) && (prev.is_none() || now == "running") {
            lines.set(Vec::new());
            follow();
        }
        now
    });
    let download = {
        let id = id.clone();
        move |_| {
            let text = run::log_download(&lines.get_untracked(), stamps.get_untracked());
            let href = format!(
                "data:text/plain;charset=utf-8,{}",
                js_sys::encode_uri_component(&text)
            );
            if let Ok(a) = document().create_element("a") {
                let _ = a.set_attribute("href", &href);
                let _ = a.set_attribute(
                    "download",
                    &format!("{}.log", docker_format::truncate_id(&id)),
                );
                if let Ok(a) = wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(a) {
                    a.click();
                }
            }
        }
    };
    view! {
        <section class="logs" aria-labelledby="logs-title">
            <h2 id="logs-title">"Logs"</h2>
            <div class="row">
                <label for="log-search" class="sr-only">"Search the log"</label>
                <input id="log-search" type="search" placeholder="Search the log" prop:value=move || search.get()
                    on:input=move |ev| search.set(event_target_value(&ev))/>
                <label class="check"><input id="log-stamps" type="checkbox" prop:checked=move || stamps.get()
                    on:change=move |ev| stamps.set(event_target_checked(&ev))/>" Timestamps"</label>
                <button type="button" id="log-download" on:click=download>"Download"</button>
                <span class="muted" id="log-count">{move || format!("{} line(s)", lines.with(|l| l.len()))}</span>
            </div>
            <pre class="log-view" id="log-view" tabindex="0">{move || {
                let ts = stamps.get();
                lines.with(|l| run::filter_logs(l, &search.get()).into_iter().map(|x| run::log_line_text(x, ts) + "\n").collect::<String>())
            }}</pre>
        </section>
    }
}
