//! The union explorer: the merged tree coloured by providing layer, "this layer only" vs
//! merged, A/M/R markers, the versions a selected path shadows and the whiteouts and opaque
//! markers bearing on it, and dive's wasted space and efficiency score. Used by the image files
//! page, the container page and the sandbox.

mod controls;
mod detail;
mod rows;

use super::net::{self, enc};
use super::widgets::{ErrorBox, Loading};
use super::Link;
use crate::error::ApiError;
use crate::route::Route;
use crate::tree::{self, Mode, View};
use crate::wire::{ImageDetailDto, TreeDto};
use controls::ExplorerControls;
use detail::{path_detail, Efficiency};
use leptos::prelude::*;
use rows::{tree_keys, tree_rows};
use std::collections::BTreeSet;

/// A path and the layer whose view of it to read (`None`: the merged view).
pub type FileAt = (String, Option<usize>);

/// A file's content as loaded for a [`FileAt`]: the preview text, or what went wrong.
pub type Loaded = (FileAt, Result<String, ApiError>);

/// Bytes of a file loaded for the detail panel; more are cut (see [`crate::preview`]).
const PREVIEW_LIMIT: usize = 64 * 1024;

/// A `content` callback reading files from `base` (`/api/images/{name}/files` or
/// `/api/containers/{id}/files`), and the last file it read, for [`Explorer`]'s `loaded`.
/// Each click is a request (an action): the panel shows the answer to the latest one.
pub fn content_loader(base: String) -> (Callback<FileAt, ()>, Signal<Option<Loaded>>) {
    let read = Action::new_local(move |(p, layer): &FileAt| {
        let (p, layer) = (p.clone(), *layer);
        let shown = format!("/{}", p.trim_start_matches('/'));
        let mut url = format!("{base}?path={}", enc(&shown));
        if let Some(n) = layer {
            url.push_str(&format!("&layer={n}"));
        }
        async move {
            let r = net::get_bytes(&format!("cannot read {shown}"), &url)
                .await
                .map(|b| crate::preview::preview(&b, PREVIEW_LIMIT));
            ((p, layer), r)
        }
    });
    let loaded = read.value();
    (
        Callback::new(move |at: FileAt| {
            read.dispatch(at);
        }),
        Signal::derive(move || loaded.get()),
    )
}

/// The state the explorer's parts share: the view and how it is shown.
#[derive(Clone, Copy)]
struct Shown {
    view: Signal<View>,
    mode: RwSignal<Mode>,
    folded: RwSignal<BTreeSet<String>>,
    search: RwSignal<String>,
    show_removed: RwSignal<bool>,
    selected: RwSignal<Option<String>>,
    /// The tree's rows for the view, mode, folds and filter.
    rows: Memo<Vec<tree::Row>>,
}

/// The explorer over a view that may change (a container being edited, the sandbox).
#[component]
pub fn Explorer(
    view: Signal<View>,
    /// Called with a path to open it in an editor (containers, sandbox).
    #[prop(optional)]
    on_open: Option<Callback<String>>,
    /// Loads a file's content as a layer shows it (`None`: the merged view); see
    /// [`content_loader`].
    #[prop(optional)]
    content: Option<Callback<FileAt, ()>>,
    /// The text loaded by `content`, for the path and layer it was loaded for.
    #[prop(optional)]
    loaded: Option<Signal<Option<Loaded>>>,
    /// Start on this path.
    #[prop(optional, into)]
    initial: Option<String>,
    /// Start in this mode (one layer, merged up to a layer) rather than the merged view.
    #[prop(optional)]
    start: Option<Mode>,
) -> impl IntoView {
    let mode = RwSignal::new(start.unwrap_or(Mode::Merged));
    let folded = RwSignal::new(BTreeSet::<String>::new());
    let search = RwSignal::new(String::new());
    let show_removed = RwSignal::new(true);
    let selected = RwSignal::new(initial);
    let tree_id = format!("tree-{}", (js_sys::Math::random() * 1e9) as u64);

    let rows = Memo::new(move |_| {
        view.with(|v| {
            folded.with(|f| search.with(|s| tree::rows(v, mode.get(), f, s, show_removed.get())))
        })
    });
    let s = Shown {
        view,
        mode,
        folded,
        search,
        show_removed,
        selected,
        rows,
    };
    let on_key = tree_keys(s, tree_id.clone());
    let tree_id_el = tree_id.clone();

    view! {
        <div class="explorer">
            <ExplorerControls s=s tree_id=tree_id/>
            <div class="explorer-main">
                <div class="tree" id=tree_id_el role="tree" aria-label="Files" on:keydown=on_key>
                    {move || tree_rows(s)}
                </div>
                <aside class="detail" aria-live="polite" aria-label="Selected path">
                    {move || match selected.get() {
                        None => view! { <p class="muted">"Select a path to see which layer provides it, the versions it hides and the whiteouts that bear on it."</p> }.into_any(),
                        Some(p) => path_detail(view, p, content, loaded, on_open),
                    }}
                    <Efficiency view=view/>
                </aside>
            </div>
        </div>
    }
}

/// `/ui/images/<id>/files`: the union explorer of one image.
#[component]
pub fn ImageFilesPage(id: String) -> impl IntoView {
    let tree = LocalResource::new({
        let id = id.clone();
        move || {
            let url = format!("/api/images/{}/tree", enc(&id));
            let detail = format!("/api/images/{}", enc(&id));
            async move {
                let mut view = net::get_json::<TreeDto>("cannot read the image's files", &url)
                    .await
                    .map(|t| View::from_dto(&t))?;
                // each layer named by what made it, as on the image's page; without the
                // image's history the layers keep their numbers
                if let Ok(image) = net::get_json::<ImageDetailDto>("image", &detail).await {
                    view.name_layers(&crate::stack::layer_names(&image));
                }
                Ok::<_, ApiError>(view)
            }
        }
    });
    let view_sig = Signal::derive(move || match tree.get() {
        Some(Ok(v)) => v,
        _ => View::default(),
    });
    let back = Route::Image(id.clone()).href();
    let (content, loaded) = content_loader(format!("/api/images/{}/files", enc(&id)));
    view! {
        <section class="page" aria-labelledby="files-title">
            <nav class="crumbs" aria-label="Breadcrumb">
                <Link href=Route::Images.href()>"Images"</Link>" › "
                <Link href=back>{docker_format::truncate_id(&id)}</Link>" › "
                <span aria-current="page">"Files"</span>
            </nav>
            <h1 id="files-title">"Union explorer"</h1>
            <p class="help">"Each path is coloured by the layer that provides it. Read top-down, the first layer that has a path wins; a whiteout hides the path below it; an opaque directory hides everything below it."</p>
            <Suspense fallback=|| view! { <Loading what="Reading the layers…"/> }>
            {move || Suspend::new(async move {
                match tree.await {
                    Err(e) => view! { <ErrorBox message=e retry=Callback::new(move |_| tree.refetch())/> }.into_any(),
                    Ok(_) => {
                        let start = Mode::from_query(&window().location().search().unwrap_or_default());
                        view! { <Explorer view=view_sig content=content loaded=loaded start=start.unwrap_or(Mode::Merged)/> }.into_any()
                    }
                }
            })}
            </Suspense>
        </section>
    }
}
