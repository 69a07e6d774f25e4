//! Builds in the browser: the Build page (`/ui/build`: a Dockerfile, extra context files and/or
//! an uploaded context tar, a tag, `--no-cache`; the classic builder's log streamed live, each
//! step marked when it came from the cache, a link to the image), the image page's
//! instruction ↔ layer table from history, and the sandbox's Dockerfile mode (the file
//! explained with the `dockerfile` crate, nothing run). What they show is computed by the
//! native-tested `crate::build` and `crate::explain`.

mod form;
mod outcome;

use super::net::{self, enc};
use super::Ctx;
use crate::build::{context_tar, instruction_rows, log_steps, BuildRun, ContextFile};
use crate::error::ApiError;
use crate::explain::{error_text, explain};
use crate::wire::ImageDetailDto;
use form::BuildForm;
use leptos::prelude::*;
use outcome::{BuildEvents, BuildOutcome, BuildSteps};
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

/// What the build form edits: the Dockerfile, the context files written here, the tag and
/// `--no-cache`.
#[derive(Clone, Copy)]
struct Inputs {
    dockerfile: RwSignal<String>,
    /// Each file with a key for the list.
    files: RwSignal<Vec<(u32, ContextFile)>>,
    next_file: StoredValue<u32>,
    tag: RwSignal<String>,
    no_cache: RwSignal<bool>,
}

impl Inputs {
    /// The example Dockerfile and its file, tagged `built:latest`.
    fn new() -> Inputs {
        Inputs {
            dockerfile: RwSignal::new(EXAMPLE.to_string()),
            files: RwSignal::new(vec![(
                0u32,
                ContextFile {
                    name: "app.sh".into(),
                    content: EXAMPLE_FILE.into(),
                },
            )]),
            next_file: StoredValue::new(1u32),
            tag: RwSignal::new(String::from("built:latest")),
            no_cache: RwSignal::new(false),
        }
    }
}

/// What a build left to show: why nothing was sent, the streamed run, and the store's events.
#[derive(Clone, Copy)]
struct Outcome {
    problems: RwSignal<Vec<String>>,
    run: RwSignal<BuildRun>,
    /// The store's events since the last build started (its containers, its images, the
    /// tag), as the live event stream delivers them to every page.
    events: RwSignal<Vec<String>>,
    watching: RwSignal<bool>,
}

/// Reads an uploaded context tar: user-triggered, one file.
type ReadUpload = Action<web_sys::HtmlInputElement, Result<Option<Upload>, String>>;

/// `/ui/build`: the build form, what the build did (steps, cache hits, events, log) and the
/// image it made.
#[component]
pub fn BuildPage() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let inputs = Inputs::new();
    let out = Outcome {
        problems: RwSignal::new(Vec::new()),
        run: RwSignal::new(BuildRun::default()),
        events: RwSignal::new(Vec::new()),
        watching: RwSignal::new(false),
    };
    Effect::new(move |_| {
        if let Some(e) = ctx.last_event.get() {
            if out.watching.get_untracked() {
                out.events.update(|l| l.push(e));
            }
        }
    });

    // reading an upload: user-triggered, one file
    let read_upload: ReadUpload = Action::new_local(|input: &web_sys::HtmlInputElement| {
        let input = input.clone();
        read_file(input)
    });
    let upload = Signal::derive(move || {
        read_upload
            .value()
            .get()
            .and_then(|r: Result<Option<Upload>, String>| r.ok().flatten())
    });

    let build = build_action(ctx, out.run);
    let building = build.pending();
    let start = Callback::new(submit(inputs, out, upload, build));
    let run = out.run;
    let steps = Memo::new(move |_| run.with(|r| log_steps(&r.log)));

    view! {
        <section class="page build" aria-labelledby="build-title">
            <h1 id="build-title">"Build an image"</h1>
            <p class="help">"A Dockerfile built by the store's classic builder, as "<code>"docker build"</code>" does: each RUN, COPY and ADD makes a layer, every other instruction changes only the config. A step whose parent and instruction match an earlier build's comes from the cache."</p>
            <BuildForm inputs=inputs read_upload=read_upload building=building on_submit=start/>
            <BuildOutcome out=out action=build building=building steps=steps/>
            <BuildSteps steps=steps/>
            <BuildEvents events=out.events/>
            <h2>"Log"</h2>
            <pre id="build-log" class="raw" tabindex="0" aria-live="polite" aria-label="build output">{move || run.with(|r| r.log.clone())}</pre>
        </section>
    }
}

/// A build: the request streams its answer into `run` as it comes; the action ends with it.
fn build_action(ctx: Ctx, run: RwSignal<BuildRun>) -> Action<BuildRequest, Result<(), ApiError>> {
    Action::new_local(move |req: &BuildRequest| {
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
    })
}

/// The form's submit: a Dockerfile written here is checked before anything is sent, then the
/// context tar is made and the build dispatched.
fn submit(
    inputs: Inputs,
    out: Outcome,
    upload: Signal<Option<Upload>>,
    build: Action<BuildRequest, Result<(), ApiError>>,
) -> impl Fn(leptos::ev::SubmitEvent) + Send + Sync + 'static {
    let Inputs {
        dockerfile,
        files,
        tag,
        no_cache,
        ..
    } = inputs;
    let Outcome {
        problems,
        run,
        events,
        watching,
    } = out;
    move |ev: leptos::ev::SubmitEvent| {
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
