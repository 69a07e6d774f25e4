//! The container page's heading: its name, controls, export and remove, its live status, and
//! the terminal's actions (attach, or exec a shell).

use super::super::terminal::TermMode;
use super::controls::Controls;
use crate::run;
use crate::wire::ContainerDto;
use leptos::prelude::*;

/// The page's terminal: which one is open (a new number for each opening, so reopening the
/// same mode starts a new one) and the shell that exec runs.
#[derive(Clone, Copy)]
pub(super) struct Term {
    pub(super) open: RwSignal<Option<(u32, TermMode)>>,
    generation: StoredValue<u32>,
    shell: RwSignal<String>,
}

impl Term {
    /// No terminal open; exec runs `sh`.
    pub(super) fn new() -> Term {
        Term {
            open: RwSignal::new(None),
            generation: StoredValue::new(0),
            shell: RwSignal::new(String::from("sh")),
        }
    }

    /// Opens a terminal in `mode`, in place of the one open.
    pub(super) fn start(self, mode: TermMode) {
        self.generation.update_value(|g| *g += 1);
        self.open.set(Some((self.generation.get_value(), mode)));
    }
}

/// The container's name with its controls, export and remove, its status line and the
/// terminal's buttons.
#[component]
pub(super) fn ContainerHeading(
    c: ContainerDto,
    /// The clock of the status text.
    now: RwSignal<i64>,
    /// Where Export downloads from.
    export: String,
    term: Term,
    /// Opens the remove dialog.
    confirm_rm: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <div class="heading">
            <h1 id="container-title">{c.name.clone()}</h1>
            <div class="actions">
                <Controls id=c.id.clone() state=c.state.clone()/>
                <a class="button" href=export download=format!("{}.tar", c.name)>"Export (flattened tar)"</a>
                <button type="button" class="danger" on:click=move |_| confirm_rm.set(true)>"Remove…"</button>
            </div>
        </div>
        <p class="facts"><span class="status-text" id="container-status" data-state=c.state.clone()>{
            let c = c.clone();
            move || run::status_text(&c, now.get())
        }</span>{format!(" · {} change(s) in the writable layer", c.changes)}
        {(!c.ports.is_empty()).then(|| view! {
            " · ports "<span id="container-ports">{c.ports.join(", ")}</span>
        })}</p>
        <div class="run-panel">
            <h2>"Terminal"</h2>
            <div class="row term-actions">
                <TerminalActions state=c.state.clone() tty=c.tty term=term/>
            </div>
        </div>
    }
}

/// Attach (a container with a TTY; starts it first when it is not running) and exec a shell
/// (a running container).
#[component]
fn TerminalActions(state: String, tty: bool, term: Term) -> impl IntoView {
    let shell = term.shell;
    let running = state == "running";
    let paused = state == "paused";
    let attach_text = if running {
        "Attach to its terminal"
    } else {
        "Start and attach"
    };
    let exec_title = if running {
        "exec -it a new process in the container"
    } else {
        "start the container first"
    };
    view! {
        {tty.then(|| view! {
            <button type="button" id="term-attach" disabled=paused
                on:click=move |_| term.start(TermMode::Attach)>{attach_text}</button>
        })}
        <label for="term-cmd" class="sr-only">"Shell"</label>
        <input id="term-cmd" type="text" class="short" spellcheck="false" prop:value=move || shell.get()
            on:input=move |ev| shell.set(event_target_value(&ev))/>
        <button type="button" id="term-exec" disabled=!running title=exec_title
            on:click=move |_| term.start(TermMode::Exec(shell.get_untracked()))>"Open a shell (exec)"</button>
    }
}
