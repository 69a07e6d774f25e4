//! The layer stack diagram: from the host kernel (bootfs: the host's, shared, never in an
//! image) through the base rootfs layer and each image layer, up to a container's writable
//! layer, with the history step that made each layer, the metadata-only steps between them,
//! each layer's refcount, and what the writable layer holds (copy-ups, new files, whiteouts).
//!
//! Also the image page's config rows and the history table. Pure: the component draws
//! [`Stack::items`] top to bottom in reverse (the kernel at the bottom, as in the classic
//! picture of a container).

use crate::lineage::{users_text, Lineage, Named};
use crate::tree::View;
use crate::wire::{HistoryDto, ImageDetailDto, LayerDto};
use docker_format::{human_size, truncate_id};
use serde_json::Value;
use std::collections::BTreeSet;

/// One build step from the image's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The instruction, `#(nop)` stripped (`RUN apk add curl`, `CMD ["sh"]`).
    pub command: String,
    /// Unix seconds.
    pub created: i64,
    /// The step's comment.
    pub comment: String,
}

/// One image layer in the diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerItem {
    /// 0-based, bottom first.
    pub index: usize,
    /// `sha256:…`.
    pub diff_id: String,
    /// 12 hex.
    pub short_id: String,
    /// Bytes.
    pub size: u64,
    /// `1.2MB`.
    pub size_text: String,
    /// Images using the layer.
    pub refcount: u64,
    /// `shared by 3 images`, `only this image`; with their names once [`Stack::name_users`]
    /// knew them (`shared by 2 images: this one and app:1`).
    pub refcount_text: String,
    /// The other images that use it, once [`Stack::name_users`] knew them.
    pub users: Vec<Named>,
    /// What made it, for its title: the history's comment (a commit message, `Imported from
    /// -`) or else its instruction (`RUN mkdir -p /opt/app`); empty when the history is silent.
    pub name: String,
    /// The step that made it, when the history says.
    pub step: Option<Step>,
    /// Metadata-only steps between the layer below and this one.
    pub empty_before: Vec<Step>,
}

/// What a container's writable layer holds for one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Upper {
    /// A path no lower layer has.
    Added {
        /// `/`-rooted path.
        path: String,
    },
    /// A lower path copied up and changed.
    CopiedUp {
        /// `/`-rooted path.
        path: String,
        /// The layer it was copied from (0-based).
        from: Option<usize>,
    },
    /// An opaque directory (`.wh..wh..opq`): everything lower layers had under it is hidden
    /// by this one marker, not by a whiteout per file.
    Opaque {
        /// `/`-rooted path of the directory.
        path: String,
        /// The layer whose directory it hides (0-based).
        hides: Option<usize>,
    },
    /// A whiteout hiding a lower path.
    WhitedOut {
        /// `/`-rooted path.
        path: String,
        /// The layer whose copy it hides (0-based).
        hides: Option<usize>,
    },
}

impl Upper {
    /// The path.
    pub fn path(&self) -> &str {
        match self {
            Upper::Added { path }
            | Upper::CopiedUp { path, .. }
            | Upper::Opaque { path, .. }
            | Upper::WhitedOut { path, .. } => path,
        }
    }

    /// `A`, `C` or `D` (as `docker diff`).
    pub fn letter(&self) -> char {
        match self {
            Upper::Added { .. } => 'A',
            Upper::CopiedUp { .. } | Upper::Opaque { .. } => 'C',
            Upper::WhitedOut { .. } => 'D',
        }
    }

    /// `copy-up of /etc/passwd from layer 1`, `whiteout .wh.ls hides /bin/ls of layer 1`.
    pub fn text(&self) -> String {
        let layer =
            |l: &Option<usize>| l.map_or("a lower layer".into(), |l| format!("layer {}", l + 1));
        match self {
            Upper::Added { path } => format!("new {path}"),
            Upper::CopiedUp { path, from } => format!("copy-up of {path} from {}", layer(from)),
            Upper::Opaque { path, hides } => format!(
                "opaque directory {path} (.wh..wh..opq): hides all {} had under it",
                layer(hides)
            ),
            Upper::WhitedOut { path, hides } => {
                let name = path.rsplit('/').next().unwrap_or(path);
                format!("whiteout .wh.{name} hides {path} of {}", layer(hides))
            }
        }
    }
}

