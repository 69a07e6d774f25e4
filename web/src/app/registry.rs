//! The operator's registry and archive actions, next to what Portainer and Docker Desktop
//! offer: log in to a registry, search one, push an image, load (`docker load`) an archive
//! chosen in the browser. Save is a plain download of `GET /images/{name}/get`.
//!
//! Everything goes through the Docker routes the server already has (`POST /auth`,
//! `GET /images/search`, `POST /images/{name}/push`, `POST /images/load`); reads are
//! `LocalResource`s, user-triggered writes `Action`s.

use super::net::enc;
use super::widgets::{ErrorBox, Loading, Modal};
use super::Ctx;
use crate::error::ApiError;
use crate::pull::Pull;
use crate::registry::{self, Found};
use gloo_net::http::{Request, Response};
use leptos::prelude::*;
use std::cell::RefCell;
use std::collections::BTreeMap;
use wasm_bindgen::JsCast;

thread_local! {
    /// Logins checked by `POST /auth` in this page: host → (user, password). Kept by the page
    /// as the docker CLI keeps them in its config; the server stores nothing.
    static LOGINS: RefCell<BTreeMap<String, (String, String)>> = const { RefCell::new(BTreeMap::new()) };
}

/// base64 of a string's UTF-8 bytes (`btoa` takes one byte per character).
fn base64(s: &str) -> String {
    let latin1: String = s.bytes().map(char::from).collect();
    window().btoa(&latin1).unwrap_or_default()
}

/// The `X-Registry-Auth` value for an image name, when the page logged in to its registry.
fn auth_for(name: &str) -> Option<String> {
    let host = registry::registry_of(name).ok()?;
    LOGINS.with(|l| {
        l.borrow()
            .get(&host)
            .map(|(u, p)| base64(&registry::auth_json(&host, u, p)))
    })
}

/// A non-2xx answer as the typed error: the server's `{"message"}`, or the status.
async fn error_of(what: &str, res: Response) -> ApiError {
    let body = res.text().await.unwrap_or_default();
    ApiError::http(what, res.status(), &res.status_text(), &body)
}

fn no_answer(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::no_answer(what, e)
}

/// A request that could not be built, or an answer that could not be read.
fn other(what: &str, e: impl std::fmt::Display) -> ApiError {
    ApiError::other(None, format!("{what}: {e}"))
}

/// `POST /auth`: the registry checks the credentials; on success the page keeps them.
async fn login(server: String, user: String, pass: String) -> Result<String, ApiError> {
    let host = registry::login_host(&server);
    let what = format!("cannot log in to {host}");
    let req = Request::post("/auth")
        .header("X-Strata-Request", "1")
        .header("Content-Type", "application/json")
        .body(registry::auth_json(&host, &user, &pass))
        .map_err(|e| other(&what, e))?;
    let res = req.send().await.map_err(|e| no_answer(&what, e))?;
    if !res.ok() {
        return Err(error_of(&what, res).await);
    }
    LOGINS.with(|l| l.borrow_mut().insert(host.clone(), (user, pass)));
    Ok(host)
}

