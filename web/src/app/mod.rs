//! The browser side (wasm32 only): the page shell, shared state, navigation, the theme and the
//! event stream. Pages live in their own modules and stay thin: what they show is computed by
//! the native-tested modules (`model`, `plan`, `stack`, `tree`, `sharing`, `sandbox`, `pull`).

mod build;
mod compare;
mod containers;
mod explorer;
mod image;
mod images;
mod net;
mod registry;
mod sandbox;
mod sharing;
mod terminal;
mod widgets;

use crate::error::ApiError;
use crate::route::Route;
use crate::wire::{ContainerDto, DiskUsageDto, EventDto, ImageSummaryDto};
use leptos::prelude::*;
use std::time::Duration;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

/// Something loaded from the server.
#[derive(Clone, Debug, PartialEq)]
pub enum Load<T> {
    /// Not answered yet.
    Loading,
    /// The answer.
    Ready(T),
    /// The request failed: its kind, and a message that says what to do.
    Failed(ApiError),
}

/// A message in the corner.
#[derive(Clone, Debug, PartialEq)]
pub struct Toast {
    id: u64,
    text: String,
    error: bool,
}

/// State every page can reach.
#[derive(Clone, Copy)]
pub struct Ctx {
    /// The current page.
    pub route: RwSignal<Route>,
    /// `/api/images`.
    pub images: Memo<Load<Vec<ImageSummaryDto>>>,
    /// When `images` last changed (unix seconds): the table's "3 minutes ago" are relative to it.
    pub fetched_at: Memo<i64>,
    /// `/api/disk-usage`.
    pub disk: Memo<Option<DiskUsageDto>>,
    /// `/api/containers`.
    pub containers: Memo<Load<Vec<ContainerDto>>>,
    /// Moves once all three lists answered a refresh: pages showing one image or container
    /// refetch it then.
    pub revision: Memo<u64>,
    /// The last event, for the status line.
    pub last_event: RwSignal<Option<String>>,
    /// The event stream is connected.
    pub live: RwSignal<bool>,
    /// A container the Run dialog created with a terminal: its page attaches (which starts it).
    pub attach_next: RwSignal<Option<String>>,
    /// The image a commit just made: its page highlights its new top layer.
    pub fresh_image: RwSignal<Option<String>>,
    toasts: RwSignal<Vec<Toast>>,
    /// The refresh the lists should answer: each list is a resource that reads it.
    wanted: RwSignal<u64>,
    refresh_pending: RwSignal<bool>,
}

/// One of the store's lists: fetched again whenever `wanted` moves, and tagged with the
/// refresh it answers.
type Listed<T> = LocalResource<(u64, Result<T, ApiError>)>;

fn listed<T: serde::de::DeserializeOwned + 'static>(
    wanted: RwSignal<u64>,
    what: &'static str,
    url: &'static str,
) -> Listed<T> {
    LocalResource::new(move || {
        let n = wanted.get();
        async move { (n, net::get_json::<T>(what, url).await) }
    })
}

fn load_of<T>(answer: Option<(u64, Result<T, ApiError>)>) -> Load<T> {
    match answer {
        None => Load::Loading,
        Some((_, Ok(v))) => Load::Ready(v),
        Some((_, Err(e))) => Load::Failed(e),
    }
}

/// The refresh a list last answered (`None` before its first answer).
fn answered<T: 'static>(list: Listed<T>) -> Option<u64> {
    list.with(|a| a.as_ref().map(|(n, _)| *n))
}

impl Ctx {
    /// The shared state, with the three lists loading.
    fn new() -> Ctx {
        let path = window().location().pathname().unwrap_or_default();
        let wanted = RwSignal::new(0u64);
        let images: Listed<Vec<ImageSummaryDto>> =
            listed(wanted, "cannot list images", "/api/images");
        let disk: Listed<DiskUsageDto> =
            listed(wanted, "cannot read disk usage", "/api/disk-usage");
        let containers: Listed<Vec<ContainerDto>> =
            listed(wanted, "cannot list containers", "/api/containers");
        // Memos: an answer equal to the one shown notifies nobody, so a table keeps its DOM
        // (and the focus); the images' time moves only when their list changed.
        let images_at = Memo::new(move |before: Option<&(Load<Vec<ImageSummaryDto>>, i64)>| {
            let next = load_of(images.get());
            match before {
                Some((old, at)) if *old == next => (next, *at),
                _ => (next, now()),
            }
        });
        let revision = Memo::new(move |before: Option<&u64>| {
            let (i, d, c) = (answered(images), answered(disk), answered(containers));
            match (i, d, c) {
                (Some(i), Some(d), Some(c)) if i == d && d == c => i,
                _ => before.copied().unwrap_or(0),
            }
        });
        Ctx {
            route: RwSignal::new(Route::parse(&path)),
            images: Memo::new(move |_| images_at.with(|(l, _)| l.clone())),
            fetched_at: Memo::new(move |_| images_at.with(|(_, at)| *at)),
            disk: Memo::new(move |_| disk.with(|a| a.as_ref().and_then(|(_, r)| r.clone().ok()))),
            containers: Memo::new(move |_| load_of(containers.get())),
            revision,
            last_event: RwSignal::new(None),
            live: RwSignal::new(false),
            attach_next: RwSignal::new(None),
            fresh_image: RwSignal::new(None),
            toasts: RwSignal::new(Vec::new()),
            wanted,
            refresh_pending: RwSignal::new(false),
        }
    }

