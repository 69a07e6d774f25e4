//! One container's page: what it is and how it runs, its terminal, its layer stack with the
//! writable layer on top (copy-ups and whiteouts appear as they happen, while a process runs
//! too), the editor, commit, logs, processes and files; export and remove.

use super::super::explorer::Explorer;
use super::super::net::{self, enc};
use super::super::terminal::{TermMode, Terminal};
use super::super::widgets::{ErrorBox, Loading, Modal, StackDiagram};
use super::super::{Ctx, Link, Load};
use super::commit::{CommitForm, CommitState};
use super::editor::{Editor, EditorState, OverwriteDialog};
use super::heading::{ContainerHeading, Term};
use super::logs::Logs;
use super::ticking_now;
use super::top::Top;
use crate::error::ApiError;
use crate::route::Route;
use crate::run;
use crate::stack::{self, Upper};
use crate::tree::View;
use crate::wire::{ContainerDto, ImageDetailDto, LayerMarkDto, TreeDto};
use leptos::prelude::*;
use std::collections::BTreeSet;

#[derive(Clone, Debug, PartialEq)]
struct Loaded {
    container: ContainerDto,
    image: ImageDetailDto,
    view: View,
}

/// Why the container page could not load: the error, and whether it means the container is
/// gone (its own request or its tree's answered not found; its image's does not say so).
#[derive(Clone, Debug, PartialEq)]
struct LoadError {
    error: ApiError,
    gone: bool,
}

impl LoadError {
    fn of_container(error: ApiError) -> LoadError {
        let gone = error.is_not_found();
        LoadError { error, gone }
    }

    fn of_image(error: ApiError) -> LoadError {
        LoadError { error, gone: false }
    }
}

async fn load_all(id: &str) -> Result<Loaded, LoadError> {
    let container: ContainerDto = net::get_json(
        "cannot read the container",
        &format!("/api/containers/{}", enc(id)),
    )
    .await
    .map_err(LoadError::of_container)?;
    let image: ImageDetailDto = net::get_json(
        "cannot read the container's image",
        &format!("/api/images/{}", enc(&container.image)),
    )
    .await
    .map_err(LoadError::of_image)?;
    let tree: TreeDto = net::get_json(
        "cannot read the container's files",
        &format!("/api/containers/{}/tree", enc(id)),
    )
    .await
    .map_err(LoadError::of_container)?;
    // the explorer names each image layer by what made it, as the stack diagram does
    let mut view = View::from_dto(&tree);
    view.name_layers(&stack::layer_names(&image));
    Ok(Loaded {
        container,
        image,
        view,
    })
}

