#!/usr/bin/env bash
# Benchmarks strata's import, save, load and fsck against the standard tools doing the same
# work on the same bytes (sha256sum, tar -x, cp, pigz), and writes BENCH.md with the figures.
#
# Usage: scripts/bench.sh [--runs N] [--no-build]
#        (run by `just bench`; about 2-3 minutes after the build; --no-build uses the existing
#        target/release/strata, e.g. while the tree does not build)
# Data:  ./bench-data (git-ignored): a deterministic ~250 MB rootfs of ~10,000 files and its tar,
#        generated once and reused while the generator version below is unchanged.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
export PATH="$HOME/.cargo/bin:$PATH"

runs=5
build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    *) echo "usage: scripts/bench.sh [--runs N] [--no-build]" >&2; exit 2 ;;
  esac
done

for tool in hyperfine python3 sha256sum tar pigz cp; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool is missing; run: bash scripts/install-deps.sh test" >&2
    exit 1
  fi
done

if [ "$build" = 1 ]; then
  echo "== building strata (release)"
  cargo build --release -p strata
fi
target="${CARGO_TARGET_DIR:-$here/target}"
case "$target" in /*) ;; *) target="$here/$target" ;; esac
strata="$target/release/strata"
[ -x "$strata" ] || { echo "error: $strata not built" >&2; exit 1; }

data="$here/bench-data"
gen_version="v2-seed42-10000files"
mkdir -p "$data"
if [ "$(cat "$data/.generated" 2>/dev/null || true)" != "$gen_version" ] || [ ! -f "$data/rootfs.tar" ]; then
  echo "== generating the rootfs ($gen_version)"
  rm -rf "$data/rootfs" "$data/rootfs.tar" "$data/.generated"
  python3 - "$data/rootfs" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(42)
words = [b"lib", b"usr", b"share", b"config", b"value", b"true", b"false", b"path", b"data", b"name",
         b"version", b"include", b"static", b"const", b"return", b"struct", b"\n", b"  ", b"= ", b"{}"]
def text(n):
    out = b" ".join(rng.choices(words, k=n // 3 + 8))
    while len(out) < n:
        out += b" ".join(rng.choices(words, k=n // 3 + 8))
    return out[:n]
def blob(n):
    # half incompressible, half text: roughly what binaries and data files look like
    h = n // 2
    return rng.randbytes(h) + text(n - h)
total = 0
dirs = [f"usr/lib/pkg{d:03d}" for d in range(200)] + [f"usr/share/doc/d{d:03d}" for d in range(100)]
for d in dirs:
    os.makedirs(os.path.join(root, d), exist_ok=True)
# ~9,880 small files (0.5-16 KB, mostly text) and 120 large ones (0.5-2.25 MB)
for i in range(9880):
    d = rng.choice(dirs)
    n = rng.randint(512, 16 * 1024)
    with open(os.path.join(root, d, f"f{i:05d}"), "wb") as f:
        f.write(text(n) if rng.random() < 0.7 else blob(n))
    total += n
for i in range(120):
    d = rng.choice(dirs[:200])
    n = rng.randint(512 * 1024, 2304 * 1024)
    with open(os.path.join(root, d, f"big{i:03d}.so"), "wb") as f:
        f.write(blob(n))
    total += n
print(f"{total/1e6:.1f} MB in 10000 files")
PY
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$data/rootfs" -cf "$data/rootfs.tar" .
  echo "$gen_version" > "$data/.generated"
fi
tarfile="$data/rootfs.tar"
bytes=$(stat -c %s "$tarfile")
files=$(tar -tf "$tarfile" | grep -vc '/$' || true)
echo "== rootfs.tar: $bytes bytes, $files files"

work="$data/work"
rm -rf "$work"
mkdir -p "$work/json"

# A store with the image, an archive saved from it, for save/load/fsck.
"$strata" --root "$work/store" import "$tarfile" bench:1 >/dev/null
"$strata" --root "$work/store" save -o "$work/saved.tar" bench:1
saved_bytes=$(stat -c %s "$work/saved.tar")

hf() { # name, warmup, runs, hyperfine args...
  local name="$1" warmup="$2" n="$3"; shift 3
  echo "== $name"
  hyperfine --style basic --warmup "$warmup" --runs "$n" --export-json "$work/json/$name.json" "$@"
}
slow=$(( runs < 3 ? runs : 3 )) # the slow baselines (tar -x, pigz) get fewer runs to keep the total short

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
hf sha256sum 1 "$runs" -n "sha256sum rootfs.tar" "sha256sum '$tarfile'"
if command -v openssl >/dev/null 2>&1; then
  hf openssl 1 "$runs" -n "openssl dgst -sha256 rootfs.tar" "openssl dgst -sha256 '$tarfile'"
fi
hf tar-x 0 "$slow" --prepare "rm -rf '$work/x' && mkdir '$work/x'" -n "tar -x" "tar -x -f '$tarfile' -C '$work/x'"
rm -rf "$work/x"
hf cp 1 "$runs" --prepare "rm -f '$work/copy.tar'" -n "cp rootfs.tar" "cp '$tarfile' '$work/copy.tar'"
hf cp-sync 1 "$runs" --prepare "rm -f '$work/copy.tar'" -n "cp rootfs.tar && sync" "cp '$tarfile' '$work/copy.tar' && sync '$work/copy.tar'"
rm -f "$work/copy.tar"
# hash and store durably, as import/load must: the stream is written to a file while it is hashed
hasher="sha256sum"; command -v openssl >/dev/null 2>&1 && hasher="openssl dgst -sha256"
hf hash-store 1 "$runs" --prepare "rm -f '$work/copy.tar'" -n "tee | $hasher && sync" \
  "tee '$work/copy.tar' < '$tarfile' | $hasher > /dev/null && sync '$work/copy.tar'"
rm -f "$work/copy.tar"
hf pigz 0 "$slow" -n "pigz -c rootfs.tar" "pigz -c '$tarfile' > /dev/null"
hf import 1 "$runs" --prepare "rm -rf '$work/r-import'" -n "strata import" "'$strata' --root '$work/r-import' import '$tarfile' bench:1"
hf save 1 "$runs" --prepare "rm -f '$work/out.tar'" -n "strata save" "'$strata' --root '$work/store' save -o '$work/out.tar' bench:1"
hf load 1 "$runs" --prepare "rm -rf '$work/r-load'" -n "strata load" "'$strata' --root '$work/r-load' load -i '$work/saved.tar'"
hf fsck 1 "$runs" -n "strata fsck" "'$strata' --root '$work/store' fsck"
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
ncpu=$(nproc)
mem=$(awk '/MemTotal/ {printf "%.1f GB", $2/1e6}' /proc/meminfo)
fs=$(df -T "$data" | awk 'NR==2 {print $2}')
kernel=$(uname -r)
shani=$(grep -m1 -o -w sha_ni /proc/cpuinfo || echo "no sha_ni")
rev=$(git -C "$here" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
if [ -n "$(git -C "$here" status --porcelain 2>/dev/null)" ]; then dirty=" + uncommitted changes"; fi
built=$(date -u -r "$strata" '+%Y-%m-%d %H:%M UTC')
if [ "$build" = 0 ]; then dirty="$dirty (binary built $built, not rebuilt: --no-build)"; fi

coreutils=$(sha256sum --version 2>/dev/null | sed -n 1p)
python3 - "$work/json" "$bytes" "$saved_bytes" "$files" "$runs" "$here/BENCH.md" \
  "$cpu" "$ncpu" "$mem" "$fs" "$kernel" "$shani" "$rev$dirty" "$load_before" "$load_after" "$coreutils" "$slow" "$hasher" <<'PY'
import json, os, sys
(jdir, nbytes, saved, files, runs, out, cpu, ncpu, mem, fs, kernel, shani, rev,
 load_before, load_after, coreutils, slow, hasher) = sys.argv[1:]
nbytes, saved = int(nbytes), int(saved)
r = {}
for f in os.listdir(jdir):
    d = json.load(open(os.path.join(jdir, f)))["results"][0]
    r[f[:-5]] = (d["mean"], d["stddev"] or 0.0, d["min"], d["max"])
def mbs(name, n=nbytes):
    return n / 1e6 / r[name][0]
rows = [
    ("sha256sum", "sha256sum rootfs.tar", nbytes),
    ("openssl", "openssl dgst -sha256 rootfs.tar", nbytes),
    ("tar-x", "tar -x -f rootfs.tar -C <fresh dir>", nbytes),
    ("cp", "cp rootfs.tar <file>", nbytes),
    ("cp-sync", "cp rootfs.tar <file> && sync <file>", nbytes),
    ("hash-store", f"tee <file> < rootfs.tar | {hasher} && sync <file>", nbytes),
    ("pigz", "pigz -c rootfs.tar > /dev/null", nbytes),
    ("import", "strata import rootfs.tar (fresh root)", nbytes),
    ("save", "strata save -o x.tar bench:1", saved),
    ("load", "strata load -i x.tar (fresh root)", saved),
    ("fsck", "strata fsck (re-hash every blob)", nbytes),
]
rows = [x for x in rows if x[0] in r]
lines = []
lines.append("| operation | command | mean ± σ (s) | min … max (s) | MB/s |")
lines.append("|---|---|---|---|---|")
for key, cmd, n in rows:
    m, s, lo, hi = r[key]
    lines.append(f"| {key} | `{cmd}` | {m:.3f} ± {s:.3f} | {lo:.3f} … {hi:.3f} | {mbs(key, n):.0f} |")
table = "\n".join(lines)

def ratio(a, b):
    return r[a][0] / r[b][0]
checks = [
    # the criterion: the same work done by standard tools
    ("import", "hash-store", "hash the tar while writing it to a file, then fsync"),
    ("load", "hash-store", "hash the bytes while writing them to a file, then fsync"),
    ("save", "cp-sync", "write the same bytes to a file, then fsync"),
    ("fsck", "openssl", "hash the same bytes (OpenSSL, SHA-NI when present)"),
    # for context
    ("import", "sha256sum", "hash the same tar (coreutils, no SHA-NI)"),
    ("import", "openssl", "hash the same tar, nothing written"),
    ("import", "tar-x", "unpack the same tar into a directory (no fsync)"),
    ("load", "sha256sum", "hash the same bytes (coreutils)"),
    ("load", "tar-x", "unpack the same bytes (no fsync)"),
    ("save", "cp", "copy the same bytes (copy_file_range, no fsync)"),
    ("fsck", "sha256sum", "hash the same bytes (coreutils)"),
]
checks = [c for c in checks if c[0] in r and c[1] in r]
rl = ["| strata | vs | ratio (time) | within 1.5× | what the standard tool does |", "|---|---|---|---|---|"]
for i, (a, b, what) in enumerate(checks):
    if i == 4:
        rl.append("| *context* | | | | |")
    x = ratio(a, b)
    rl.append(f"| {a} | {b} | {x:.2f}× | {'yes' if x <= 1.5 else '**no**'} | {what} |")
ratios = "\n".join(rl)

doc = f"""# Benchmarks

Measured by `just bench` (`bash scripts/bench.sh --runs {runs}{" --no-build" if "--no-build" in rev else ""}`): hyperfine, 1 warm-up run and {runs} measured
runs per command ({slow} runs without warm-up for the slow baselines `tar -x` and `pigz`), input in the page
cache. Release build of `strata` (`cargo build --release -p strata`) at {rev}.

## Machine
- CPU: {cpu} × {ncpu} (`nproc` = {ncpu}; {shani})
- Memory: {mem}; kernel {kernel}; `bench-data` on {fs}; `sha256sum` is {coreutils}
- Load average (1/5/15 min) before the runs: {load_before}; after: {load_after}. A load near or above
  `nproc` means other work shared the CPUs and the figures are noisy; compare ratios, not absolutes.

## Input
A deterministic rootfs (python `random.Random(42)`): {files} files, 9,880 small (0.5–16 KB, 70 % text)
and 120 large (0.5–2.25 MB, half random bytes, half text), in 300 directories. `rootfs.tar`
(`tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0`) is {nbytes:,} bytes
({nbytes/1e6:.1f} MB); the archive `strata save` writes is {saved:,} bytes.

## Results
{table}

MB/s is the size of the tar (save/load: of the saved archive) divided by the mean time.

## Ratios (strata time ÷ standard-tool time on the same bytes; the goal is ≤ 1.5×)
The first four rows are the criterion: each compares a verb with the standard tools doing the same work
(hashing and durably writing the bytes for import and load, durably writing them for save, hashing them
for fsck). The rest give context.

{ratios}

Notes:
- `strata import` streams the tar once: it hashes it (diff ID), validates every tar header, writes the layer
  blob to `ingest/`, fsyncs it and renames it into `blobs/sha256/`, then writes the config and commits the
  metadata. The standard tools do not fsync.
- `strata load` reads the archive once, streams large files straight into blobs under their digest, checks
  each layer against the config's diff ID, fsyncs and commits; `strata save` copies the stored blobs into a
  tar written beside the target, fsyncs it and renames it into place (so `cp && sync` is its fair baseline).
- `strata fsck` re-hashes every blob (the 250 MB layer and the config): its ratio to `sha256sum` and to
  `openssl dgst -sha256` is strata's raw hashing throughput against theirs. Debian's coreutils `sha256sum`
  does not use the CPU's SHA extensions; OpenSSL (and strata's `sha2` with its `asm` feature) do, which is
  why the ratios against `sha256sum` are far below 1.
"""
open(out, "w").write(doc)
print(doc)
PY
echo "== wrote $here/BENCH.md"