    /// The image list as last read (empty until it is), without tracking it: what a dialog
    /// names images by when it opens.
    pub fn image_list(&self) -> Vec<ImageSummaryDto> {
        self.images.with_untracked(|l| match l {
            Load::Ready(v) => v.clone(),
            _ => Vec::new(),
        })
    }

    /// Shows a message for a few seconds.
    pub fn toast(&self, text: impl Into<String>, error: bool) {
        let id = (js_sys::Math::random() * 1e15) as u64;
        let text = text.into();
        self.toasts.update(|t| t.push(Toast { id, text, error }));
        let toasts = self.toasts;
        set_timeout(
            move || toasts.update(|t| t.retain(|x| x.id != id)),
            Duration::from_secs(if error { 12 } else { 6 }),
        );
    }

    /// Refetches the lists now; each list is shown as soon as it arrives.
    pub fn refresh(&self) {
        self.wanted.update(|n| *n += 1);
    }

    /// Refetches soon: a burst of events (a prune deletes many images) causes one refresh.
    pub fn refresh_soon(&self) {
        if self.refresh_pending.get_untracked() {
            return;
        }
        self.refresh_pending.set(true);
        let ctx = *self;
        set_timeout(
            move || {
                ctx.refresh_pending.set(false);
                ctx.refresh();
            },
            Duration::from_millis(120),
        );
    }

    /// Goes to a page without reloading.
    pub fn navigate(&self, href: &str) {
        let w = window();
        if let Ok(h) = w.history() {
            let _ = h.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href));
        }
        self.route.set(Route::parse(href));
        w.scroll_to_with_x_and_y(0.0, 0.0);
    }
}

/// Unix seconds from the browser's clock.
pub fn now() -> i64 {
    (js_sys::Date::now() / 1000.0) as i64
}

/// The theme: `auto` follows `prefers-color-scheme`; the toggle stores a choice.
fn apply_theme(theme: &str) {
    if let Some(root) = document().document_element() {
        if theme == "auto" {
            let _ = root.remove_attribute("data-theme");
        } else {
            let _ = root.set_attribute("data-theme", theme);
        }
    }
    if let Ok(Some(s)) = window().local_storage() {
        let _ = s.set_item("strata-theme", theme);
    }
}

fn stored_theme() -> String {
    window()
        .local_storage()
        .ok()
        .flatten()
        .and_then(|s| s.get_item("strata-theme").ok().flatten())
        .filter(|t| matches!(t.as_str(), "light" | "dark" | "auto"))
        .unwrap_or_else(|| "auto".into())
}

/// An internal link: navigates without a reload (a modified click still opens a new tab).
#[component]
pub fn Link(
    /// Where to.
    href: String,
    /// Extra classes.
    #[prop(optional, into)]
    class: String,
    /// Accessible label when the text is not enough.
    #[prop(optional, into)]
    label: Option<String>,
    children: Children,
) -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let to = href.clone();
    view! {
        <a
            href=href
            class=class
            aria-label=label
            on:click=move |ev: web_sys::MouseEvent| {
                if ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.button() != 0 {
                    return;
                }
                ev.prevent_default();
                ctx.navigate(&to);
            }
        >
            {children()}
        </a>
    }
}

