//! Builds in the browser: the Build page (`/ui/build`: a Dockerfile, extra context files and/or
//! an uploaded context tar, a tag, `--no-cache`; the classic builder's log streamed live, each
//! step marked when it came from the cache, a link to the image), the image page's
//! instruction ↔ layer table from history, and the sandbox's Dockerfile mode (the file
//! explained with the `dockerfile` crate, nothing run). What they show is computed by the
//! native-tested `crate::build` and `crate::explain`.

use super::net::{self, enc};
use super::widgets::ErrorBox;
use super::{Ctx, Link};
use crate::build::{
    cache_summary, context_tar, instruction_rows, log_steps, BuildRun, ContextFile,
};
use crate::error::ErrorKind;
use crate::explain::{error_text, explain};
use crate::route::Route;
use crate::wire::ImageDetailDto;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

const EXAMPLE: &str = "FROM busybox\nRUN echo 'hello from RUN' > /hello\nRUN mkdir -p /opt/app\nCOPY app.sh /opt/app/\nENV APP=1\nEXPOSE 8080\nCMD [\"/opt/app/app.sh\"]\n";

const EXAMPLE_FILE: &str = "#!/bin/sh\necho \"app $APP running\"\n";

/// What one click on Build sends.
#[derive(Clone)]
struct BuildRequest {
    context: Vec<u8>,
    tag: String,
    no_cache: bool,
}

/// An uploaded context tar.
#[derive(Clone, Debug, PartialEq)]
struct Upload {
    name: String,
    bytes: Vec<u8>,
}

/// Reads the first file of an `<input type=file>`.
async fn read_file(input: web_sys::HtmlInputElement) -> Result<Option<Upload>, String> {
    let Some(file) = input.files().and_then(|f| f.get(0)) else {
        return Ok(None);
    };
    let buf = JsFuture::from(file.array_buffer())
        .await
        .map_err(|e| format!("cannot read {}: {e:?}", file.name()))?;
    Ok(Some(Upload {
        name: file.name(),
        bytes: js_sys::Uint8Array::new(&buf).to_vec(),
    }))
}