/// `/ui/containers/<id>`: the container's heading and terminal, its layers with the editor and
/// commit, logs, processes and files, and the remove dialog.
#[component]
pub fn ContainerPage(id: String) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let page = load_and_watch(ctx, id.clone());
    let Page {
        loaded,
        state,
        gone,
        fresh,
    } = page;
    let reload = move || page.reload();
    let now = ticking_now();

    // the terminal: opened by a button, or at once after the Run dialog
    let term = Term::new();
    if ctx.attach_next.get_untracked().as_deref() == Some(id.as_str()) {
        ctx.attach_next.set(None);
        term.start(TermMode::Attach);
    }
    let term_ended = Callback::new(move |_code: Option<i32>| {
        reload();
        ctx.refresh_soon();
    });

    let confirm_rm = RwSignal::new(false);
    let view_sig = Signal::derive(move || match state.get() {
        Load::Ready(l) => l.view,
        _ => View::default(),
    });
    let editor = EditorState::new(ctx, id.clone(), view_sig);
    let open_in_editor = Callback::new(move |p: String| editor.open(p));
    let (show_content, loaded_content) =
        super::super::explorer::content_loader(format!("/api/containers/{}/files", enc(&id)));
    let commit_form = CommitState::new();
    let ready = Memo::new(move |_| matches!(state.get(), Load::Ready(_)));
    let export = format!("/containers/{}/export", enc(&id));
    let id_short = docker_format::truncate_id(&id);
    let (id_term, id_logs, id_top) = (id.clone(), id.clone(), id.clone());

    view! {
        <section class="page" aria-labelledby="container-title">
            <nav class="crumbs" aria-label="Breadcrumb">
                <Link href=Route::Containers.href()>"Containers"</Link>" › "
                <span aria-current="page">{id_short.clone()}</span>
            </nav>
            // the first load shows the fallback; a reload keeps the page as it is until its answer
            <Transition fallback=|| view! { <Loading what="Loading the container…"/> }>
            {move || {
                // an untracked read registers the load with the Transition; what is drawn
                // follows `state`, which moves only when the answer differs
                loaded.with_untracked(|_| ());
                match state.get() {
                Load::Loading => ().into_any(),
                Load::Failed(e) if gone.get() => view! {
                    <div class="empty" role="alert"><p><strong>"This container is gone."</strong></p><p class="muted">{e.to_string()}</p>
                    <p><Link href=Route::Containers.href()>"Back to the containers"</Link></p></div>
                }.into_any(),
                Load::Failed(e) => view! { <ErrorBox message=e retry=Callback::new(move |_| reload())/> }.into_any(),
                Load::Ready(l) => view! {
                    <ContainerHeading c=l.container now=now export=export.clone() term=term confirm_rm=confirm_rm/>
                }.into_any(),
            }}}
            </Transition>
            <div id="terminal-slot">
            {move || term.open.get().map(|(_, mode)| view! {
                <Terminal id=id_term.clone() mode=mode on_end=term_ended/>
            })}
            </div>
            {move || match state.get() {
                Load::Ready(l) => view! { <LayersAndEditor l=l fresh=fresh editor=editor commit_form=commit_form/> }.into_any(),
                _ => ().into_any(),
            }}
            {move || ready.get().then(|| view! { <Logs id=id_logs.clone() state=Signal::derive(move || match state.get() { Load::Ready(l) => l.container.state, _ => String::new() })/> })}
            {move || ready.get().then(|| view! { <Top id=id_top.clone()/> })}
            <h2>"Files (image layers + writable layer)"</h2>
            {move || ready.get().then(|| view! {
                <Explorer view=view_sig on_open=open_in_editor content=show_content loaded=loaded_content/>
            })}
            <OverwriteDialog editor=editor/>
            <RemoveContainer id=id confirm=confirm_rm/>
        </section>
    }
}

/// The page's data as loaded: the load itself, what it gave, whether the container is gone,
/// and the paths the last load added to the writable layer.
#[derive(Clone, Copy)]
struct Page {
    loaded: LocalResource<Result<Loaded, LoadError>>,
    state: Memo<Load<Loaded>>,
    gone: Memo<bool>,
    fresh: Memo<BTreeSet<String>>,
}

impl Page {
    fn reload(self) {
        self.loaded.refetch();
    }
}

