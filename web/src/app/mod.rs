//! The browser side: the page shell and the Images page (wasm32 only).

use crate::model::{self, ImageRow, ImageSummary};
use gloo_net::http::Request;
use leptos::prelude::*;

/// The whole page: a header with the navigation, and the Images page.
#[component]
pub fn App() -> impl IntoView {
    view! {
        <header class="bar">
            <h1>"Strata"</h1>
            <nav aria-label="Sections">
                <a href="/" aria-current="page">"Images"</a>
            </nav>
        </header>
        <main>
            <ImagesPage/>
        </main>
    }
}

/// `GET /api/images`, decoded by the native-tested model.
async fn fetch_images() -> Result<Vec<ImageSummary>, String> {
    let res = Request::get("/api/images")
        .header("Accept", "application/json")
        .send()
        .await
        .map_err(|e| model::network_error(&e.to_string()))?;
    let body = res
        .text()
        .await
        .map_err(|e| model::network_error(&e.to_string()))?;
    if !res.ok() {
        return Err(model::http_error(res.status(), &res.status_text(), &body));
    }
    model::parse_images(&body)
}

/// Unix seconds from the browser's clock.
fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

#[component]
fn ImagesPage() -> impl IntoView {
    let images = LocalResource::new(fetch_images);
    view! {
        <section aria-labelledby="images-title">
            <div class="heading">
                <h2 id="images-title">"Images"</h2>
                <button type="button" on:click=move |_| images.refetch()>"Refresh"</button>
            </div>
            {move || match images.get() {
                None => view! { <p class="status" role="status">"Loading images…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => {
                    view! { <p class="status">"No images."</p> }.into_any()
                }
                Some(Ok(list)) => view! { <ImagesTable rows=model::image_rows(&list, now())/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn ImagesTable(rows: Vec<ImageRow>) -> impl IntoView {
    let count = rows.len();
    view! {
        <table class="images">
            <caption>{format!("Local images: {count} rows, one per tag")}</caption>
            <thead>
                <tr>
                    <th scope="col">"REPOSITORY"</th>
                    <th scope="col">"TAG"</th>
                    <th scope="col">"IMAGE ID"</th>
                    <th scope="col">"CREATED"</th>
                    <th scope="col" class="num">"SIZE"</th>
                </tr>
            </thead>
            <tbody>
                {rows
                    .into_iter()
                    .map(|r| {
                        view! {
                            <tr>
                                <td>{r.repository}</td>
                                <td>{r.tag}</td>
                                <td><code title=r.id>{r.short_id}</code></td>
                                <td>{r.created}</td>
                                <td class="num">{r.size}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}
