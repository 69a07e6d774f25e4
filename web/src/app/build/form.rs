//! The build form: the Dockerfile, the context files written here and the uploaded context
//! tar, the tag, `--no-cache` and Build.

use super::super::widgets::ErrorBox;
use super::{Inputs, ReadUpload};
use crate::build::ContextFile;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// The build form: what is built and how it is tagged; submitting it starts the build.
#[component]
pub(super) fn BuildForm(
    inputs: Inputs,
    read_upload: ReadUpload,
    /// A build is running (Build is disabled).
    building: Memo<bool>,
    on_submit: Callback<leptos::ev::SubmitEvent>,
) -> impl IntoView {
    let Inputs {
        dockerfile,
        tag,
        no_cache,
        ..
    } = inputs;
    view! {
        <form class="build-form" on:submit=move |ev| on_submit.run(ev) aria-label="Build">
            <label for="build-dockerfile">"Dockerfile"</label>
            <textarea id="build-dockerfile" rows="10" spellcheck="false"
                prop:value=move || dockerfile.get()
                on:input=move |ev| dockerfile.set(event_target_value(&ev))
                on:change=move |ev| dockerfile.set(event_target_value(&ev))></textarea>
            <ContextFiles inputs=inputs read_upload=read_upload/>
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
    }
}

/// The context: files written here (name, content, remove; add one) and an uploaded tar.
#[component]
fn ContextFiles(inputs: Inputs, read_upload: ReadUpload) -> impl IntoView {
    let Inputs {
        files, next_file, ..
    } = inputs;
    view! {
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
    }
}