/// The container part of the diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Writable {
    /// Container name.
    pub name: String,
    /// Bytes of the writable layer.
    pub size_text: String,
    /// Its contents, by path.
    pub changes: Vec<Upper>,
}

/// One box of the diagram, bottom first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// The host kernel.
    Kernel,
    /// An image layer.
    Layer(LayerItem),
    /// Metadata-only steps after the last layer (CMD, ENV, LABEL…).
    Metadata(Vec<Step>),
    /// A container's writable layer.
    Writable(Writable),
}

/// The whole diagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stack {
    /// Bottom first: the kernel, the layers, trailing metadata steps, the writable layer.
    pub items: Vec<Item>,
    /// Σ layer sizes.
    pub image_bytes: u64,
    /// `the history lists 3 layer steps for 2 layers`, when they disagree.
    pub warning: Option<String>,
}

/// `/bin/sh -c #(nop)  CMD ["sh"]` → `CMD ["sh"]`; `/bin/sh -c apk add x` → `RUN apk add x`;
/// BuildKit's `RUN |1 A=b /bin/sh -c x` → `RUN x`.
pub fn clean_command(created_by: &str) -> String {
    let s = created_by.trim();
    let s = s.strip_prefix("RUN ").map_or(s, |rest| {
        if rest.starts_with("/bin/sh -c ") || rest.starts_with('|') {
            rest
        } else {
            s
        }
    });
    // `|2 A=b C=d /bin/sh -c …`: build args before the shell
    let s = match s.strip_prefix('|') {
        Some(rest) => rest.find("/bin/sh -c ").map_or(s, |i| &rest[i..]),
        None => s,
    };
    if let Some(rest) = s.strip_prefix("/bin/sh -c ") {
        let rest = rest.trim_start();
        return match rest.strip_prefix("#(nop)") {
            Some(meta) => meta.trim().to_string(),
            None => format!("RUN {rest}"),
        };
    }
    s.to_string()
}

fn step(h: &HistoryDto) -> Step {
    Step {
        command: clean_command(&h.created_by),
        created: h.created,
        comment: h.comment.clone(),
    }
}

/// The name of the layer a history step made: its comment when it has one (a commit's
/// message, an import's `Imported from -`; not BuildKit's `buildkit.dockerfile.v0` marker),
/// else its instruction (`RUN mkdir -p /opt/app`, `COPY app.sh /opt/app/`).
pub fn layer_name(step: &Step) -> String {
    let comment = step.comment.trim();
    if !comment.is_empty() && !comment.starts_with("buildkit.") {
        return comment.to_string();
    }
    step.command.trim().to_string()
}

impl Stack {
    /// Names the images that share each layer (bottom first, from [`crate::lineage`]).
    pub fn name_users(&mut self, lineage: &Lineage) {
        for item in &mut self.items {
            if let Item::Layer(l) = item {
                if let Some(users) = lineage.users.get(l.index) {
                    l.users = users.clone();
                    let hidden = lineage.hidden_users.get(l.index).copied().unwrap_or(0);
                    l.refcount_text = users_text(users, hidden);
                }
            }
        }
    }
}

fn refcount_text(n: u64) -> String {
    match n {
        0 | 1 => "only this image".into(),
        n => format!("shared by {n} images"),
    }
}

/// What made each of the image's layers, bottom first (the names the stack diagram shows:
/// the layer's instruction, or its commit's message); empty for a layer the history does not
/// name.
pub fn layer_names(image: &ImageDetailDto) -> Vec<String> {
    build(image, None)
        .items
        .into_iter()
        .filter_map(|i| match i {
            Item::Layer(l) => Some(l.name),
            _ => None,
        })
        .collect()
}

