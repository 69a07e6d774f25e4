//! The store refuses a layer stack at import, load and pull when an entry cannot be applied
//! where it stands (`layer_union::Union::refusal`, the pure model), instead of accepting it
//! and failing at `create`. That only holds if the model refuses exactly what `apply_on`
//! refuses on disk: this test applies many small generated stacks both ways and compares.

use layer_apply::{apply_on, ApplyOptions, Mode};
use layer_diff::Refusal;
use layer_union::Union;
use std::path::{Path, PathBuf};
use tar::{EntryType, Header};

/// A deterministic generator (xorshift64*), so a failure names a case that reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
        of[(self.next() % of.len() as u64) as usize]
    }
}

const NAMES: &[&str] = &[
    "a", "b", "c", "a/b", "a/c", "b/a", "a/b/c", "c/a", "l", "l/a",
];
const SYMLINK_TARGETS: &[&str] = &[
    "a", "/a", "b", "/b/a", "..", "/", "a/b", "c", "missing", "l", "/l/a", "a/../b", "a/b/..",
];
const LINK_TARGETS: &[&str] = &["a", "b", "c", "a/b", "b/a", "a/b/c", "l", "l/a", "missing"];

#[derive(Debug, Clone)]
enum Member {
    File(String),
    Dir(String),
    Symlink(String, String),
    Hardlink(String, String),
    Whiteout(String),
    Opaque(String),
}

fn member(rng: &mut Rng) -> Member {
    let name = rng.pick(NAMES).to_string();
    match rng.next() % 10 {
        0..=2 => Member::File(name),
        3..=4 => Member::Dir(name),
        5..=6 => Member::Symlink(name, rng.pick(SYMLINK_TARGETS).to_string()),
        7 => Member::Hardlink(name, rng.pick(LINK_TARGETS).to_string()),
        8 => Member::Whiteout(name),
        _ => Member::Opaque(name),
    }
}

