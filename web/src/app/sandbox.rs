//! The teaching sandbox (`/ui/sandbox`): build a small layer stack by hand and watch the merged
//! view, whiteouts and copy-up update. Everything runs in the browser on `layer-diff` and
//! `layer-union`; no server call.

use super::explorer::Explorer;
use super::widgets::ErrorBox;
use crate::sandbox::{Note, Sandbox};
use crate::tree::View;
use layer_diff::{Content, EntryKind};
use leptos::prelude::*;

/// The sandbox: the layer stack by hand, or a Dockerfile explained (`super::build`).
#[component]
pub fn SandboxPage() -> impl IntoView {
    let dockerfile = RwSignal::new(false);
    view! {
        <div class="modes" role="group" aria-label="Sandbox mode">
            <button type="button" id="sb-mode-layers" aria-pressed=move || (!dockerfile.get()).to_string() on:click=move |_| dockerfile.set(false)>"Layers"</button>
            <button type="button" id="sb-mode-dockerfile" aria-pressed=move || dockerfile.get().to_string() on:click=move |_| dockerfile.set(true)>"Dockerfile"</button>
        </div>
        {move || if dockerfile.get() { view! { <super::build::DockerfileSandbox/> }.into_any() } else { view! { <LayerSandbox/> }.into_any() }}
    }
}