/// The diagram of an image (and, when given, of a container on it: its name, writable-layer
/// size and union view, whose top layer is the writable one).
pub fn build(image: &ImageDetailDto, container: Option<(&str, u64, &View)>) -> Stack {
    let mut items = vec![Item::Kernel];
    let mut history: Vec<&HistoryDto> = image.history.iter().collect();
    history.reverse(); // oldest first
    let mut pending: Vec<Step> = Vec::new();
    let mut steps: Vec<(Vec<Step>, Step)> = Vec::new();
    for h in history {
        if h.empty_layer {
            pending.push(step(h));
        } else {
            steps.push((std::mem::take(&mut pending), step(h)));
        }
    }
    let warning = (!image.history.is_empty() && steps.len() != image.layers.len()).then(|| {
        format!(
            "the history lists {} layer step{} for {} layer{}",
            steps.len(),
            if steps.len() == 1 { "" } else { "s" },
            image.layers.len(),
            if image.layers.len() == 1 { "" } else { "s" }
        )
    });
    let mut steps = steps.into_iter();
    for (index, l) in image.layers.iter().enumerate() {
        let (empty_before, step) = match steps.next() {
            Some((e, s)) => (e, Some(s)),
            None => (Vec::new(), None),
        };
        items.push(Item::Layer(layer_item(index, l, step, empty_before)));
    }
    // steps left over (more layer steps than layers) count as metadata so nothing is lost
    for (e, s) in steps {
        pending.extend(e);
        pending.push(s);
    }
    if !pending.is_empty() {
        items.push(Item::Metadata(pending));
    }
    if let Some((name, size_rw, view)) = container {
        items.push(Item::Writable(Writable {
            name: name.to_string(),
            size_text: human_size(size_rw),
            changes: upper_changes(view),
        }));
    }
    Stack {
        items,
        image_bytes: image.layers.iter().map(|l| l.size).sum(),
        warning,
    }
}

fn layer_item(
    index: usize,
    l: &LayerDto,
    step: Option<Step>,
    empty_before: Vec<Step>,
) -> LayerItem {
    LayerItem {
        index,
        diff_id: l.diff_id.clone(),
        short_id: truncate_id(&l.diff_id),
        size: l.size,
        size_text: human_size(l.size),
        refcount: l.refcount,
        refcount_text: refcount_text(l.refcount),
        users: Vec::new(),
        name: step.as_ref().map(layer_name).unwrap_or_default(),
        step,
        empty_before,
    }
}

/// What the top layer of a container's view holds: `M` paths are copy-ups (from the layer
/// whose version they shadow), `R` paths whiteouts, `A` paths new. Directories the layer only
/// lists because something under them changed are left out. Under an opaque directory the
/// lower contents are hidden by its one marker (no whiteout per file is shown), and what the
/// layer holds there is new, never a copy-up.
pub fn upper_changes(view: &View) -> Vec<Upper> {
    let Some(top) = view.layer_count().checked_sub(1) else {
        return Vec::new();
    };
    let changes = view.layer_changes(top);
    let opaque = view.opaque_dirs(top);
    let under_opaque = |p: &str| {
        opaque
            .iter()
            .any(|d| d.is_empty() || p.starts_with(&format!("{d}/")))
    };
    let lower_of = |p: &str| {
        top.checked_sub(1)
            .and_then(|below| view.get_at(p, below))
            .map(|v| v.layer)
    };
    let mut out = Vec::new();
    for d in &opaque {
        out.push(Upper::Opaque {
            path: format!("/{d}"),
            hides: lower_of(d),
        });
    }
    for (p, c) in changes {
        let path = format!("/{p}");
        if opaque.contains(p) {
            continue;
        }
        let is_dir = view.get(p).is_some_and(|v| v.is_dir());
        let has_changed_children = changes.iter().any(|(q, _)| q.starts_with(&format!("{p}/")));
        match c {
            'R' if under_opaque(p) => {}
            'A' | 'M' if under_opaque(p) => out.push(Upper::Added { path }),
            'A' => out.push(Upper::Added { path }),
            'M' if is_dir && has_changed_children => {}
            'M' => out.push(Upper::CopiedUp {
                path,
                from: lower_of(p),
            }),
            'R' => out.push(Upper::WhitedOut {
                path,
                hides: lower_of(p),
            }),
            _ => {}
        }
    }
    out
}