fn tar_of(members: &[Member]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let header = |ty: EntryType| {
        let mut h = Header::new_gnu();
        h.set_entry_type(ty);
        h.set_mode(if ty == EntryType::Directory {
            0o755
        } else {
            0o644
        });
        h.set_mtime(0);
        h.set_size(0);
        h
    };
    let marker = |dir: &str, name: &str| match dir.rsplit_once('/') {
        _ if name == ".wh..wh..opq" => format!("{dir}/{name}"),
        Some((d, base)) => format!("{d}/.wh.{base}"),
        None => format!(".wh.{dir}"),
    };
    for m in members {
        match m {
            Member::File(p) => {
                let mut h = header(EntryType::Regular);
                h.set_size(1);
                b.append_data(&mut h, p, &b"x"[..]).unwrap();
            }
            Member::Dir(p) => {
                let mut h = header(EntryType::Directory);
                b.append_data(&mut h, format!("{p}/"), std::io::empty())
                    .unwrap();
            }
            Member::Symlink(p, t) => {
                let mut h = header(EntryType::Symlink);
                b.append_link(&mut h, p, t).unwrap();
            }
            Member::Hardlink(p, t) => {
                let mut h = header(EntryType::Link);
                b.append_link(&mut h, p, t).unwrap();
            }
            Member::Whiteout(p) => {
                let mut h = header(EntryType::Regular);
                b.append_data(&mut h, marker(p, ""), std::io::empty())
                    .unwrap();
            }
            Member::Opaque(p) => {
                let mut h = header(EntryType::Regular);
                b.append_data(&mut h, marker(p, ".wh..wh..opq"), std::io::empty())
                    .unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// Unpacks the stack one layer directory each, as the engine stages a chain: `Ok`, or the
/// index of the layer refused and why.
fn on_disk(base: &Path, tars: &[Vec<u8>]) -> Result<(), (usize, String)> {
    let opts = ApplyOptions {
        mode: Mode::Unpack,
        ..Default::default()
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (n, t) in tars.iter().enumerate() {
        let dir = base.join(format!("l{n}"));
        std::fs::create_dir(&dir).unwrap();
        let lowers: Vec<&Path> = dirs.iter().rev().map(PathBuf::as_path).collect();
        apply_on(&dir, &lowers, t.as_slice(), &opts).map_err(|e| (n, e.to_string()))?;
        dirs.push(dir);
    }
    Ok(())
}

impl std::fmt::Display for Member {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Member::File(p) => write!(f, "{p}"),
            Member::Dir(p) => write!(f, "{p}/"),
            Member::Symlink(p, t) => write!(f, "{p} -> {t}"),
            Member::Hardlink(p, t) => write!(f, "{p} => {t}"),
            Member::Whiteout(p) => write!(f, "-{p}"),
            Member::Opaque(p) => write!(f, "{p}/*opaque*"),
        }
    }
}

fn show(layers: &[Vec<Member>]) -> String {
    layers
        .iter()
        .enumerate()
        .map(|(n, l)| {
            let members: Vec<String> = l.iter().map(ToString::to_string).collect();
            format!("  layer {n}: {}\n", members.join("; "))
        })
        .collect()
}

/// The layer refused, and why, by the model and by `apply_on`; `None` when ingest refuses a
/// layer on its own (a whiteout used as a directory…): such a layer never reaches a stack.
type Outcomes = (Option<(usize, Refusal)>, Result<(), (usize, String)>);

fn outcomes(layers: &[Vec<Member>]) -> Option<Outcomes> {
    let tars: Vec<Vec<u8>> = layers.iter().map(|l| tar_of(l)).collect();
    let changesets = tars
        .iter()
        .map(|t| layer_diff::read_changeset(t.as_slice()))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    let model = Union::build(&changesets).refusal().cloned();
    let tmp = tempfile::tempdir().unwrap();
    Some((model, on_disk(tmp.path(), &tars)))
}

/// `None` when both agree (or ingest refuses a layer on its own), else both answers.
fn disagreement(layers: &[Vec<Member>]) -> Option<String> {
    agree(&outcomes(layers)?)
}

fn agree((model, disk): &Outcomes) -> Option<String> {
    match (model, disk) {
        (None, Ok(())) => None,
        (Some((m, _)), Err((d, _))) if m == d => None,
        _ => Some(format!("the model says {model:?}, apply_on says {disk:?}")),
    }
}

/// A smaller stack with the same disagreement: members and layers dropped while it stays.
fn shrink(mut layers: Vec<Vec<Member>>) -> Vec<Vec<Member>> {
    loop {
        let mut smaller = None;
        'search: for n in 0..layers.len() {
            if layers.len() > 1 {
                let mut l = layers.clone();
                l.remove(n);
                if disagreement(&l).is_some() {
                    smaller = Some(l);
                    break 'search;
                }
            }
            for i in 0..layers[n].len() {
                let mut l = layers.clone();
                l[n].remove(i);
                if !l[n].is_empty() && disagreement(&l).is_some() {
                    smaller = Some(l);
                    break 'search;
                }
            }
        }
        match smaller {
            Some(l) => layers = l,
            None => return layers,
        }
    }
}

#[test]
fn the_model_refuses_exactly_what_apply_on_refuses() {
    // Another seed explores further: `REFUSALS_SEED=<n> cargo test -p layer-apply --test
    // refusals_agree`.
    let seed = std::env::var("REFUSALS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x05ee_d0f1_a7e5_u64);
    let mut rng = Rng(seed | 1);
    let (mut compared, mut refused) = (0, 0);
    for case in 0..4000 {
        let layers: Vec<Vec<Member>> = (0..1 + rng.next() % 3)
            .map(|_| (0..1 + rng.next() % 5).map(|_| member(&mut rng)).collect())
            .collect();
        let Some(found) = outcomes(&layers) else {
            continue;
        };
        compared += 1;
        if found.0.is_some() {
            refused += 1;
        }
        if agree(&found).is_some() {
            let small = shrink(layers);
            panic!(
                "case {case}: {}\n{}",
                disagreement(&small).unwrap(),
                show(&small)
            );
        }
    }
    // The generator reaches both outcomes often enough to mean something.
    assert!(compared > 3000, "{compared} stacks compared");
    assert!(
        refused > 300 && compared - refused > 1000,
        "{refused} of {compared} refused"
    );
}
