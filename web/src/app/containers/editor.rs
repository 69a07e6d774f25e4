//! The file editor of a container's page: load a file into it, save it (asking before it
//! replaces a file it did not load), delete a path, make a directory; all in the writable layer.

use super::super::net::{self, enc};
use super::super::widgets::Modal;
use super::super::Ctx;
use crate::run;
use crate::tree::View;
use leptos::prelude::*;

/// The editor's state and its requests. It lives as long as the page (the page's panels are
/// drawn again at each reload, the editor's path and text stay).
#[derive(Clone, Copy)]
pub(super) struct EditorState {
    /// The container's files, to know a path's mode and whether it exists.
    view: Signal<View>,
    path: RwSignal<String>,
    text: RwSignal<String>,
    /// The path whose content the editor holds (loaded from it).
    loaded_from: RwSignal<Option<String>>,
    /// The mode to save with (octal; empty: the file's, or 0644).
    mode: RwSignal<String>,
    /// A save waiting for the user to confirm an overwrite.
    confirm_overwrite: RwSignal<Option<String>>,
    /// The last outcome, and whether it is an error.
    note: RwSignal<Option<(String, bool)>>,
    /// Loads a path into the editor.
    read: Action<String, ()>,
    /// Writes the editor's text to a path, with a mode (`None`: the file's, or 0644).
    write: Action<(String, Option<String>), ()>,
    /// Deletes a path (a whiteout when a lower layer has it).
    delete: Action<String, ()>,
    /// Makes a directory.
    mkdir: Action<String, ()>,
}

impl EditorState {
    /// The editor of container `id`, whose files are `view`.
    pub(super) fn new(ctx: Ctx, id: String, view: Signal<View>) -> EditorState {
        let text = RwSignal::new(String::new());
        let loaded_from = RwSignal::new(None::<String>);
        let mode = RwSignal::new(String::new());
        let note = RwSignal::new(None::<(String, bool)>);
        let id = StoredValue::new(id);
        let url = move |verb: &str, p: &str| {
            format!(
                "/api/containers/{}/{verb}?path={}",
                enc(&id.get_value()),
                enc(p)
            )
        };
        let read = Action::new_local(move |p: &String| {
            let (p, url) = (p.clone(), url("files", p));
            async move {
                match net::get_text(&format!("cannot read {p}"), &url).await {
                    Ok(t) => {
                        text.set(t);
                        let m = view
                            .with_untracked(|v| v.get(p.trim_start_matches('/')).map(|v| v.mode));
                        mode.set(m.map(|m| format!("{:04o}", m & 0o7777)).unwrap_or_default());
                        loaded_from.set(Some(p.clone()));
                        note.set(Some((format!("Loaded {p}."), false)));
                    }
                    Err(e) => note.set(Some((e.to_string(), true))),
                }
            }
        });
        let write = Action::new_local(move |(p, m): &(String, Option<String>)| {
            let p = p.clone();
            let mut url = url("files", &p);
            if let Some(m) = m {
                url.push_str(&format!("&mode={m}"));
            }
            let body = text.get_untracked().into_bytes();
            async move {
                match net::put_bytes(&format!("cannot write {p}"), &url, body).await {
                    Ok(()) => {
                        loaded_from.set(Some(p.clone()));
                        note.set(Some((format!("Saved {p} into the writable layer."), false)))
                    }
                    Err(e) => note.set(Some((e.to_string(), true))),
                }
                ctx.refresh_soon();
            }
        });
        let delete = Action::new_local(move |p: &String| {
            let (p, url) = (p.clone(), url("files", p));
            async move {
                match net::send(&format!("cannot delete {p}"), "DELETE", &url, None).await {
                    Ok(_) => note.set(Some((format!("Deleted {p}: a lower copy is now hidden by a whiteout in the writable layer."), false))),
                    Err(e) => note.set(Some((e.to_string(), true))),
                }
                ctx.refresh_soon();
            }
        });
        let mkdir = Action::new_local(move |p: &String| {
            let (p, url) = (p.clone(), url("mkdir", p));
            async move {
                match net::send(&format!("cannot make directory {p}"), "POST", &url, None).await {
                    Ok(_) => note.set(Some((format!("Made directory {p}."), false))),
                    Err(e) => note.set(Some((e.to_string(), true))),
                }
                ctx.refresh_soon();
            }
        });
        EditorState {
            view,
            path: RwSignal::new(String::new()),
            text,
            loaded_from,
            mode,
            confirm_overwrite: RwSignal::new(None),
            note,
            read,
            write,
            delete,
            mkdir,
        }
    }