/// The whole page.
#[component]
pub fn App() -> impl IntoView {
    let ctx = Ctx::new();
    provide_context(ctx);

    // back and forward
    let pop = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
        let path = window().location().pathname().unwrap_or_default();
        ctx.route.set(Route::parse(&path));
    });
    window().set_onpopstate(Some(pop.as_ref().unchecked_ref()));
    pop.forget();

    // the document title follows the page
    Effect::new(move |_| document().set_title(&ctx.route.get().title()));

    let theme = RwSignal::new(stored_theme());
    apply_theme(&theme.get_untracked());

    net::subscribe(
        move |e: EventDto| {
            ctx.last_event.set(Some(crate::wire::event_text(&e)));
            ctx.refresh_soon();
        },
        move |open| {
            let was = ctx.live.get_untracked();
            ctx.live.set(open);
            if open && !was {
                // events may have been missed while disconnected
                ctx.refresh_soon();
            }
        },
    );

    // `/` focuses the page's search box, as in lazydocker and dive
    let keys =
        Closure::<dyn FnMut(web_sys::KeyboardEvent)>::new(move |ev: web_sys::KeyboardEvent| {
            if ev.key() != "/" || ev.ctrl_key() || ev.meta_key() || ev.alt_key() {
                return;
            }
            let typing = document()
                .active_element()
                .map(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"))
                .unwrap_or(false);
            if typing {
                return;
            }
            if let Some(el) = document().query_selector("[data-search]").ok().flatten() {
                if let Ok(el) = el.dyn_into::<web_sys::HtmlElement>() {
                    ev.prevent_default();
                    let _ = el.focus();
                }
            }
        });
    let _ = document().add_event_listener_with_callback("keydown", keys.as_ref().unchecked_ref());
    keys.forget();

    // narrow screens show the sections behind a menu button (style.css); a choice closes it
    let menu_open = RwSignal::new(false);
    let nav = move |section: &'static str, href: &'static str, text: &'static str| {
        view! {
            <a
                href=href
                aria-current=move || (ctx.route.get().section() == section).then_some("page")
                on:click=move |ev: web_sys::MouseEvent| {
                    if ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.button() != 0 {
                        return;
                    }
                    ev.prevent_default();
                    menu_open.set(false);
                    ctx.navigate(href);
                }
            >
                {text}
            </a>
        }
    };
    let theme_label = move || match theme.get().as_str() {
        "light" => "Theme: light",
        "dark" => "Theme: dark",
        _ => "Theme: automatic",
    };

    view! {
        <a class="skip" href="#main">"Skip to content"</a>
        <header class="bar">
            <Link href=Route::Images.href() class="brand">
                <span class="logo" aria-hidden="true"><i></i><i></i><i></i></span>
                "Strata"
            </Link>
            <button type="button" class="menu ghost" aria-controls="sections"
                aria-expanded=move || if menu_open.get() { "true" } else { "false" }
                on:click=move |_| menu_open.update(|o| *o = !*o)>
                "☰ Menu"
            </button>
            <nav id="sections" aria-label="Sections" class:open=move || menu_open.get()>
                {nav("images", "/ui/images", "Images")}
                {nav("containers", "/ui/containers", "Containers")}
                {nav("sharing", "/ui/sharing", "Sharing & disk")}
                {nav("build", "/ui/build", "Build")}
                {nav("sandbox", "/ui/sandbox", "Layer sandbox")}
            </nav>
            <div class="bar-end">
                <span class="live" role="status" data-live=move || if ctx.live.get() { "on" } else { "off" }
                    title=move || ctx.last_event.get().map(|e| format!("last event: {e}")).unwrap_or_default()>
                    {move || if ctx.live.get() { "● live" } else { "○ reconnecting…" }}
                </span>
                <button type="button" class="ghost" aria-label=theme_label title=theme_label
                    on:click=move |_| {
                        let next = match theme.get_untracked().as_str() {
                            "auto" => "dark",
                            "dark" => "light",
                            _ => "auto",
                        };
                        theme.set(next.to_string());
                        apply_theme(next);
                    }>
                    {move || match theme.get().as_str() { "light" => "☀ Light", "dark" => "☾ Dark", _ => "◐ Auto" }}
                </button>
            </div>
        </header>
        <main id="main" tabindex="-1">
            {move || match ctx.route.get() {
                Route::Images => view! { <images::ImagesPage/> }.into_any(),
                Route::Image(id) => view! { <image::ImagePage id=id/> }.into_any(),
                Route::ImageFiles(id) => view! { <explorer::ImageFilesPage id=id/> }.into_any(),
                Route::Containers => view! { <containers::ContainersPage/> }.into_any(),
                Route::Container(id) => view! { <containers::ContainerPage id=id/> }.into_any(),
                Route::Compare => view! { <compare::ComparePage/> }.into_any(),
                Route::Sharing => view! { <sharing::SharingPage/> }.into_any(),
                Route::Sandbox => view! { <sandbox::SandboxPage/> }.into_any(),
                Route::Build => view! { <build::BuildPage/> }.into_any(),
                Route::NotFound(p) => view! {
                    <section>
                        <h1>"Page not found"</h1>
                        <p>{format!("Nothing lives at {p}. ")}<Link href=Route::Images.href()>"Go to the images"</Link></p>
                    </section>
                }.into_any(),
            }}
        </main>
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || ctx.toasts.get() key=|t| t.id let:t>
                <div class="toast" class:error=t.error>{t.text}</div>
            </For>
        </div>
    }
}