/// The login dialog: registry, user name, password.
#[component]
pub fn LoginDialog(on_close: Callback<()>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let server = RwSignal::new(String::new());
    let user = RwSignal::new(String::new());
    let pass = RwSignal::new(String::new());
    let action = Action::new_local(|(s, u, p): &(String, String, String)| {
        login(s.clone(), u.clone(), p.clone())
    });
    Effect::new(move |_| {
        if let Some(Ok(host)) = action.value().get() {
            ctx.toast(format!("Login Succeeded: {host}"), false);
            on_close.run(());
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch((
            server.get_untracked(),
            user.get_untracked(),
            pass.get_untracked(),
        ));
    };
    view! {
        <Modal title="Log in to a registry" on_close=on_close>
            <form class="login-form" on:submit=submit>
                <label for="login-server">"Registry"</label>
                <input id="login-server" type="text" autocomplete="off" spellcheck="false" autofocus
                    placeholder="127.0.0.1:5000 (empty: Docker Hub)"
                    prop:value=move || server.get() on:input=move |ev| server.set(event_target_value(&ev))/>
                <label for="login-user">"User name"</label>
                <input id="login-user" type="text" autocomplete="username"
                    prop:value=move || user.get() on:input=move |ev| user.set(event_target_value(&ev))/>
                <label for="login-pass">"Password or token"</label>
                <input id="login-pass" type="password" autocomplete="current-password"
                    prop:value=move || pass.get() on:input=move |ev| pass.set(event_target_value(&ev))/>
                <p class="help">"The registry checks the login; this page keeps it for its pushes until it is reloaded. The server stores nothing."</p>
                {move || action.value().get().and_then(Result::err).map(|e| view! { <ErrorBox message=e/> })}
                <div class="dialog-actions">
                    <button type="button" on:click=move |_| on_close.run(())>"Cancel"</button>
                    <button type="submit" class="primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Logging in…" } else { "Log in" }}
                    </button>
                </div>
            </form>
        </Modal>
    }
}

/// `GET /images/search?term=`.
async fn search(term: String) -> Result<Vec<Found>, ApiError> {
    let what = format!("cannot search for {term}");
    let mut req = Request::get(&format!("/images/search?term={}&limit=25", enc(&term)));
    if let Some(a) = auth_for(&format!("{term}/x")) {
        req = req.header("X-Registry-Auth", &a);
    }
    let res = req.send().await.map_err(|e| no_answer(&what, e))?;
    if !res.ok() {
        return Err(error_of(&what, res).await);
    }
    let body = res.text().await.map_err(|e| other(&what, e))?;
    registry::search_results(&body).map_err(|e| ApiError::other(None, e))
}

