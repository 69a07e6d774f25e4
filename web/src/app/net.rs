//! Talking to the server: JSON requests (with the CSRF header every state-changing request
//! needs), streamed bodies read chunk by chunk (pull progress), and the event stream.

use crate::error::ApiError;
use crate::wire::{decode, EventDto};
use gloo_net::http::{Request, RequestBuilder, Response};
use serde::de::DeserializeOwned;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Percent-encodes a path segment or query value (image names hold `/`, `:`, `@`).
pub fn enc(s: &str) -> String {
    js_sys::encode_uri_component(s)
        .as_string()
        .unwrap_or_default()
}

/// A request body of the dashboard API (an `api_types` request) as [`send`] takes it.
pub fn body<T: serde::Serialize>(req: &T) -> Option<serde_json::Value> {
    Some(serde_json::to_value(req).expect("request types serialise"))
}

/// The response when it is a 2xx; otherwise an error naming `what` and the server's message.
async fn checked(what: &str, res: Result<Response, gloo_net::Error>) -> Result<Response, ApiError> {
    let res = res.map_err(|e| ApiError::no_answer(what, e))?;
    if !res.ok() {
        let body = res.text().await.unwrap_or_default();
        return Err(ApiError::http(
            what,
            res.status(),
            &res.status_text(),
            &body,
        ));
    }
    Ok(res)
}

async fn finish(what: &str, res: Result<Response, gloo_net::Error>) -> Result<String, ApiError> {
    let res = res.map_err(|e| ApiError::no_answer(what, e))?;
    let body = res
        .text()
        .await
        .map_err(|e| ApiError::other(Some(res.status()), format!("{what}: {e}")))?;
    if !res.ok() {
        return Err(ApiError::http(
            what,
            res.status(),
            &res.status_text(),
            &body,
        ));
    }
    Ok(body)
}

/// Tries of a `GET` that got no answer at all.
const GET_TRIES: u32 = 5;

/// `GET url`, sent again (up to [`GET_TRIES`] times, after 150 ms, then twice as long each
/// time: 2.25 s in all) when no answer came:
/// Chromium fails the requests in flight whenever the host's network changes, and a
/// container's veth pair appearing or going is such a change. A `GET` changes nothing, so
/// sending it again is safe; an HTTP answer, whatever its status, is never retried.
async fn get(url: &str, accept_json: bool) -> Result<Response, gloo_net::Error> {
    let mut tries = 1;
    let mut pause = 150;
    loop {
        let mut b = Request::get(url);
        if accept_json {
            b = b.header("Accept", "application/json");
        }
        match b.send().await {
            Err(gloo_net::Error::JsError(_)) if tries < GET_TRIES => {
                tries += 1;
                sleep_ms(pause).await;
                pause *= 2;
            }
            r => return r,
        }
    }
}

async fn sleep_ms(ms: i32) {
    let p = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(p).await;
}

/// `GET url`, decoded as JSON.
pub async fn get_json<T: DeserializeOwned>(what: &str, url: &str) -> Result<T, ApiError> {
    let res = get(url, true).await;
    let body = finish(what, res).await?;
    decode(what, &body)
}

/// `GET url` as text.
pub async fn get_text(what: &str, url: &str) -> Result<String, ApiError> {
    let res = get(url, false).await;
    finish(what, res).await
}

/// `GET url` as bytes.
pub async fn get_bytes(what: &str, url: &str) -> Result<Vec<u8>, ApiError> {
    let res = checked(what, get(url, false).await).await?;
    let status = res.status();
    res.binary()
        .await
        .map_err(|e| ApiError::other(Some(status), format!("{what}: {e}")))
}

fn mutating(b: RequestBuilder) -> RequestBuilder {
    b.header("X-Strata-Request", "1")
        .header("Accept", "application/json")
}

/// A state-changing request with an optional JSON body; returns the response body.
pub async fn send(
    what: &str,
    method: &str,
    url: &str,
    json: Option<serde_json::Value>,
) -> Result<String, ApiError> {
    let b = match method {
        "POST" => Request::post(url),
        "PUT" => Request::put(url),
        "DELETE" => Request::delete(url),
        _ => Request::get(url),
    };
    let b = mutating(b);
    let res = match json {
        Some(v) => match b
            .header("Content-Type", "application/json")
            .body(v.to_string())
        {
            Ok(r) => r.send().await,
            Err(e) => return Err(ApiError::other(None, format!("{what}: {e}"))),
        },
        None => b.send().await,
    };
    finish(what, res).await
}

