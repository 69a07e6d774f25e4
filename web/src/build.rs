//! The Build page and the image page's instruction view, as plain logic: the context tar the
//! page sends (its Dockerfile and files written with `layer_diff::TarWriter`, after the entries
//! of an uploaded tar), the classic builder's log read back into steps (`Step 2/5 : RUN …`,
//! ` ---> Using cache`, the command's output), and an image's history as one row per
//! instruction, each linked to the layer it made (`#(nop)` rows change only the config).

use crate::stack::clean_command;
use crate::wire::ImageDetailDto;
use docker_format::{human_size, truncate_id};
use layer_diff::{TarHeader, TarKind, TarWriter};

/// A file the page adds to the build context.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContextFile {
    /// Its path in the context (`app.sh`, `conf/app.ini`).
    pub name: String,
    /// Its text.
    pub content: String,
}

/// The context's files' mode: a script (`#!` first) is executable, as it would be on disk.
fn mode_of(content: &str) -> u32 {
    if content.starts_with("#!") {
        0o755
    } else {
        0o644
    }
}

/// A context-relative path, cleaned: no `..`, no leading `/`, not empty.
fn clean_name(name: &str) -> Result<String, String> {
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        return Err(format!("context file {name:?}: a name is needed"));
    }
    if parts.contains(&"..") {
        return Err(format!(
            "context file {name:?}: `..` would leave the build context"
        ));
    }
    Ok(parts.join("/"))
}

fn octal(field: &[u8]) -> Option<u64> {
    let s = std::str::from_utf8(field).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(s, 8).ok()
}

/// Where an uncompressed tar's end-of-archive zero blocks start (its length when it has none):
/// the entries before it can be followed by more. Fails on what is not a tar.
pub fn tar_entries_end(tar: &[u8]) -> Result<usize, String> {
    let bad = |why: &str| format!("the uploaded context is not an uncompressed tar ({why})");
    let mut at = 0usize;
    while at < tar.len() {
        let block = tar
            .get(at..at + 512)
            .ok_or_else(|| bad("it ends inside a header"))?;
        if block.iter().all(|b| *b == 0) {
            return Ok(at);
        }
        let size = if block[124] & 0x80 != 0 {
            // base-256 (GNU) size
            block[125..136].iter().fold(0u64, |n, b| {
                n.saturating_mul(256).saturating_add(u64::from(*b))
            })
        } else {
            octal(&block[124..136]).ok_or_else(|| bad("a header's size is not a number"))?
        };
        if &block[257..262] != b"ustar" && octal(&block[148..156]).is_none() {
            return Err(bad("no tar header"));
        }
        let padded = size.div_ceil(512).saturating_mul(512);
        let next = u64::try_from(at)
            .unwrap_or(u64::MAX)
            .saturating_add(512)
            .saturating_add(padded);
        at = usize::try_from(next).map_err(|_| bad("an entry is too large"))?;
        if at > tar.len() {
            return Err(bad("it ends inside an entry"));
        }
    }
    Ok(tar.len())
}

/// True for gzip bytes (the server reads a gzip context, but the page cannot add to one).
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

/// The build context to send: the uploaded tar's entries (when given), then `Dockerfile` (when
/// written on the page) and the written files, which so replace an uploaded file of the same
/// name; every directory above a written file gets its own entry first.
pub fn context_tar(
    dockerfile: Option<&str>,
    files: &[ContextFile],
    upload: Option<&[u8]>,
) -> Result<Vec<u8>, String> {
    let mut written: Vec<(String, &str)> = Vec::new();
    if let Some(d) = dockerfile {
        written.push(("Dockerfile".into(), d));
    }
    for f in files.iter().filter(|f| !f.name.trim().is_empty()) {
        written.push((clean_name(f.name.trim())?, f.content.as_str()));
    }
    if written.is_empty() {
        if let Some(up) = upload {
            return Ok(up.to_vec());
        }
        return Err("write a Dockerfile or upload a context tar".into());
    }
    let mut out = Vec::new();
    if let Some(up) = upload {
        if is_gzip(up) {
            return Err("the uploaded context is gzip-compressed: upload a plain tar to add a Dockerfile or files to it, or clear them to send it as it is".into());
        }
        let end = tar_entries_end(up)?;
        out.extend_from_slice(&up[..end]);
    }
    let mut tw = TarWriter::new(out);
    let mut dirs: Vec<String> = Vec::new();
    for (name, content) in &written {
        let mut parent = String::new();
        for part in name
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .map_or(&[][..], |(_, p)| p)
        {
            parent.push_str(part);
            parent.push('/');
            if !dirs.contains(&parent) {
                dirs.push(parent.clone());
                tw.append(&header(&parent, TarKind::Dir, 0o755, 0), std::io::empty())
                    .map_err(|e| e.to_string())?;
            }
        }
        tw.append(
            &header(name, TarKind::File, mode_of(content), content.len() as u64),
            content.as_bytes(),
        )
        .map_err(|e| e.to_string())?;
    }
    tw.finish().map_err(|e| e.to_string())
}