/// Paths in `new` that were not in `old` (to flash them in the diagram).
pub fn fresh(old: &[Upper], new: &[Upper]) -> BTreeSet<String> {
    let before: BTreeSet<(String, char)> = old
        .iter()
        .map(|u| (u.path().to_string(), u.letter()))
        .collect();
    new.iter()
        .filter(|u| !before.contains(&(u.path().to_string(), u.letter())))
        .map(|u| u.path().to_string())
        .collect()
}

/// The config rows of the image page: CMD, ENTRYPOINT, ENV, EXPOSE, VOLUME, WORKDIR, USER,
/// LABEL (empty values left out).
pub fn config_rows(config: &Value) -> Vec<(&'static str, Vec<String>)> {
    let get = |k: &str| config.get(k).filter(|v| !v.is_null());
    let argv = |k: &str| -> Vec<String> {
        match get(k) {
            Some(Value::Array(a)) if !a.is_empty() => {
                vec![serde_json::to_string(a).unwrap_or_default()]
            }
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    let list = |k: &str| -> Vec<String> {
        match get(k) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    let keys = |k: &str| -> Vec<String> {
        match get(k) {
            Some(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    };
    let text = |k: &str| -> Vec<String> {
        match get(k) {
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    };
    let labels: Vec<String> = match get("Labels") {
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(&v.to_string())))
            .collect(),
        _ => Vec::new(),
    };
    let rows = vec![
        ("CMD", argv("Cmd")),
        ("ENTRYPOINT", argv("Entrypoint")),
        ("ENV", list("Env")),
        ("EXPOSE", keys("ExposedPorts")),
        ("VOLUME", keys("Volumes")),
        ("WORKDIR", text("WorkingDir")),
        ("USER", text("User")),
        ("LABEL", labels),
    ];
    rows.into_iter().filter(|(_, v)| !v.is_empty()).collect()
}

/// One row of the history table, newest first, as `docker history` prints it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryRow {
    /// Short image ID or `<missing>`.
    pub image: String,
    /// `3 days ago`.
    pub created: String,
    /// The cleaned command.
    pub command: String,
    /// `1.2MB` (`0B` for metadata steps).
    pub size: String,
    /// A metadata-only step (dimmed).
    pub empty: bool,
    /// Comment.
    pub comment: String,
}

/// The history table.
pub fn history_rows(image: &ImageDetailDto, now: i64) -> Vec<HistoryRow> {
    image
        .history
        .iter()
        .map(|h| HistoryRow {
            image: h
                .id
                .as_deref()
                .map_or_else(|| "<missing>".to_string(), truncate_id),
            created: if h.created > 0 {
                docker_format::created_since(h.created, now)
            } else {
                "N/A".into()
            },
            command: clean_command(&h.created_by),
            size: human_size(h.size),
            empty: h.empty_layer,
            comment: h.comment.clone(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::TreeDto;

    fn hist(by: &str, empty: bool) -> HistoryDto {
        HistoryDto {
            created_by: by.into(),
            empty_layer: empty,
            created: 1_000,
            ..Default::default()
        }
    }

    fn image() -> ImageDetailDto {
        ImageDetailDto {
            id: "sha256:aa".into(),
            layers: vec![
                LayerDto {
                    diff_id: format!("sha256:{}", "1".repeat(64)),
                    size: 4_000_000,
                    refcount: 3,
                },
                LayerDto {
                    diff_id: format!("sha256:{}", "2".repeat(64)),
                    size: 1_200,
                    refcount: 1,
                },
            ],
            // newest first
            history: vec![
                hist("/bin/sh -c #(nop)  CMD [\"sh\"]", true),
                hist("/bin/sh -c adduser -D app", false),
                hist("/bin/sh -c #(nop)  ENV A=b", true),
                hist("/bin/sh -c #(nop) ADD file:abc in / ", false),
            ],
            config: serde_json::json!({
                "Cmd": ["sh"], "Env": ["PATH=/bin", "A=b"], "ExposedPorts": {"80/tcp": {}},
                "Volumes": {"/data": {}}, "Labels": {"team": "infra"}, "WorkingDir": "",
                "Entrypoint": null
            }),
            ..Default::default()
        }
    }

    fn show(s: &Stack) -> String {
        let mut out = String::new();
        for item in s.items.iter().rev() {
            match item {
                Item::Kernel => out.push_str("kernel\n"),
                Item::Layer(l) => {
                    out.push_str(&format!(
                        "L{} {} {} {} | {}\n",
                        l.index + 1,
                        l.short_id,
                        l.size_text,
                        l.refcount_text,
                        l.step.as_ref().map_or("?", |s| &s.command)
                    ));
                    for e in &l.empty_before {
                        out.push_str(&format!("  (no layer) {}\n", e.command));
                    }
                }
                Item::Metadata(steps) => {
                    for e in steps {
                        out.push_str(&format!("  (no layer) {}\n", e.command));
                    }
                }
                Item::Writable(w) => {
                    out.push_str(&format!("writable {} {}\n", w.name, w.size_text));
                    for c in &w.changes {
                        out.push_str(&format!("  {} {}\n", c.letter(), c.text()));
                    }
                }
            }
        }
        out
    }

    #[test]
    fn layers_with_their_steps_and_the_empty_steps_between() {
        let s = build(&image(), None);
        assert_eq!(
            show(&s),
            "  (no layer) CMD [\"sh\"]\n\
             L2 222222222222 1.2kB only this image | RUN adduser -D app\n\
             \x20 (no layer) ENV A=b\n\
             L1 111111111111 4MB shared by 3 images | ADD file:abc in /\n\
             kernel\n"
        );
        assert_eq!(s.image_bytes, 4_001_200);
        assert_eq!(s.warning, None);
    }

    #[test]
    fn each_layer_is_named_by_what_made_it_for_the_explorer() {
        let mut img = image();
        assert_eq!(
            layer_names(&img),
            ["ADD file:abc in /", "RUN adduser -D app"]
        );
        // a commit's message names its layer; a layer the history leaves out has no name
        img.history[1].comment = "add the app user".into();
        img.history.truncate(2);
        assert_eq!(layer_names(&img), ["add the app user", ""]);
        // the explorer shows them beside the layer numbers, the writable layer as such
        let mut v = View::default();
        v.labels = vec!["sha256:1".into(), "sha256:2".into(), "writable".into()];
        v.name_layers(&layer_names(&image()));
        assert_eq!(v.layer_name(0), "layer 1 (ADD file:abc in /)");
        assert_eq!(v.layer_name(1), "layer 2 (RUN adduser -D app)");
        assert_eq!(v.layer_name(2), "layer 3 (writable)");
    }

    #[test]
    fn history_and_layers_that_disagree_are_flagged() {
        let mut img = image();
        img.history.remove(1);
        let s = build(&img, None);
        assert_eq!(
            s.warning.as_deref(),
            Some("the history lists 1 layer step for 2 layers")
        );
        match &s.items[2] {
            Item::Layer(l) => assert!(l.step.is_none()),
            other => panic!("{other:?}"),
        }
        // no history at all (an imported image): no warning, no steps
        img.history.clear();
        assert_eq!(build(&img, None).warning, None);
    }

    #[test]
    fn commands_read_like_a_dockerfile() {
        assert_eq!(
            clean_command("/bin/sh -c #(nop)  CMD [\"sh\"]"),
            "CMD [\"sh\"]"
        );
        assert_eq!(clean_command("/bin/sh -c apk add curl"), "RUN apk add curl");
        assert_eq!(
            clean_command("RUN |1 A=b /bin/sh -c echo $A # buildkit"),
            "RUN echo $A # buildkit"
        );
        assert_eq!(
            clean_command("COPY . /app # buildkit"),
            "COPY . /app # buildkit"
        );
        assert_eq!(clean_command("Imported from -"), "Imported from -");
    }

    #[test]
    fn config_rows_leave_out_what_is_empty() {
        let rows = config_rows(&image().config);
        let text: Vec<String> = rows
            .iter()
            .map(|(k, v)| format!("{k} {}", v.join(" | ")))
            .collect();
        assert_eq!(
            text,
            [
                "CMD [\"sh\"]",
                "ENV PATH=/bin | A=b",
                "EXPOSE 80/tcp",
                "VOLUME /data",
                "LABEL team=infra"
            ]
        );
        assert!(config_rows(&Value::Null).is_empty());
    }

    #[test]
    fn history_table() {
        let mut img = image();
        img.history[0].id = Some(format!("sha256:{}", "a".repeat(64)));
        let rows = history_rows(&img, 1_000 + 3_600);
        assert_eq!(rows[0].image, "aaaaaaaaaaaa");
        assert_eq!(rows[1].image, "<missing>");
        assert_eq!(rows[0].created, "About an hour ago");
        assert!(rows[0].empty);
        assert_eq!(rows[1].command, "RUN adduser -D app");
    }

    fn container_view() -> View {
        let layers = layer_union::fixture::parse(
            r#"
            layer 1:
              /etc/passwd "root\n"
              /bin/ls 1200
            layer 2:
              /etc/group "g\n"
            layer 3:
              /etc/passwd "root\napp\n"
              /bin/.wh.ls
              /tmp/new "x"
            "#,
        )
        .unwrap();
        View::from_union(&layer_union::Union::build(&layers), Vec::new())
    }

    #[test]
    fn the_writable_layer_shows_copy_ups_and_whiteouts() {
        let v = container_view();
        let s = build(&image(), Some(("brave_curie", 12, &v)));
        let text = show(&s);
        assert!(
            text.starts_with(
                "writable brave_curie 12B\n  D whiteout .wh.ls hides /bin/ls of layer 1\n  C copy-up of /etc/passwd from layer 1\n  A new /tmp/new\n"
            ),
            "{text}"
        );
        let old = upper_changes(&v);
        let mut newer = old.clone();
        newer.push(Upper::Added {
            path: "/tmp/other".into(),
        });
        assert_eq!(
            fresh(&old, &newer),
            BTreeSet::from(["/tmp/other".to_string()])
        );
        assert!(fresh(&newer, &newer).is_empty());
        // the view the server sends gives the same
        let _ = TreeDto::default();
    }

    #[test]
    fn an_opaque_directory_is_one_marker_and_its_files_are_new() {
        let layers = layer_union::fixture::parse(
            r#"
            layer 1:
              /app/old "1"
              /app/keep "2"
            layer 2:
              /app/.wh..wh..opq
              /app/keep "new"
            "#,
        )
        .unwrap();
        let v = View::from_union(&layer_union::Union::build(&layers), Vec::new());
        let text: Vec<String> = upper_changes(&v).iter().map(Upper::text).collect();
        assert_eq!(
            text,
            [
                "opaque directory /app (.wh..wh..opq): hides all layer 1 had under it",
                "new /app/keep"
            ]
        );
    }

    #[test]
    fn layers_are_named_by_their_comment_or_instruction() {
        let step = |by: &str, comment: &str| Step {
            command: clean_command(by),
            created: 0,
            comment: comment.into(),
        };
        assert_eq!(
            layer_name(&step("/bin/sh -c mkdir -p /opt/app", "")),
            "RUN mkdir -p /opt/app"
        );
        assert_eq!(
            layer_name(&step("/bin/sh -c #(nop) COPY app.sh /opt/app/", "")),
            "COPY app.sh /opt/app/"
        );
        assert_eq!(
            layer_name(&step("sh", "add app user, drop ls")),
            "add app user, drop ls"
        );
        assert_eq!(
            layer_name(&step(
                "RUN /bin/sh -c make # buildkit",
                "buildkit.dockerfile.v0"
            )),
            "RUN make # buildkit"
        );
        assert_eq!(layer_name(&step("", "Imported from -")), "Imported from -");
        let s = build(&image(), None);
        let names: Vec<&str> = s
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Layer(l) => Some(l.name.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["ADD file:abc in /", "RUN adduser -D app"]);
    }

    #[test]
    fn the_images_sharing_a_layer_are_named() {
        let mut s = build(&image(), None);
        let n = |name: &str| Named {
            id: format!("sha256:{name}"),
            name: name.into(),
        };
        s.name_users(&Lineage {
            users: vec![vec![n("base:1"), n("tool:1")], vec![]],
            ..Default::default()
        });
        let texts: Vec<&str> = s
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Layer(l) => Some(l.refcount_text.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            texts,
            [
                "shared by 3 images: this one, base:1 and tool:1",
                "only this image"
            ]
        );
    }
}