#[component]
fn LayerSandbox() -> impl IntoView {
    let sb = RwSignal::new(Sandbox::seed());
    let notes = RwSignal::new(vec![
        "layer 2: its whiteout .wh.motd hides /etc/motd of layer 1 (select /etc/motd in the tree)"
            .to_string(),
    ]);
    let error = RwSignal::new(None::<String>);
    let target = RwSignal::new(1usize);
    let path = RwSignal::new(String::from("/etc/passwd"));
    let content = RwSignal::new(String::new());
    let fixture = RwSignal::new(String::new());

    let view_sig = Signal::derive(move || sb.with(|s| View::from_union(&s.union(), s.labels())));

    let apply = move |r: Result<Note, String>| match r {
        Ok(n) => {
            error.set(None);
            notes.update(|l| l.insert(0, n.text()));
        }
        Err(e) => error.set(Some(e)),
    };
    let top = move || sb.with(|s| s.layers.len().saturating_sub(1));
    let clamp = move || {
        let t = top();
        if target.get_untracked() > t {
            target.set(t);
        }
    };

    let write = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut s = sb.get_untracked();
        let r = s.write(
            target.get_untracked(),
            &path.get_untracked(),
            &content.get_untracked(),
        );
        if r.is_ok() {
            sb.set(s);
        }
        apply(r);
    };
    let op = move |f: fn(&mut Sandbox, usize, &str) -> Result<Note, String>| {
        move |_| {
            let mut s = sb.get_untracked();
            let r = f(&mut s, target.get_untracked(), &path.get_untracked());
            if r.is_ok() {
                sb.set(s);
            }
            apply(r);
        }
    };
    let load_lower = move |_| {
        let t = target.get_untracked();
        match sb.with_untracked(|s| s.read(t, &path.get_untracked())) {
            Some(text) => {
                content.set(text);
                error.set(None);
            }
            None => error.set(Some(format!(
                "{} is not a file with text content as layer {} sees it",
                path.get_untracked(),
                t + 1
            ))),
        }
    };
    let open = Callback::new(move |p: String| {
        let shown = format!("/{}", p.trim_start_matches('/'));
        path.set(shown.clone());
        let t = target.get_untracked();
        if let Some(text) = sb.with_untracked(|s| s.read(t, &shown)) {
            content.set(text);
        }
    });

    view! {
        <section class="page sandbox" aria-labelledby="sandbox-title">
            <h1 id="sandbox-title">"Layer sandbox"</h1>
            <p class="help">"A stack of layers you build by hand, merged in your browser exactly as the store merges real images. Layer 2 already deletes /etc/motd: its whiteout hides the copy layer 1 still holds. Add a writable layer to play the container: editing a lower file copies it up, deleting one leaves a whiteout, commit freezes it into a new layer."</p>
            <div class="columns">
                <div>
                    <h2>"The stack"</h2>
                    <div class="row wrap">
                        <button type="button" on:click=move |_| { let mut s = sb.get_untracked(); let n = s.add_layer(""); target.set(n.layer()); sb.set(s); apply(Ok(n)); }>"Add a layer"</button>
                        <button type="button" disabled=move || sb.with(|s| s.has_writable())
                            on:click=move |_| { let mut s = sb.get_untracked(); let r = s.add_writable(); if r.is_ok() { target.set(s.layers.len() - 1); sb.set(s); } apply(r); }>"Add a writable layer (container)"</button>
                        <button type="button" disabled=move || !sb.with(|s| s.has_writable())
                            on:click=move |_| { let mut s = sb.get_untracked(); let r = s.commit("commit"); if r.is_ok() { sb.set(s); } apply(r); }>"Commit the writable layer"</button>
                        <button type="button" on:click=move |_| { let mut s = sb.get_untracked(); let r = s.remove_top(); if r.is_ok() { sb.set(s); clamp(); } apply(r); }>"Remove the top layer"</button>
                        <button type="button" class="ghost" on:click=move |_| { sb.set(Sandbox::seed()); target.set(1); notes.set(vec!["reset to the example stack".into()]); error.set(None); }>"Reset"</button>
                    </div>
                    <ol class="sheets" aria-label="Layers, top first">
                        {move || {
                            let s = sb.get();
                            s.layers.into_iter().enumerate().rev().map(|(i, l)| {
                                let entries = l.changes.entries.clone();
                                let count = entries.len();
                                view! {
                                    <li class=format!("sheet c{}", i % 8) class:writable=l.writable class:target=move || target.get() == i data-layer=i.to_string()>
                                        <div class="sheet-head">
                                            <label>
                                                <input type="radio" name="sandbox-target" prop:checked=move || target.get() == i on:change=move |_| target.set(i)/>
                                                <strong>{format!("Layer {}{}", i + 1, if l.writable { " (writable)" } else if i == 0 { " (base)" } else { "" })}</strong>
                                            </label>
                                            <span class="muted">{l.title.clone()}</span>
                                        </div>
                                        {if count == 0 {
                                            view! { <p class="muted">"empty"</p> }.into_any()
                                        } else {
                                            view! {
                                                <ul class="entries">
                                                    {entries.into_iter().filter(|e| !e.path.is_empty()).map(|e| {
                                                        let (class, text) = match &e.kind {
                                                            EntryKind::Whiteout => ("whiteout", {
                                                                let (dir, name) = e.path.rsplit_once('/').map_or((String::new(), e.path.clone()), |(d, n)| (format!("{d}/"), n.to_string()));
                                                                format!("/{dir}.wh.{name}  (whiteout: hides /{} below)", e.path)
                                                            }),
                                                            EntryKind::Opaque => ("opaque", format!("/{}/.wh..wh..opq  (opaque: hides everything below in /{}/)", e.path, e.path)),
                                                            EntryKind::Dir => ("dir", format!("/{}/", e.path)),
                                                            EntryKind::Symlink { target } => ("link", format!("/{} → {target}", e.path)),
                                                            EntryKind::File { size, content } => ("file", match content {
                                                                Content::Inline(b) if b.len() <= 40 => format!("/{}  {:?}", e.path, String::from_utf8_lossy(b)),
                                                                _ => format!("/{}  ({})", e.path, docker_format::human_size(*size)),
                                                            }),
                                                            other => ("file", format!("/{} {}", e.path, other.name())),
                                                        };
                                                        view! { <li class=class>{text}</li> }
                                                    }).collect_view()}
                                                </ul>
                                            }.into_any()
                                        }}
                                    </li>
                                }
                            }).collect_view()
                        }}
                    </ol>
                    <p class="help">{move || format!("{} layers; edits go to the selected layer.", top() + 1)}</p>
                </div>
                <div>
                    <h2>"Change a layer"</h2>
                    <form class="editor" on:submit=write aria-label="Change the selected layer">
                        <label for="sb-layer">"Layer"</label>
                        <select id="sb-layer" on:change=move |ev| target.set(event_target_value(&ev).parse().unwrap_or(0))
                            prop:value=move || target.get().to_string()>
                            {move || sb.with(|s| s.layers.iter().enumerate().map(|(i, l)| view! {
                                <option value=i.to_string() selected=move || target.get() == i>{format!("layer {}{}", i + 1, if l.writable { " (writable)" } else { "" })}</option>
                            }).collect_view())}
                        </select>
                        <label for="sb-path">"Path"</label>
                        <div class="row">
                            <input id="sb-path" type="text" spellcheck="false" autocomplete="off" prop:value=move || path.get()
                                on:input=move |ev| path.set(event_target_value(&ev))/>
                            <button type="button" on:click=load_lower title="fill the editor with the file as this layer sees it">"Load"</button>
                        </div>
                        <label for="sb-content">"Content"</label>
                        <textarea id="sb-content" rows="5" spellcheck="false" prop:value=move || content.get()
                            on:input=move |ev| content.set(event_target_value(&ev))></textarea>
                        <div class="row wrap">
                            <button type="submit" class="primary">"Write file"</button>
                            <button type="button" on:click=op(Sandbox::mkdir)>"Make directory"</button>
                            <button type="button" class="danger" on:click=op(Sandbox::delete)>"Delete (whiteout)"</button>
                            <button type="button" on:click=op(Sandbox::opaque)>"Make directory opaque"</button>
                            <button type="button" on:click=move |_| {
                                let mut s = sb.get_untracked();
                                let (t, p) = (target.get_untracked(), path.get_untracked());
                                match s.restore(t, &p) {
                                    Ok(()) => { sb.set(s); error.set(None); notes.update(|l| l.insert(0, format!("layer {}: removed its marker on {p}; the lower version shows again", t + 1))); }
                                    Err(e) => error.set(Some(e)),
                                }
                            }>"Undo whiteout"</button>
                        </div>
                    </form>
                    {move || error.get().map(|e| view! { <ErrorBox message=e/> })}
                    <h2>"What happened"</h2>
                    <ol class="log" aria-live="polite">
                        {move || notes.get().into_iter().take(12).map(|n| view! { <li>{n}</li> }).collect_view()}
                    </ol>
                    <details>
                        <summary>"The stack as text (fixture format)"</summary>
                        <textarea rows="12" spellcheck="false" aria-label="stack as text"
                            prop:value=move || { let t = fixture.get(); if t.is_empty() { sb.with(|s| s.to_fixture()) } else { t } }
                            on:input=move |ev| fixture.set(event_target_value(&ev))></textarea>
                        <button type="button" on:click=move |_| {
                            let text = fixture.get_untracked();
                            if text.is_empty() { return; }
                            match Sandbox::from_fixture(&text) {
                                Ok(s) => { sb.set(s); fixture.set(String::new()); clamp(); notes.update(|l| l.insert(0, "loaded the stack from text".into())); error.set(None); }
                                Err(e) => error.set(Some(e)),
                            }
                        }>"Load this text"</button>
                    </details>
                </div>
            </div>
            <h2>"Merged view"</h2>
            <Explorer view=view_sig on_open=open initial="etc/motd"/>
        </section>
    }
}
