//! The terminal: xterm.js (bundled by Trunk from npm, globals `Terminal` and `FitAddon`) on
//! the WebSocket `/api/containers/{id}/terminal`. Keystrokes go out as binary frames, output
//! comes back as binary frames, a resize goes as a `TerminalControl` text frame, and the last
//! text frame (`TerminalEndDto`) says how the session ended.

use crate::wire::{TerminalControl, TerminalEndDto};
use js_sys::{Array, Function, Reflect, Uint8Array};
use leptos::prelude::*;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{BinaryType, MessageEvent, WebSocket};

/// What the terminal joins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TermMode {
    /// A new shell (`exec -it <cmd>`).
    Exec(String),
    /// The container's own TTY (starts the container when it does not run).
    Attach,
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn call(obj: &JsValue, method: &str, args: &[JsValue]) -> JsValue {
    let f: Function = match get(obj, method).dyn_into() {
        Ok(f) => f,
        Err(_) => return JsValue::UNDEFINED,
    };
    let a = Array::new();
    for x in args {
        a.push(x);
    }
    match f.apply(obj, &a) {
        Ok(v) => v,
        Err(e) => {
            leptos::logging::warn!("terminal: {method} failed: {e:?}");
            JsValue::UNDEFINED
        }
    }
}

fn construct(ctor: &JsValue, args: &[JsValue]) -> Option<JsValue> {
    let f: Function = ctor.clone().dyn_into().ok()?;
    let a = Array::new();
    for x in args {
        a.push(x);
    }
    Reflect::construct(&f, &a).ok()
}

/// The size the terminal has now (rows, cols).
fn size_of(term: &JsValue) -> (u16, u16) {
    let n = |k: &str| get(term, k).as_f64().unwrap_or(0.0) as u16;
    (n("rows"), n("cols"))
}

fn ws_url(path: &str) -> String {
    let loc = window().location();
    let scheme = if loc.protocol().unwrap_or_default() == "https:" {
        "wss"
    } else {
        "ws"
    };
    format!("{scheme}://{}{path}", loc.host().unwrap_or_default())
}