/// Loads the container, its image and its files, again after store events (the revision) and
/// when the writable layer's mark moves while a process runs.
fn load_and_watch(ctx: Ctx, id: String) -> Page {
    // the container, its image and its files: fetched again after store events (the
    // revision) and when the writable layer's mark moves (a refetch)
    let loaded = LocalResource::new({
        let id = id.clone();
        move || {
            ctx.revision.track();
            let id = id.clone();
            async move { load_all(&id).await }
        }
    });
    // an answer equal to the one shown changes nothing (the page keeps its DOM and the focus)
    let state = Memo::new(move |_| match loaded.get() {
        None => Load::Loading,
        Some(Ok(l)) => Load::Ready(l),
        Some(Err(e)) => Load::Failed(e.error),
    });
    let gone = Memo::new(move |_| matches!(loaded.get(), Some(Err(LoadError { gone: true, .. }))));
    // the paths the last load added to the writable layer, for the stack diagram
    let last_changes = StoredValue::new(None::<Vec<Upper>>);
    let fresh = Memo::new(move |_| {
        state.with(|s| match s {
            Load::Ready(l) => {
                let now = stack::upper_changes(&l.view);
                let fresh = last_changes
                    .get_value()
                    .map(|before| stack::fresh(&before, &now))
                    .unwrap_or_default();
                last_changes.set_value(Some(now));
                fresh
            }
            _ => BTreeSet::new(),
        })
    });
    let reload = move || loaded.refetch();

    // A running process changes the writable layer without any store event: ask for the
    // layer's mark every second while it runs and reload when it moves.
    let last_mark = StoredValue::new(None::<(u64, String)>);
    let check_mark = Action::new_local(move |_: &()| {
        let url = format!("/api/containers/{}/mark", enc(&id));
        async move {
            if let Ok(m) = net::get_json::<LayerMarkDto>("mark", &url).await {
                let now = (m.mark, m.state.clone());
                let before = last_mark.get_value();
                last_mark.set_value(Some(now.clone()));
                if before.as_ref().is_some_and(|b| *b != now) {
                    reload();
                    if before.as_ref().is_some_and(|b| b.1 != m.state) {
                        ctx.refresh_soon();
                    }
                }
            }
        }
    });
    let handle = set_interval_with_handle(
        move || {
            let running = state.with_untracked(
                |s| matches!(s, Load::Ready(l) if run::has_process(&l.container.state)),
            );
            if running {
                check_mark.dispatch(());
            }
        },
        std::time::Duration::from_millis(700),
    );
    if let Ok(h) = handle {
        on_cleanup(move || h.clear());
    }
    Page {
        loaded,
        state,
        gone,
        fresh,
    }
}

/// The container's image, its layer stack with the writable layer on top (the paths the last
/// load added marked), the editor and the commit form.
#[component]
fn LayersAndEditor(
    l: Loaded,
    fresh: Memo<BTreeSet<String>>,
    editor: EditorState,
    commit_form: CommitState,
) -> impl IntoView {
    let st = stack::build(
        &l.image,
        Some((&l.container.name, l.container.size_rw, &l.view)),
    );
    let image_href = Route::Image(l.image.id.clone()).href();
    view! {
        <p class="facts">"From image "<Link href=image_href>{
            if l.container.image_name.starts_with("sha256:") {
                l.image.repo_tags.first().cloned().unwrap_or_else(|| docker_format::truncate_id(&l.image.id))
            } else {
                l.container.image_name.clone()
            }
        }</Link>
            {format!(" · writable layer {} · created {}", docker_format::human_size(l.container.size_rw), l.container.created)}</p>
        <div class="columns">
            <div>
                <h2>"Layer stack"</h2>
                <StackDiagram stack=st fresh=fresh.get_untracked()/>
            </div>
            <div>
                <Editor editor=editor/>
                <CommitForm id=l.container.id.clone() form=commit_form/>
            </div>
        </div>
    }
}

/// The remove dialog, opened by the heading's Remove…: removing deletes the writable layer,
/// then the page goes back to the list.
#[component]
fn RemoveContainer(id: String, confirm: RwSignal<bool>) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let remove = Action::new_local(move |_: &()| {
        let id = id.clone();
        async move {
            match net::send(
                "cannot remove the container",
                "DELETE",
                &format!("/api/containers/{}", enc(&id)),
                None,
            )
            .await
            {
                Ok(_) => {
                    ctx.toast("Removed the container and its writable layer.", false);
                    ctx.navigate(&Route::Containers.href());
                }
                Err(e) => ctx.toast(e, true),
            }
        }
    });
    view! {
        {move || confirm.get().then(|| view! {
            <Modal title="Remove this container" on_close=Callback::new(move |_| confirm.set(false))>
                <p>"Removing the container deletes its writable layer and every change in it. The image and its layers stay."</p>
                <div class="dialog-actions">
                    <button type="button" on:click=move |_| confirm.set(false) autofocus>"Cancel"</button>
                    <button type="button" class="danger" on:click=move |_| { confirm.set(false); remove.dispatch(()); }>"Remove container"</button>
                </div>
            </Modal>
        })}
    }
}