/// The registry search dialog: a term (`HOST[:PORT]/TERM` for a registry of one's own), the
/// repositories found, each one a click away from the pull box.
#[component]
pub fn SearchDialog(on_close: Callback<()>, on_pick: Callback<String>) -> impl IntoView {
    let input = RwSignal::new(String::new());
    let asked = RwSignal::new(None::<String>);
    let results = LocalResource::new(move || {
        let term = asked.get();
        async move {
            match term {
                None => Ok(None),
                Some(t) => search(t).await.map(Some),
            }
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let t = input.get_untracked().trim().to_string();
        if !t.is_empty() {
            asked.set(Some(t));
        }
    };
    view! {
        <Modal title="Search a registry" on_close=on_close>
            <form class="search-form" on:submit=submit>
                <label for="search-term">"Search"</label>
                <input id="search-term" type="search" autocomplete="off" spellcheck="false" autofocus
                    placeholder="127.0.0.1:5000/team, or a term for the configured registries"
                    prop:value=move || input.get() on:input=move |ev| input.set(event_target_value(&ev))/>
                <button type="submit" class="primary">"Search"</button>
            </form>
            <div class="dialog-body" data-dialog="search">
                <Transition fallback=|| view! { <Loading what="Searching…"/> }>
                    {move || results.get().map(|r| match r {
                        Ok(None) => view! { <p class="help">"Name a registry and a term (HOST[:PORT]/TERM), as docker search does."</p> }.into_any(),
                        Ok(Some(found)) if found.is_empty() => view! { <p class="muted">"No repository matches."</p> }.into_any(),
                        Ok(Some(found)) => view! {
                            <ul class="search-results">
                                {found.into_iter().map(|f| {
                                    let name = f.name.clone();
                                    view! {
                                        <li data-repo=f.name.clone()>
                                            <code>{f.name.clone()}</code>" "<span class="muted">{f.description}</span>" "
                                            <button type="button" class="small" on:click=move |_| on_pick.run(name.clone())>"Pull…"</button>
                                        </li>
                                    }
                                }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <ErrorBox message=e/> }.into_any(),
                    })}
                </Transition>
            </div>
        </Modal>
    }
}

/// `POST url` with the chosen file as the body (streamed by the browser, never read into the
/// page): the answer's text, or the error named by `what`.
async fn upload_tar(url: &str, what: &str, file: web_sys::File) -> Result<String, ApiError> {
    let req = Request::post(url)
        .header("X-Strata-Request", "1")
        .header("Content-Type", "application/x-tar")
        .body(wasm_bindgen::JsValue::from(file))
        .map_err(|e| other(what, e))?;
    let res = req.send().await.map_err(|e| no_answer(what, e))?;
    if !res.ok() {
        return Err(error_of(what, res).await);
    }
    res.text().await.map_err(|e| other(what, e))
}

/// `POST /images/load` with the chosen archive: `docker load`.
async fn load(file: web_sys::File) -> Result<Vec<String>, ApiError> {
    let what = format!("cannot load {}", file.name());
    let body = upload_tar("/images/load", &what, file).await?;
    match registry::load_result(&body) {
        (_, Some(e)) => Err(other(&what, e)),
        (loaded, None) => Ok(loaded),
    }
}

/// The file chosen in a file input, if any.
fn chosen_file(input: NodeRef<leptos::html::Input>) -> Option<web_sys::File> {
    input
        .get_untracked()
        .and_then(|i| i.files())
        .and_then(|l| l.get(0))
}

/// An upload dialog's buttons: Close, and the submit button, disabled and saying `busy`
/// while the upload runs.
#[component]
fn UploadActions(
    on_close: Callback<()>,
    #[prop(into)] pending: Signal<bool>,
    idle: &'static str,
    busy: &'static str,
) -> impl IntoView {
    view! {
        <div class="dialog-actions">
            <button type="button" on:click=move |_| on_close.run(())>"Close"</button>
            <button type="submit" class="primary" disabled=move || pending.get()>
                {move || if pending.get() { busy } else { idle }}
            </button>
        </div>
    }
}

/// The load dialog: a `docker save` archive chosen in the browser, uploaded to `docker load`.
#[component]
pub fn LoadDialog(on_close: Callback<()>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let file = NodeRef::<leptos::html::Input>::new();
    let missing = RwSignal::new(false);
    let action = Action::new_local(|f: &web_sys::File| load(f.clone()));
    Effect::new(move |_| {
        if let Some(Ok(lines)) = action.value().get() {
            for l in &lines {
                ctx.toast(l.clone(), false);
            }
            ctx.refresh_soon();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = chosen_file(file);
        missing.set(chosen.is_none());
        if let Some(f) = chosen {
            action.dispatch(f);
        }
    };
    view! {
        <Modal title="Load images from an archive" on_close=on_close>
            <form class="load-form" on:submit=submit>
                <label for="load-file">"Archive (docker save tar)"</label>
                <input id="load-file" type="file" accept=".tar,application/x-tar" node_ref=file/>
                <p class="help">"Images and their tags as docker save wrote them; layers already stored are not stored twice."</p>
                {move || missing.get().then(|| view! { <ErrorBox message="choose a tar file first"/> })}
                {move || match action.value().get() {
                    Some(Err(e)) => Some(view! { <ErrorBox message=e/> }.into_any()),
                    Some(Ok(lines)) => Some(view! {
                        <ul class="load-result" role="status">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
                    }.into_any()),
                    None => None,
                }}
                <UploadActions on_close=on_close pending=action.pending() idle="Load" busy="Loading…"/>
            </form>
        </Modal>
    }
}

/// `POST /images/create?fromSrc=-` with the chosen root filesystem tar: `docker import`.
async fn import(
    file: web_sys::File,
    query: Vec<(&'static str, String)>,
) -> Result<String, ApiError> {
    let what = format!("cannot import {}", file.name());
    let query: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", enc(v)))
        .collect();
    let url = format!("/images/create?{}", query.join("&"));
    let body = upload_tar(&url, &what, file).await?;
    registry::import_result(&body).map_err(|e| other(&what, e))
}

/// The import dialog: a root filesystem tar (plain, gzip or zstd) chosen in the browser
/// becomes a one-layer image, named and configured as `docker import` does it.
#[component]
pub fn ImportDialog(on_close: Callback<()>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let file = NodeRef::<leptos::html::Input>::new();
    let name = RwSignal::new(String::new());
    let changes = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let action = Action::new_local(|(f, q): &(web_sys::File, Vec<(&'static str, String)>)| {
        import(f.clone(), q.clone())
    });
    Effect::new(move |_| {
        if let Some(Ok(id)) = action.value().get() {
            ctx.toast(
                format!("Imported {}", docker_format::truncate_id(&id)),
                false,
            );
            ctx.refresh_soon();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let chosen = chosen_file(file);
        let query = registry::import_query(&name.get_untracked(), &changes.get_untracked());
        match (chosen, query) {
            (None, _) => problem.set(Some("choose a tar file first".into())),
            (_, Err(e)) => problem.set(Some(e)),
            (Some(f), Ok(q)) => {
                problem.set(None);
                action.dispatch((f, q));
            }
        }
    };
    view! {
        <Modal title="Import a root filesystem" on_close=on_close>
            <form class="import-form" on:submit=submit>
                <label for="import-file">"Root filesystem (tar, tar.gz or tar.zst)"</label>
                <input id="import-file" type="file" node_ref=file
                    accept=".tar,.tgz,.gz,.zst,application/x-tar,application/gzip,application/zstd"/>
                <label for="import-name">"Name (optional)"</label>
                <input id="import-name" type="text" autocomplete="off" spellcheck="false" placeholder="myimage:1.0"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <label for="import-changes">"Changes (optional, one Dockerfile instruction per line)"</label>
                <textarea id="import-changes" rows="3" spellcheck="false" placeholder="CMD [\"/bin/sh\"]"
                    prop:value=move || changes.get() on:input=move |ev| changes.set(event_target_value(&ev))></textarea>
                <p class="help">"The whole tree becomes the image's one layer, as docker import makes it. Changes may set CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, USER, VOLUME and WORKDIR."</p>
                {move || problem.get().map(|e| view! { <ErrorBox message=e/> })}
                {move || match action.value().get() {
                    Some(Err(e)) => Some(view! { <ErrorBox message=e/> }.into_any()),
                    Some(Ok(id)) => Some(view! {
                        <p class="import-result" role="status">"Imported "<code>{id}</code></p>
                    }.into_any()),
                    None => None,
                }}
                <UploadActions on_close=on_close pending=action.pending() idle="Import" busy="Importing…"/>
            </form>
        </Modal>
    }
}

/// `POST /images/{name}/push`, its progress fed to `state` line by line.
async fn push(name: String, state: RwSignal<Option<Pull>>) -> Result<String, ApiError> {
    let what = format!("cannot push {name}");
    // as the docker CLI asks: the repository in the path, the tag as a parameter
    let (repo, tag) = crate::model::split_tag(&name);
    let mut req = Request::post(&format!("/images/{repo}/push?tag={}", enc(tag)))
        .header("X-Strata-Request", "1")
        .header("Content-Type", "application/json");
    if let Some(a) = auth_for(&name) {
        req = req.header("X-Registry-Auth", &a);
    }
    let res = req.send().await.map_err(|e| no_answer(&what, e))?;
    if !res.ok() {
        return Err(error_of(&what, res).await);
    }
    state.set(Some(Pull::new()));
    if let Some(stream) = res.body() {
        let reader: web_sys::ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
        loop {
            let chunk = wasm_bindgen_futures::JsFuture::from(reader.read())
                .await
                .map_err(|e| other(&what, format!("the stream broke off ({e:?})")))?;
            let get = |k: &str| js_sys::Reflect::get(&chunk, &wasm_bindgen::JsValue::from_str(k));
            if get("done").ok().and_then(|v| v.as_bool()).unwrap_or(true) {
                break;
            }
            if let Ok(value) = get("value") {
                let bytes = js_sys::Uint8Array::new(&value).to_vec();
                state.update(|p| {
                    if let Some(p) = p {
                        p.feed(&bytes)
                    }
                });
            }
        }
    }
    state.update(|p| {
        if let Some(p) = p {
            p.finish()
        }
    });
    match state.with_untracked(|p| p.as_ref().and_then(|p| p.error.clone())) {
        Some(e) => Err(other(&what, e)),
        None => Ok(name),
    }
}

/// Tags `source` as `target` when it is not one of its names yet (`POST /api/images/…/tag`).
async fn tag_if_new(source: &str, target: &str, tags: &[String]) -> Result<(), ApiError> {
    if tags.iter().any(|t| t == target) {
        return Ok(());
    }
    super::net::send(
        &format!("cannot tag {source} as {target}"),
        "POST",
        &format!("/api/images/{}/tag", enc(source)),
        super::net::body(&crate::wire::TagRequest {
            target: target.to_string(),
        }),
    )
    .await
    .map(|_| ())
}

/// The push dialog of an image: the name to push as (one of its tags, or a new one it is
/// tagged with first), then the registry's progress per layer.
#[component]
pub fn PushDialog(id: String, tags: Vec<String>, on_close: Callback<()>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let target = RwSignal::new(tags.first().cloned().unwrap_or_default());
    let progress = RwSignal::new(None::<Pull>);
    let error = RwSignal::new(None::<String>);
    let action = Action::new_local(move |name: &String| {
        let (id, name, tags) = (id.clone(), name.clone(), tags.clone());
        async move {
            tag_if_new(&id, &name, &tags).await?;
            push(name, progress).await
        }
    });
    Effect::new(move |_| match action.value().get() {
        Some(Ok(name)) => {
            ctx.toast(format!("Pushed {name}"), false);
            ctx.refresh_soon();
        }
        Some(Err(e)) => error.set(Some(e.to_string())),
        None => {}
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match crate::model::check_tag_target(&target.get_untracked()) {
            Ok(t) => {
                error.set(None);
                action.dispatch(t);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    view! {
        <Modal title="Push to a registry" on_close=on_close>
            <form class="push-form" on:submit=submit>
                <label for="push-target">"Push as"</label>
                <input id="push-target" type="text" autocomplete="off" spellcheck="false" autofocus
                    placeholder="127.0.0.1:5000/team/app:1.0"
                    prop:value=move || target.get() on:input=move |ev| target.set(event_target_value(&ev))/>
                <p class="help">"A name that is not one of the image's tags yet is tagged first. The registry's login, if it needs one, is the one made with Log in."</p>
                {move || error.get().map(|e| view! { <ErrorBox message=e/> })}
                <div class="dialog-actions">
                    <button type="button" on:click=move |_| on_close.run(())>"Close"</button>
                    <button type="submit" class="primary" disabled=move || action.pending().get()>
                        {move || if action.pending().get() { "Pushing…" } else { "Push" }}
                    </button>
                </div>
            </form>
            {move || progress.get().map(|p| view! {
                <div class="push-progress" aria-live="polite">
                    <ul class="layers-progress">
                        {p.layers.iter().map(|l| view! {
                            <li data-layer-id=l.id.clone()><code>{l.id.clone()}</code>" "<span class="layer-status">{l.status.clone()}</span></li>
                        }).collect_view()}
                    </ul>
                    <ul class="pull-lines">{p.lines.iter().map(|l| view! { <li>{l.clone()}</li> }).collect_view()}</ul>
                </div>
            })}
        </Modal>
    }
}