/// A terminal on container `id`; `on_end` gets the exit code (or `None` with an error) when
/// the session ends. The session ends when the component goes away.
#[component]
pub fn Terminal(
    /// The container.
    id: String,
    /// Exec a shell or attach.
    mode: TermMode,
    /// Called once, when the process ended or the session failed.
    #[prop(into)]
    on_end: Callback<Option<i32>>,
) -> impl IntoView {
    let node = NodeRef::<leptos::html::Div>::new();
    let status = RwSignal::new(String::from("Connecting…"));
    let socket = StoredValue::new_local(None::<WebSocket>);
    let term_v = StoredValue::new_local(None::<JsValue>);
    // xterm.js measures its cells in the document: open it once the element is in the page
    node.on_load(move |el| {
        request_animation_frame(move || {
            let global = js_sys::global();
            let Some(term) = construct(
                &get(&global, "Terminal"),
                &[{
                    let o = js_sys::Object::new();
                    let _ = Reflect::set(&o, &"cursorBlink".into(), &JsValue::TRUE);
                    let _ = Reflect::set(&o, &"fontSize".into(), &JsValue::from_f64(13.0));
                    let _ = Reflect::set(&o, &"scrollback".into(), &JsValue::from_f64(5000.0));
                    o.into()
                }],
            ) else {
                status.set("The terminal emulator (xterm.js) did not load.".into());
                return;
            };
            let fit = construct(&get(&get(&global, "FitAddon"), "FitAddon"), &[]);
            if let Some(fit) = &fit {
                call(&term, "loadAddon", std::slice::from_ref(fit));
            }
            call(&term, "open", &[el.clone().into()]);
            // xterm.js draws only while it is on screen
            let opts = web_sys::ScrollIntoViewOptions::new();
            opts.set_block(web_sys::ScrollLogicalPosition::Nearest);
            el.scroll_into_view_with_scroll_into_view_options(&opts);
            if let Some(fit) = &fit {
                call(fit, "fit", &[]);
            }
            let (rows, cols) = size_of(&term);
            let path = match &mode {
                TermMode::Exec(cmd) => format!(
                    "/api/containers/{}/terminal?mode=exec&cmd={}&rows={rows}&cols={cols}",
                    super::net::enc(&id),
                    super::net::enc(cmd)
                ),
                TermMode::Attach => format!(
                    "/api/containers/{}/terminal?mode=attach&rows={rows}&cols={cols}",
                    super::net::enc(&id)
                ),
            };
            let Ok(ws) = WebSocket::new(&ws_url(&path)) else {
                status.set("Cannot open the terminal's connection.".into());
                return;
            };
            ws.set_binary_type(BinaryType::Arraybuffer);
            let ended = std::rc::Rc::new(std::cell::Cell::new(false));

            let t = term.clone();
            let onopen = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                status.set("Connected.".into());
                call(&t, "focus", &[]);
            });
            ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
            onopen.forget();

            let t = term.clone();
            let e2 = ended.clone();
            let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
                let data = ev.data();
                if let Some(text) = data.as_string() {
                    if let Ok(end) = serde_json::from_str::<TerminalEndDto>(&text) {
                        e2.set(true);
                        match (end.exit_code, end.error) {
                            (_, Some(err)) => {
                                call(
                                    &t,
                                    "write",
                                    &[format!("\r\n\x1b[31m{err}\x1b[0m\r\n").into()],
                                );
                                status.set(err);
                                on_end.run(None);
                            }
                            (code, None) => {
                                status.set(format!(
                                    "The process exited with code {}.",
                                    code.unwrap_or(0)
                                ));
                                on_end.run(code);
                            }
                        }
                    }
                } else {
                    let bytes = Uint8Array::new(&data);
                    call(&t, "write", &[bytes.into()]);
                }
            });
            ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
            onmessage.forget();

            let e3 = ended.clone();
            let onclose = Closure::<dyn FnMut(web_sys::CloseEvent)>::new(move |_| {
                if !e3.get() {
                    e3.set(true);
                    status.set("The connection closed.".into());
                    on_end.run(None);
                }
            });
            ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
            onclose.forget();

            // keystrokes → binary frames
            let w = ws.clone();
            let ondata = Closure::<dyn FnMut(JsValue)>::new(move |d: JsValue| {
                if let Some(s) = d.as_string() {
                    let _ = w.send_with_u8_array(s.as_bytes());
                }
            });
            call(&term, "onData", &[ondata.as_ref().clone()]);
            ondata.forget();

            // resizes → a control frame
            let w = ws.clone();
            let onresize = Closure::<dyn FnMut(JsValue)>::new(move |size: JsValue| {
                let n = |k: &str| get(&size, k).as_f64().unwrap_or(0.0) as u16;
                let c = TerminalControl {
                    rows: n("rows"),
                    cols: n("cols"),
                };
                if w.ready_state() == WebSocket::OPEN {
                    let _ = w.send_with_str(&serde_json::to_string(&c).unwrap_or_default());
                }
            });
            call(&term, "onResize", &[onresize.as_ref().clone()]);
            onresize.forget();

            if let Some(fit) = fit {
                let onwinresize = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                    call(&fit, "fit", &[]);
                });
                let _ = window().add_event_listener_with_callback(
                    "resize",
                    onwinresize.as_ref().unchecked_ref(),
                );
                onwinresize.forget();
            }
            // the open terminal, for tests and the browser's console
            let _ = Reflect::set(&global, &"strataTerminal".into(), &term);
            socket.set_value(Some(ws));
            term_v.set_value(Some(term));
        })
    });
    on_cleanup(move || {
        if let Some(ws) = socket.try_get_value().flatten() {
            ws.set_onclose(None);
            let _ = ws.close();
        }
        if let Some(t) = term_v.try_get_value().flatten() {
            call(&t, "dispose", &[]);
        }
    });
    view! {
        <div class="terminal-wrap">
            <div class="terminal" node_ref=node role="application" aria-label="Terminal"></div>
            <p class="muted terminal-status" role="status">{move || status.get()}</p>
        </div>
    }
}