fn header(name: &str, kind: TarKind, mode: u32, size: u64) -> TarHeader<'_> {
    TarHeader {
        name: name.as_bytes(),
        kind,
        link: b"",
        mode,
        uid: 0,
        gid: 0,
        size,
        mtime: 0,
        xattrs: Vec::new(),
    }
}

/// A build's answer as it streams in: NDJSON `BuildLineDto` lines cut from chunks that may
/// split a line (or a character) anywhere.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildRun {
    partial: Vec<u8>,
    /// The output so far.
    pub log: String,
    /// The built image's ID, once announced.
    pub image: Option<String>,
    /// What ended the build, and the failing command's exit code.
    pub error: Option<(String, Option<i64>)>,
}

impl BuildRun {
    /// Reads a chunk of the answer.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.partial.extend_from_slice(chunk);
        while let Some(i) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=i).collect();
            self.line(&line);
        }
    }

    /// The answer ended: a last line without its newline is read too.
    pub fn finish(&mut self) {
        let rest = std::mem::take(&mut self.partial);
        self.line(&rest);
    }

    fn line(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        if text.trim().is_empty() {
            return;
        }
        match crate::wire::decode::<crate::wire::BuildLineDto>("build output", &text) {
            Ok(l) => {
                if let Some(t) = l.text {
                    self.log.push_str(&t);
                }
                if l.image.is_some() {
                    self.image = l.image;
                }
                if let Some(e) = l.error {
                    self.error = Some((e, l.code));
                }
            }
            Err(e) => self.error = Some((e.to_string(), None)),
        }
    }
}

/// One step of a build's log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogStep {
    /// 1-based.
    pub number: usize,
    /// Steps in the build.
    pub total: usize,
    /// As the Dockerfile wrote it (`RUN mkdir -p /opt/app`).
    pub instruction: String,
    /// The step printed ` ---> Using cache`.
    pub cached: bool,
    /// A `FROM`: the stage's base image, never a cache question.
    pub base: bool,
    /// The step's image (12 hex), once it printed ` ---> <id>`.
    pub image: Option<String>,
    /// The container it ran in (12 hex).
    pub container: Option<String>,
    /// Everything else it printed (the command's output).
    pub output: Vec<String>,
}

/// A build's log read back into its steps, as far as it has come.
pub fn log_steps(log: &str) -> Vec<LogStep> {
    let mut steps: Vec<LogStep> = Vec::new();
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("Step ") {
            if let Some((count, instruction)) = rest.split_once(" : ") {
                if let Some((n, total)) = count.split_once('/') {
                    if let (Ok(number), Ok(total)) = (n.parse(), total.parse()) {
                        steps.push(LogStep {
                            number,
                            total,
                            base: instruction
                                .get(..5)
                                .is_some_and(|k| k.eq_ignore_ascii_case("FROM ")),
                            instruction: instruction.to_string(),
                            ..Default::default()
                        });
                        continue;
                    }
                }
            }
        }
        let Some(step) = steps.last_mut() else {
            continue;
        };
        if let Some(arrow) = line.strip_prefix(" ---> ") {
            if arrow == "Using cache" {
                step.cached = true;
            } else if let Some(c) = arrow.strip_prefix("Running in ") {
                step.container = Some(c.trim().to_string());
            } else if !arrow.contains(' ') {
                step.image = Some(arrow.trim().to_string());
            } else {
                step.output.push(line.to_string());
            }
        } else if line.starts_with("Removing intermediate container ")
            || line.starts_with("Successfully built ")
            || line.starts_with("Successfully tagged ")
        {
        } else {
            step.output.push(line.to_string());
        }
    }
    steps
}