    /// Opens `p` (as the explorer names it) in the editor and scrolls to it.
    pub(super) fn open(self, p: String) {
        let shown = format!("/{}", p.trim_start_matches('/'));
        self.path.set(shown.clone());
        self.read.dispatch(shown);
        if let Some(el) = document().get_element_by_id("editor") {
            el.scroll_into_view();
        }
    }

    /// Writes the editor's text to `p`, with the mode typed.
    fn save_as(self, p: String) {
        match run::file_mode(&self.mode.get_untracked()) {
            Ok(m) => {
                self.write.dispatch((p, m));
            }
            Err(e) => self.note.set(Some((e, true))),
        }
    }

    /// Saves the path typed. Saving over an existing file whose content the editor did not
    /// load asks first: one click must not replace /etc/passwd with an empty text.
    fn save(self) {
        let p = self.path.get_untracked().trim().to_string();
        if p.is_empty() {
            return self.note.set(Some((
                "type a path to save, or load a file first".into(),
                true,
            )));
        }
        let p = format!("/{}", p.trim_start_matches('/'));
        let exists = self
            .view
            .with_untracked(|v| v.get(p.trim_start_matches('/')).is_some());
        if exists && self.loaded_from.get_untracked().as_deref() != Some(p.as_str()) {
            self.confirm_overwrite.set(Some(p));
            return;
        }
        self.save_as(p);
    }
}

/// The editor's form.
#[component]
pub(super) fn Editor(editor: EditorState) -> impl IntoView {
    let EditorState {
        path,
        text,
        mode,
        note,
        ..
    } = editor;
    view! {
        <h2 id="editor">"Edit files"</h2>
        <form class="editor" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); editor.save(); } aria-labelledby="editor">
            <label for="edit-path">"Path"</label>
            <div class="row">
                <input id="edit-path" type="text" spellcheck="false" autocomplete="off" placeholder="/etc/motd"
                    prop:value=move || path.get() on:input=move |ev| path.set(event_target_value(&ev))/>
                <button type="button" on:click=move |_| { editor.read.dispatch(path.get_untracked()); }>"Load"</button>
            </div>
            <label for="edit-text">"Content"</label>
            <textarea id="edit-text" rows="8" spellcheck="false"
                prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            <label for="edit-mode">"Mode (octal; empty keeps the file's, or 0644 for a new one)"</label>
            <input id="edit-mode" type="text" class="short" spellcheck="false" autocomplete="off" placeholder="0755"
                prop:value=move || mode.get() on:input=move |ev| mode.set(event_target_value(&ev))/>
            <p class="help">"Saving a file a lower layer provides copies it up into the writable layer first; deleting one leaves a whiteout there. The image layers never change."</p>
            <div class="row">
                <button type="submit" class="primary">"Save file"</button>
                <button type="button" on:click=move |_| { editor.mkdir.dispatch(path.get_untracked()); }>"Make directory"</button>
                <button type="button" class="danger" on:click=move |_| { editor.delete.dispatch(path.get_untracked()); }>"Delete path"</button>
            </div>
            {move || note.get().map(|(t, err)| view! { <p class=if err { "error" } else { "status ok" } role="status">{t}</p> })}
        </form>
    }
}

/// The question before a save replaces a file the editor did not load.
#[component]
pub(super) fn OverwriteDialog(editor: EditorState) -> impl IntoView {
    let EditorState {
        confirm_overwrite,
        text,
        ..
    } = editor;
    move || {
        confirm_overwrite.get().map(|p| {
            let p2 = p.clone();
            view! {
            <Modal title="Overwrite this file?" on_close=Callback::new(move |_| confirm_overwrite.set(None))>
                <p>{format!("{p} exists and the editor's content was not loaded from it: saving replaces the whole file with the {} byte(s) in the editor. Load it first to edit it.", text.get_untracked().len())}</p>
                <div class="dialog-actions">
                    <button type="button" on:click=move |_| confirm_overwrite.set(None) autofocus>"Cancel"</button>
                    <button type="button" class="danger" id="overwrite-confirm" on:click=move |_| { confirm_overwrite.set(None); editor.save_as(p2.clone()); }>"Overwrite"</button>
                </div>
            </Modal>
        }
        })
    }
}