/// `PUT url` with raw bytes (a file's content).
pub async fn put_bytes(what: &str, url: &str, bytes: Vec<u8>) -> Result<(), ApiError> {
    let array = js_sys::Uint8Array::from(bytes.as_slice());
    let b = mutating(Request::put(url)).header("Content-Type", "application/octet-stream");
    let res = match b.body(JsValue::from(array)) {
        Ok(r) => r.send().await,
        Err(e) => return Err(ApiError::other(None, format!("{what}: {e}"))),
    };
    finish(what, res).await.map(|_| ())
}

/// `POST url` and hand each chunk of the response body to `on_chunk` as it arrives; returns
/// once the body ended. A non-2xx answer is an error with the server's message.
pub async fn post_stream(
    what: &str,
    url: &str,
    mut on_chunk: impl FnMut(&[u8]),
) -> Result<(), ApiError> {
    let res = mutating(Request::post(url))
        .header("Content-Type", "application/json")
        .send()
        .await;
    let res = checked(what, res).await?;
    read_chunks(what, res, |bytes| {
        on_chunk(bytes);
        true
    })
    .await
}

/// `POST url` with raw bytes (a build context tar, `content_type`) and hand each chunk of the
/// response body to `on_chunk` as it arrives; returns once the body ended.
pub async fn post_bytes_stream(
    what: &str,
    url: &str,
    content_type: &str,
    bytes: &[u8],
    mut on_chunk: impl FnMut(&[u8]),
) -> Result<(), ApiError> {
    let array = js_sys::Uint8Array::from(bytes);
    let b = mutating(Request::post(url)).header("Content-Type", content_type);
    let res = match b.body(JsValue::from(array)) {
        Ok(r) => r.send().await,
        Err(e) => return Err(ApiError::other(None, format!("{what}: {e}"))),
    };
    let res = checked(what, res).await?;
    read_chunks(what, res, |bytes| {
        on_chunk(bytes);
        true
    })
    .await
}

/// `GET url` and hand each chunk of the response body to `on_chunk` as it arrives, until the
/// body ends or `on_chunk` returns `false` (the request is then cancelled).
pub async fn get_stream(
    what: &str,
    url: &str,
    on_chunk: impl FnMut(&[u8]) -> bool,
) -> Result<(), ApiError> {
    let res = checked(what, Request::get(url).send().await).await?;
    read_chunks(what, res, on_chunk).await
}

/// Reads a response body chunk by chunk into `on_chunk` until it ends or `on_chunk` returns
/// `false` (the body is then cancelled).
async fn read_chunks(
    what: &str,
    res: Response,
    mut on_chunk: impl FnMut(&[u8]) -> bool,
) -> Result<(), ApiError> {
    let status = res.status();
    let Some(stream) = res.body() else {
        return Ok(());
    };
    let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    loop {
        let chunk = JsFuture::from(reader.read()).await.map_err(|e| {
            ApiError::other(
                Some(status),
                format!("{what}: the stream broke off ({e:?})"),
            )
        })?;
        let done = js_sys::Reflect::get(&chunk, &JsValue::from_str("done"))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        if let Ok(value) = js_sys::Reflect::get(&chunk, &JsValue::from_str("value")) {
            let bytes = js_sys::Uint8Array::new(&value).to_vec();
            if !on_chunk(&bytes) {
                let _ = reader.cancel();
                break;
            }
        }
    }
    Ok(())
}

/// Opens `/api/events` (Server-Sent Events) and calls `on_event` for each `image`,
/// `container` and `layer` event, `on_state(true)` when the stream is open and
/// `on_state(false)` while the browser reconnects. The stream lives as long as the page.
pub fn subscribe(on_event: impl Fn(EventDto) + 'static, on_state: impl Fn(bool) + 'static) {
    let Ok(source) = web_sys::EventSource::new("/api/events") else {
        on_state(false);
        return;
    };
    let on_event = std::rc::Rc::new(on_event);
    for kind in ["image", "container", "layer", "message"] {
        let f = on_event.clone();
        let cb =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                if let Some(data) = ev.data().as_string() {
                    if let Ok(e) = decode::<EventDto>("event", &data) {
                        f(e);
                    }
                }
            });
        let _ = source.add_event_listener_with_callback(kind, cb.as_ref().unchecked_ref());
        cb.forget();
    }
    let on_state = std::rc::Rc::new(on_state);
    let s = on_state.clone();
    let open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| s(true));
    source.set_onopen(Some(open.as_ref().unchecked_ref()));
    open.forget();
    let s = on_state;
    let err = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| s(false));
    source.set_onerror(Some(err.as_ref().unchecked_ref()));
    err.forget();
    // keep the source alive for the page's lifetime
    std::mem::forget(source);
}