/// `3 of 5 steps from the cache`, once a build has steps other than `FROM`.
pub fn cache_summary(steps: &[LogStep]) -> Option<String> {
    let total = steps.iter().filter(|s| !s.base).count();
    if total == 0 {
        return None;
    }
    let cached = steps.iter().filter(|s| s.cached).count();
    Some(match cached {
        0 => format!("{total} step{} built, none from the cache", plural(total)),
        c if c == total => format!("every step ({total}) from the cache"),
        c => format!("{c} of {total} steps from the cache"),
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// One instruction of an image's history, oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstructionRow {
    /// The instruction, `#(nop)` stripped (`RUN mkdir -p /opt/app`, `CMD ["sh"]`).
    pub instruction: String,
    /// The history's text as stored (`/bin/sh -c #(nop)  CMD ["sh"]`).
    pub created_by: String,
    /// The layer it made (0-based, base first) with its diff ID and size; `None` for a step
    /// that changed only the config (`#(nop)`, an `empty_layer` row).
    pub layer: Option<LayerRef>,
    /// The step's image (12 hex), when it is in the store.
    pub image: Option<String>,
}

/// The layer an instruction made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerRef {
    /// 0-based, base first.
    pub index: usize,
    /// `sha256:…`.
    pub diff_id: String,
    /// 12 hex.
    pub short_id: String,
    /// `1.2MB`.
    pub size_text: String,
}

/// The image's history as instructions, each layer step paired with its layer in order (the
/// n-th non-empty step made the n-th layer); a layer step with no layer left is shown without
/// one rather than dropped.
pub fn instruction_rows(image: &ImageDetailDto) -> Vec<InstructionRow> {
    let mut layers = image.layers.iter().enumerate();
    image
        .history
        .iter()
        .rev()
        .map(|h| InstructionRow {
            instruction: clean_command(&h.created_by),
            created_by: h.created_by.clone(),
            layer: if h.empty_layer {
                None
            } else {
                layers.next().map(|(index, l)| LayerRef {
                    index,
                    diff_id: l.diff_id.clone(),
                    short_id: truncate_id(&l.diff_id),
                    size_text: human_size(l.size),
                })
            },
            image: h.id.as_deref().map(truncate_id),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{HistoryDto, LayerDto};

    fn entries(tar: &[u8]) -> Vec<(String, Vec<u8>, u32)> {
        let end = tar_entries_end(tar).unwrap();
        let mut out = Vec::new();
        let mut at = 0;
        while at < end {
            let h = &tar[at..at + 512];
            let name =
                String::from_utf8(h[..100].split(|b| *b == 0).next().unwrap().to_vec()).unwrap();
            let size = octal(&h[124..136]).unwrap() as usize;
            let mode = octal(&h[100..108]).unwrap() as u32;
            out.push((name, tar[at + 512..at + 512 + size].to_vec(), mode));
            at += 512 + size.div_ceil(512) * 512;
        }
        out
    }

    #[test]
    fn the_page_writes_its_dockerfile_and_files_after_an_upload() {
        let upload = context_tar(
            None,
            &[ContextFile {
                name: "Dockerfile".into(),
                content: "FROM old\n".into(),
            }],
            None,
        )
        .unwrap();
        assert_eq!(tar_entries_end(&upload).unwrap(), 1024);
        let tar = context_tar(
            Some("FROM busybox\n"),
            &[ContextFile {
                name: "./conf/app.sh".into(),
                content: "#!/bin/sh\necho hi\n".into(),
            }],
            Some(&upload),
        )
        .unwrap();
        let e = entries(&tar);
        let names: Vec<&str> = e.iter().map(|(n, _, _)| n.as_str()).collect();
        assert_eq!(names, ["Dockerfile", "Dockerfile", "conf/", "conf/app.sh"]);
        assert_eq!(
            e[1].1, b"FROM busybox\n",
            "the written Dockerfile comes last and wins"
        );
        assert_eq!(e[3].2, 0o755, "a script is executable");
        assert_eq!(e[1].2, 0o644);
        assert!(tar.ends_with(&[0; 1024]));
    }

    #[test]
    fn bad_contexts_are_refused_with_a_reason() {
        let f = |name: &str| ContextFile {
            name: name.into(),
            content: String::new(),
        };
        assert!(context_tar(None, &[f("../x")], None)
            .unwrap_err()
            .contains("leave the build context"));
        assert_eq!(
            context_tar(None, &[], None).unwrap_err(),
            "write a Dockerfile or upload a context tar"
        );
        let gz = [0x1f, 0x8b, 8, 0];
        assert_eq!(
            context_tar(None, &[], Some(&gz)).unwrap(),
            gz,
            "sent as it is"
        );
        assert!(context_tar(Some("FROM x"), &[], Some(&gz))
            .unwrap_err()
            .contains("gzip"));
        assert!(tar_entries_end(&[1u8; 100])
            .unwrap_err()
            .contains("not an uncompressed tar"));
        assert!(tar_entries_end(&[b'x'; 512]).is_err());
    }

    const LOG: &str = "Step 1/3 : FROM busybox\n ---> 3f57d9401f8d\nStep 2/3 : RUN echo hi\n ---> Running in 1a2b3c4d5e6f\nhi\nRemoving intermediate container 1a2b3c4d5e6f\n ---> 0123456789ab\nStep 3/3 : CMD [\"sh\"]\n ---> Using cache\n ---> 89abcdef0123\nSuccessfully built 89abcdef0123\nSuccessfully tagged x:latest\n";

    #[test]
    fn the_log_reads_back_as_steps_with_cache_hits() {
        let s = log_steps(LOG);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].image.as_deref(), Some("3f57d9401f8d"));
        assert_eq!(s[1].instruction, "RUN echo hi");
        assert_eq!(s[1].container.as_deref(), Some("1a2b3c4d5e6f"));
        assert_eq!(s[1].output, ["hi"]);
        assert!(!s[1].cached);
        assert!(s[2].cached);
        assert_eq!(s[2].image.as_deref(), Some("89abcdef0123"));
        assert_eq!((s[2].number, s[2].total), (3, 3));
        assert!(s[0].base && !s[1].base);
        assert_eq!(cache_summary(&s).unwrap(), "1 of 2 steps from the cache");
        assert_eq!(
            cache_summary(&s[..1]),
            None,
            "a FROM alone asks nothing of the cache"
        );
        let all = log_steps(&LOG.replace(
            " ---> Running in 1a2b3c4d5e6f\nhi\nRemoving intermediate container 1a2b3c4d5e6f\n",
            " ---> Using cache\n",
        ));
        assert_eq!(
            cache_summary(&all).unwrap(),
            "every step (2) from the cache"
        );
        // a log cut inside a step is read as far as it goes
        assert_eq!(log_steps("Step 1/2 : FROM a\n ---> Runn").len(), 1);
        assert_eq!(cache_summary(&[]), None);
    }

    #[test]
    fn the_answer_is_read_across_chunks() {
        let answer = "{\"text\":\"Step 1/1 : FROM busybox\\n\"}\n{\"text\":\" ---> caf\u{e9}\\n\"}\n{\"image\":\"sha256:ab\"}\n{\"error\":\"boom\",\"code\":3}";
        let mut r = BuildRun::default();
        for c in answer.as_bytes().chunks(7) {
            r.feed(c);
        }
        assert_eq!(r.error, None, "the last line waits for its end");
        r.finish();
        assert_eq!(r.log, "Step 1/1 : FROM busybox\n ---> café\n");
        assert_eq!(r.image.as_deref(), Some("sha256:ab"));
        assert_eq!(r.error, Some(("boom".into(), Some(3))));
    }

    #[test]
    fn history_rows_pair_layer_steps_with_layers_in_order() {
        let h = |by: &str, empty: bool| HistoryDto {
            created_by: by.into(),
            empty_layer: empty,
            ..Default::default()
        };
        let l = |d: char| LayerDto {
            diff_id: format!("sha256:{}", d.to_string().repeat(64)),
            size: 1000,
            refcount: 1,
        };
        let image = ImageDetailDto {
            // newest first
            history: vec![
                h("/bin/sh -c #(nop)  CMD [\"/app.sh\"]", true),
                h("/bin/sh -c #(nop) COPY file:ab in /opt/app/ ", false),
                h("/bin/sh -c #(nop)  ENV APP=1", true),
                h("/bin/sh -c mkdir -p /opt/app", false),
                h("import", false),
            ],
            layers: vec![l('a'), l('b'), l('c')],
            ..Default::default()
        };
        let rows = instruction_rows(&image);
        let shown: Vec<(String, Option<usize>)> = rows
            .iter()
            .map(|r| (r.instruction.clone(), r.layer.as_ref().map(|l| l.index)))
            .collect();
        assert_eq!(
            shown,
            [
                ("import".to_string(), Some(0)),
                ("RUN mkdir -p /opt/app".into(), Some(1)),
                ("ENV APP=1".into(), None),
                ("COPY file:ab in /opt/app/".into(), Some(2)),
                ("CMD [\"/app.sh\"]".into(), None),
            ]
        );
        assert_eq!(rows[3].layer.as_ref().unwrap().short_id, "cccccccccccc");
    }
}