#[component]
pub fn BuildPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let dockerfile = RwSignal::new(EXAMPLE.to_string());
    let files = RwSignal::new(vec![(
        0u32,
        ContextFile {
            name: "app.sh".into(),
            content: EXAMPLE_FILE.into(),
        },
    )]);
    let next_file = StoredValue::new(1u32);
    let tag = RwSignal::new(String::from("built:latest"));
    let no_cache = RwSignal::new(false);
    let problems = RwSignal::new(Vec::<String>::new());
    let run = RwSignal::new(BuildRun::default());
    // the store's events since the last build started (its containers, its images, the tag),
    // as the live event stream delivers them to every page
    let events = RwSignal::new(Vec::<String>::new());
    let watching = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(e) = ctx.last_event.get() {
            if watching.get_untracked() {
                events.update(|l| l.push(e));
            }
        }
    });

    // reading an upload: user-triggered, one file
    let read_upload = Action::new_local(|input: &web_sys::HtmlInputElement| {
        let input = input.clone();
        read_file(input)
    });
    let upload = Signal::derive(move || {
        read_upload
            .value()
            .get()
            .and_then(|r: Result<Option<Upload>, String>| r.ok().flatten())
    });

    // the build: the request streams its answer into `run` as it comes; the action ends with it
    let build = Action::new_local(move |req: &BuildRequest| {
        let req = req.clone();
        async move {
            run.set(BuildRun::default());
            let mut url = String::from("/api/build?");
            if !req.tag.is_empty() {
                url.push_str(&format!("t={}&", enc(&req.tag)));
            }
            if req.no_cache {
                url.push_str("nocache=1");
            }
            let res = net::post_bytes_stream(
                "cannot build",
                &url,
                "application/x-tar",
                &req.context,
                |chunk| run.update(|r| r.feed(chunk)),
            )
            .await;
            run.update(BuildRun::finish);
            if let Some(id) =
                run.with_untracked(|r| r.error.is_none().then(|| r.image.clone()).flatten())
            {
                ctx.fresh_image.set(Some(id));
            }
            res
        }
    });
    let building = build.pending();

    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let text = dockerfile.get_untracked();
        let written = (!text.trim().is_empty()).then_some(text);
        // a Dockerfile written here is checked before anything is sent
        if let Some(t) = &written {
            if let Err(errs) = explain(t) {
                problems.set(errs.iter().map(error_text).collect());
                run.set(BuildRun::default());
                return;
            }
        }
        let list: Vec<ContextFile> =
            files.with_untracked(|f| f.iter().map(|(_, f)| f.clone()).collect());
        let up = upload.get_untracked();
        match context_tar(
            written.as_deref(),
            &list,
            up.as_ref().map(|u| u.bytes.as_slice()),
        ) {
            Ok(context) => {
                problems.set(Vec::new());
                events.set(Vec::new());
                watching.set(true);
                build.dispatch(BuildRequest {
                    context,
                    tag: tag.get_untracked().trim().to_string(),
                    no_cache: no_cache.get_untracked(),
                });
            }
            Err(e) => problems.set(vec![e]),
        }
    };

    let steps = Memo::new(move |_| run.with(|r| log_steps(&r.log)));

    view! {
        <section class="page build" aria-labelledby="build-title">
            <h1 id="build-title">"Build an image"</h1>
            <p class="help">"A Dockerfile built by the store's classic builder, as "<code>"docker build"</code>" does: each RUN, COPY and ADD makes a layer, every other instruction changes only the config. A step whose parent and instruction match an earlier build's comes from the cache."</p>
            <form class="build-form" on:submit=start aria-label="Build">
                <label for="build-dockerfile">"Dockerfile"</label>
                <textarea id="build-dockerfile" rows="10" spellcheck="false"
                    prop:value=move || dockerfile.get()
                    on:input=move |ev| dockerfile.set(event_target_value(&ev))
                    on:change=move |ev| dockerfile.set(event_target_value(&ev))></textarea>
                <fieldset>
                    <legend>"Context files"</legend>
                    <p class="help">"Files the Dockerfile can COPY, written here (a file starting with #! is executable), added after the uploaded tar's."</p>
                    <For each=move || files.get() key=|(id, _)| *id let:item>
                        {
                            let (id, f) = item;
                            let set = move |name: Option<String>, content: Option<String>| files.update(|l| {
                                if let Some((_, x)) = l.iter_mut().find(|(i, _)| *i == id) {
                                    if let Some(n) = name { x.name = n; }
                                    if let Some(c) = content { x.content = c; }
                                }
                            });
                            view! {
                                <div class="context-file" data-file=id.to_string()>
                                    <input type="text" class="file-name" aria-label="file name in the context" spellcheck="false"
                                        prop:value=f.name.clone() on:input=move |ev| set(Some(event_target_value(&ev)), None)/>
                                    <textarea class="file-content" rows="3" aria-label="file content" spellcheck="false"
                                        prop:value=f.content.clone() on:input=move |ev| set(None, Some(event_target_value(&ev)))></textarea>
                                    <button type="button" class="small" on:click=move |_| files.update(|l| l.retain(|(i, _)| *i != id))>"Remove"</button>
                                </div>
                            }
                        }
                    </For>
                    <button type="button" id="build-add-file" on:click=move |_| {
                        let id = next_file.get_value();
                        next_file.set_value(id + 1);
                        files.update(|l| l.push((id, ContextFile::default())));
                    }>"Add a file"</button>
                    <label for="build-upload">"Context tar (optional)"</label>
                    <input id="build-upload" type="file" accept=".tar,.tgz,.tar.gz,application/x-tar"
                        on:change=move |ev| {
                            if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                                read_upload.dispatch(input);
                            }
                        }/>
                    {move || match read_upload.value().get() {
                        Some(Ok(Some(u))) => Some(view! { <p class="muted">{format!("{}: {}", u.name, docker_format::human_size(u.bytes.len() as u64))}</p> }.into_any()),
                        Some(Err(e)) => Some(view! { <ErrorBox message=e/> }.into_any()),
                        _ => None,
                    }}
                </fieldset>
                <div class="row wrap">
                    <label for="build-tag">"Tag"</label>
                    <input id="build-tag" type="text" spellcheck="false" autocomplete="off" placeholder="name:tag"
                        prop:value=move || tag.get() on:input=move |ev| tag.set(event_target_value(&ev))
                        on:change=move |ev| tag.set(event_target_value(&ev))/>
                    <label><input id="build-nocache" type="checkbox" prop:checked=move || no_cache.get()
                        on:change=move |ev| no_cache.set(event_target_checked(&ev))/>" --no-cache"</label>
                    <button type="submit" id="build-go" class="primary" disabled=move || building.get()>
                        {move || if building.get() { "Building…" } else { "Build" }}
                    </button>
                </div>
            </form>
            {move || {
                let p = problems.get();
                (!p.is_empty()).then(|| view! {
                    <div class="error" role="alert" id="build-problems">
                        <p>"The Dockerfile does not parse; nothing was built:"</p>
                        <ul>{p.into_iter().map(|e| view! { <li>{e}</li> }).collect_view()}</ul>
                    </div>
                })
            }}
            // refused before any step ran: the kind says why
            {move || match build.value().get() {
                Some(Err(e)) => {
                    let why = match e.kind {
                        ErrorKind::InvalidArgument => "The build was refused before any step ran:",
                        ErrorKind::NotFound => "Something the build needs is missing (a FROM image is not pulled by the dashboard: pull it first):",
                        ErrorKind::Denied => "Your token's role may not build (operators may):",
                        _ => "The build failed:",
                    };
                    Some(view! {
                        <div class="error" role="alert" id="build-error" data-kind=format!("{:?}", e.kind)>
                            <p>{why}</p><p>{e.message}</p>
                        </div>
                    })
                }
                _ => None,
            }}
            {move || run.with(|r| r.error.clone()).map(|(e, code)| view! {
                <div class="error" role="alert" id="build-failed" data-code=code.map(|c| c.to_string())>
                    <p>{e}</p>
                </div>
            })}
            {move || {
                let done = !building.get();
                run.with(|r| r.image.clone().filter(|_| done && r.error.is_none())).map(|id| {
                    let short = docker_format::truncate_id(&id);
                    view! {
                        <p id="build-result" class="ok" role="status">"Built "
                            <Link href=Route::Image(id.clone()).href()>{format!("image {short}")}</Link>
                            {move || steps.with(|s| cache_summary(s)).map(|t| format!(" · {t}"))}
                        </p>
                    }
                })
            }}
            <h2>"Steps"</h2>
            <div class="table-wrap">
                <table class="build-steps" id="build-steps">
                    <thead><tr>
                        <th scope="col" class="num">"STEP"</th><th scope="col">"INSTRUCTION"</th>
                        <th scope="col">"CACHE"</th><th scope="col">"IMAGE"</th>
                    </tr></thead>
                    <tbody>
                        {move || steps.get().into_iter().map(|s| view! {
                            <tr data-step=s.number.to_string() class:cached=s.cached data-cached=s.cached.to_string() data-base=s.base.to_string()>
                                <td class="num">{format!("{}/{}", s.number, s.total)}</td>
                                <td class="cmd"><code>{s.instruction}</code></td>
                                <td>{if s.base { view! { <span class="muted">"base"</span> }.into_any() } else if s.cached { view! { <span class="pill cached">"cached"</span> }.into_any() } else if s.container.is_some() { view! { <span class="muted">"ran"</span> }.into_any() } else { view! { <span class="muted">"—"</span> }.into_any() }}</td>
                                <td><code>{s.image.unwrap_or_default()}</code></td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
            <h2>"Store events"</h2>
            <ol id="build-events" class="log" aria-live="polite">
                {move || {
                    let l = events.get();
                    if l.is_empty() {
                        view! { <li class="muted">"The build's containers, step images and tag show here as the event stream reports them."</li> }.into_any()
                    } else {
                        l.into_iter().map(|e| view! { <li>{e}</li> }).collect_view().into_any()
                    }
                }}
            </ol>
            <h2>"Log"</h2>
            <pre id="build-log" class="raw" tabindex="0" aria-live="polite" aria-label="build output">{move || run.with(|r| r.log.clone())}</pre>
        </section>
    }
}

/// The image's history as instructions, oldest first: each layer step linked to the layer it
/// made (choosing it shows that layer's changes), `#(nop)` steps shown as config changes.
#[component]
pub fn InstructionLayers(
    detail: ImageDetailDto,
    /// The layer whose changes the page lists.
    pick: RwSignal<Option<usize>>,
) -> impl IntoView {
    let rows = instruction_rows(&detail);
    view! {
        <h2 id="instructions-title">"Instructions and their layers"</h2>
        <div class="table-wrap">
            <table class="instructions" aria-labelledby="instructions-title">
                <thead><tr>
                    <th scope="col" class="num">"#"</th><th scope="col">"INSTRUCTION"</th><th scope="col">"MADE"</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().enumerate().map(|(n, r)| {
                        let config_only = r.layer.is_none();
                        let made = match r.layer {
                            Some(l) => {
                                let index = l.index;
                                view! {
                                    <a class="layer-link" href="#layer-changes-title" data-layer=index.to_string() title=l.diff_id.clone()
                                        on:click=move |_| pick.set(Some(index))>
                                        {format!("layer {} · {} · {}", index + 1, l.short_id, l.size_text)}
                                    </a>
                                }.into_any()
                            }
                            None => view! { <span class="muted meta-step">"config only (#(nop), no layer)"</span> }.into_any(),
                        };
                        view! {
                            <tr data-instruction=n.to_string() class:empty-step=config_only title=r.created_by>
                                <td class="num">{n + 1}</td>
                                <td class="cmd"><code>{r.instruction}</code></td>
                                <td>{made}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

/// The sandbox's Dockerfile mode: which instructions make layers and which only change the
/// config, or the parse errors with their line and column; nothing is sent to the server.
#[component]
pub fn DockerfileSandbox() -> impl IntoView {
    let text = RwSignal::new(EXAMPLE.to_string());
    let explained = Memo::new(move |_| text.with(|t| explain(t)));
    view! {
        <section class="page sandbox-dockerfile" aria-labelledby="sb-df-title">
            <h1 id="sb-df-title">"Dockerfile explained"</h1>
            <p class="help">"Parsed in your browser by the same Dockerfile front end the builder uses; nothing runs. RUN, COPY and ADD each make a layer; every other instruction only changes the image's config (a #(nop) row of 0 B in docker history)."</p>
            <label for="sb-dockerfile">"Dockerfile"</label>
            <textarea id="sb-dockerfile" rows="10" spellcheck="false" prop:value=move || text.get()
                on:input=move |ev| text.set(event_target_value(&ev))
                on:change=move |ev| text.set(event_target_value(&ev))></textarea>
            {move || match explained.get() {
                Err(errs) => view! {
                    <div class="error" role="alert" id="sb-df-errors">
                        <ul>{errs.iter().map(|e| view! { <li data-line=e.line.to_string() data-column=e.column.to_string()>{error_text(e)}</li> }).collect_view()}</ul>
                    </div>
                }.into_any(),
                Ok(e) => {
                    let summary = e.stages.iter().map(|(name, n)| format!("{name}: {n} layer{} added", if *n == 1 { "" } else { "s" })).collect::<Vec<_>>().join(" · ");
                    view! {
                        <p id="sb-df-summary">{summary}</p>
                        <div class="table-wrap">
                            <table class="explained" id="sb-df-rows">
                                <thead><tr>
                                    <th scope="col" class="num">"LINE"</th><th scope="col">"INSTRUCTION"</th>
                                    <th scope="col">"MAKES"</th><th scope="col">"WHY"</th>
                                </tr></thead>
                                <tbody>
                                    {e.rows.into_iter().map(|r| view! {
                                        <tr data-line=r.line.to_string() data-effect=r.effect.label() class=format!("effect-{}", r.effect.label().replace(' ', "-"))>
                                            <td class="num">{if r.end_line > r.line { format!("{}–{}", r.line, r.end_line) } else { r.line.to_string() }}</td>
                                            <td class="cmd"><code>{r.text}</code></td>
                                            <td><span class="pill">{r.effect.label()}</span></td>
                                            <td>{r.why}</td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    }.into_any()
                }
            }}
        </section>
    }
}
