#!/usr/bin/env bash
# Benchmarks the costs issue 11 §6 names, the docker CLI talking to `strata serve` over a unix
# socket beside the same CLI talking to the reference daemon (Debian's docker.io, dockerd
# 20.10) when one is installed, on the same fixtures, and appends the table to BENCH.md:
#   cp of a 100 MB directory into a container, load of an image already present, commit of
#   a 100 MB change, create, 500 tags over the API, GET /images/json with 1,006 tags,
#   system df, and the server's peak memory growth (VmHWM from /proc) for a 1 GB cp and load.
# The reference is never a dependency: without `dockerd` its columns are skipped (a line says
# so). When it is installed this script starts it by hand on a private socket under
# /var/tmp/refd and stops it at the end (unless one already answers there).
#
# Usage: scripts/bench-cost.sh [--runs N] [--no-build] [--big-mb N]   (`just bench` runs it after bench-serve.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
here="$PWD"
runs=5
build=1
big_mb=1024
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --no-build) build=0; shift ;;
    --big-mb) big_mb="$2"; shift 2 ;;
    *) echo "usage: scripts/bench-cost.sh [--runs N] [--no-build] [--big-mb N]" >&2; exit 2 ;;
  esac
done
for tool in hyperfine python3 curl; do
  command -v "$tool" >/dev/null || { echo "error: $tool missing (bash scripts/install-deps.sh test)" >&2; exit 1; }
done
# The interpreter itself, not a version manager's shim in front of it (pyenv's adds ~80 ms of
# shell to every start, the same in both columns, pulling the API rows' ratios towards 1).
py="$(python3 -c 'import sys; print(sys.executable)')"
# The same docker CLI drives both servers: Debian's 20.10 when installed (what the issue
# measured with), else the one install-deps.sh puts in /usr/local/bin.
docker=""
for d in /usr/bin/docker /usr/local/bin/docker; do [ -x "$d" ] && { docker="$d"; break; }; done
[ -n "$docker" ] || { echo "error: no docker CLI (bash scripts/install-deps.sh test)" >&2; exit 1; }

[ "$build" = 1 ] && cargo build --release -q -p strata
target="${CARGO_TARGET_DIR:-$here/target}"
# the writing floor of cp (crates/test-support/examples/cp_floor.rs): small, built every time
cargo build --release -q -p test-support --example cp_floor
cp_floor="$target/release/examples/cp_floor"
strata="$target/release/strata"
[ -x "$strata" ] || { echo "error: $strata not built" >&2; exit 1; }

data="$here/bench-data/cost"
work="$(mktemp -d /var/tmp/strata-bench-cost.XXXXXX)"
. scripts/bench-lib.sh
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_refd
  rm -rf "$work"
}
trap cleanup EXIT

# --- fixtures (deterministic, generated once) ----------------------------------------------
mkdir -p "$data"
python3 - "$data" "$big_mb" <<'PY'
import io, os, random, sys, tarfile
out, big_mb = sys.argv[1], int(sys.argv[2])
def tree(path, n, seed):
    if os.path.isdir(path) and len(os.listdir(path)) == n:
        return
    os.makedirs(path, exist_ok=True)
    rng = random.Random(seed)
    for i in range(n):  # 1 MiB files, half random bytes, half text
        body = rng.randbytes(1 << 19) + (f"file {i} " * 70000)[: 1 << 19].encode()
        open(f"{path}/f{i:04d}", "wb").write(body)
tree(f"{out}/dir100", 100, 1)          # the 100 MB directory for cp and commit
tree(f"{out}/dirbig", big_mb, 2)       # the large one for the memory rows
if not os.path.exists(f"{out}/base.tar"):  # a small rootfs: the image containers are made of
    with tarfile.open(f"{out}/base.tar", "w") as t:
        for d in ("bin", "etc", "tmp", "data"):
            i = tarfile.TarInfo(d); i.type = tarfile.DIRTYPE; i.mode = 0o755; t.addfile(i)
        body = b"root:x:0:0:root:/root:/bin/sh\n"
        i = tarfile.TarInfo("etc/passwd"); i.size = len(body); t.addfile(i, io.BytesIO(body))
PY
# rootfs tars: ~200 MB (load-present) and big_mb (the memory row of load)
[ -f "$data/img200.rootfs.tar" ] || { mkdir -p "$work/r200"; cp -r "$data/dir100" "$work/r200/a"; cp -r "$data/dir100" "$work/r200/b"; \
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$work/r200" -cf "$data/img200.rootfs.tar" .; rm -rf "$work/r200"; }
[ -f "$data/imgbig.rootfs.tar" ] || tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$data/dirbig" -cf "$data/imgbig.rootfs.tar" .
# Fixtures just written (over 2 GB on a first run) are flushed now, not by the kernel's
# writeback in the middle of the first rows.
sync

# --- the servers ------------------------------------------------------------------------------
sroot="$work/strata-root"
ssock="$work/strata.sock"
"$strata" --root "$sroot" serve --listen 127.0.0.1:0 --unix-socket "$ssock" --web-dir /nonexistent >"$work/serve.log" 2>&1 &
spid=$!
pids+=("$spid")
for _ in $(seq 200); do curl -sf --unix-socket "$ssock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.1; done
curl -sf --unix-socket "$ssock" http://x/_ping >/dev/null || { cat "$work/serve.log"; echo "error: strata serve did not start" >&2; exit 1; }

have_ref=""
rsock="$refd/docker.sock"
start_refd
[ -n "$ref_host" ] && have_ref=1
if [ -z "$have_ref" ]; then
  echo "== dockerd is not installed or did not start: the reference columns are skipped"
fi
rver=""
[ -n "$have_ref" ] && rver=$(DOCKER_HOST="unix://$rsock" "$docker" version -f '{{.Server.Version}}' 2>/dev/null || echo "?")

# The floor: a server that answers the CLI's create, cp and load requests at once and does no work
# (scripts/bench-floor.py); the same commands against it are what the CLI alone costs.
fsock="$work/floor.sock"
"$py" scripts/bench-floor.py "$fsock" &
pids+=("$!")
for _ in $(seq 100); do [ -S "$fsock" ] && break; sleep 0.05; done
F="DOCKER_HOST=unix://$fsock $docker"
# The writing floor of cp: a minimal blocking server that writes the tar's files and does
# nothing else (no checks, no layer), on the filesystem the stores are on.
wsock="$work/wfloor.sock"
"$cp_floor" "$wsock" "$work/wfloor" &
pids+=("$!")
for _ in $(seq 100); do [ -S "$wsock" ] && break; sleep 0.05; done
W="DOCKER_HOST=unix://$wsock $docker"
S="DOCKER_HOST=unix://$ssock $docker"
R="DOCKER_HOST=unix://$rsock $docker"
sides=(S)
[ -n "$have_ref" ] && sides+=(R)
cli() { # side, args...
  local side="$1"; shift
  if [ "$side" = S ]; then DOCKER_HOST="unix://$ssock" "$docker" "$@"; else DOCKER_HOST="unix://$rsock" "$docker" "$@"; fi
}
sockof() { if [ "$1" = S ]; then echo "$ssock"; else echo "$rsock"; fi; }

# The API client for the tag and list rows: one keep-alive connection over the unix socket.
cat > "$work/api.py" <<'PY'
import http.client, json, socket, sys, time
class Unix(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost"); self.path = path
    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); self.sock.connect(self.path)
sock, what = sys.argv[1], sys.argv[2]
c = Unix(sock)
def call(method, url, body=None):
    if body is not None:
        data = json.dumps(body).encode()
        c.request(method, url, body=data, headers={"Content-Type": "application/json", "Content-Length": str(len(data))})
    else:
        c.request(method, url, headers={"Content-Length": "0"} if method == "POST" else {})
    r = c.getresponse(); body = r.read()
    if r.status >= 300:
        sys.exit(f"{method} {url}: {r.status} {body[:200]!r}")
    return body
if what == "tag":  # tag N times: fresh names each run
    n, image = int(sys.argv[3]), sys.argv[4]
    run = time.time_ns()
    for i in range(n):
        call("POST", f"/images/{image}/tag?repo=bench/t{run}&tag=n{i}")
elif what == "create":  # create N containers (labelled, removed after the row)
    n, image = int(sys.argv[3]), sys.argv[4]
    for _ in range(n):
        call("POST", "/containers/create", {"Image": image, "Labels": {"strata-bench": "create"}})
elif what == "start":  # nothing: the client's own start-up, taken off the API rows
    pass
elif what == "list":  # GET /images/json N times
    n = int(sys.argv[3])
    for _ in range(n):
        json.loads(call("GET", "/images/json"))
PY

for side in "${sides[@]}"; do
  cli "$side" import -c 'CMD ["/bin/sh"]' "$data/base.tar" bench/base:1 >/dev/null
  cli "$side" rm -f cpc >/dev/null 2>&1 || true
done

hf() { # name, extra hyperfine args... (commands given per side)
  local name="$1"; shift
  echo "== $name"
  hyperfine --style basic --runs "$runs" --export-json "$work/$name.json" "$@"
}
# One hyperfine per row: strata first, then the reference, with the same command; with a
# fourth argument `floor`, also against the floor server (its prepare step is nothing), and
# with a fifth, against the writing floor. Every prepare step ends with a `sync`, so the
# writeback of a run's 100 MB does not land in the next run, whichever side it is.
row() { # name, prepare (with @ for the side's docker), command (same), [floor], [wfloor]
  local name="$1" prep="$2" cmd="$3" args=()
  for side in "${sides[@]}"; do
    local d; if [ "$side" = S ]; then d="$S"; else d="$R"; fi
    args+=(--prepare "${prep//@/$d}; sync" -n "$side" "${cmd//@/$d}")
  done
  if [ "${4:-}" = floor ]; then args+=(--prepare sync -n F "${cmd//@/$F}"); fi
  if [ -n "${5:-}" ]; then args+=(--prepare "rm -rf '$work/wfloor'; sync" -n W "${cmd//@/$W}"); fi
  hf "$name" "${args[@]}"
}

# cp of a 100 MB directory into a fresh container (created in the untimed prepare step)
row cp "@ rm -f cpc >/dev/null 2>&1; @ create --name cpc bench/base:1 >/dev/null" \
  "@ cp '$data/dir100' cpc:/data/" floor wfloor
# commit of a 100 MB change (the container with the directory copied in, prepared untimed)
row commit "@ rm -f cmc >/dev/null 2>&1; @ create --name cmc bench/base:1 >/dev/null && @ cp '$data/dir100' cmc:/data/" \
  "@ commit cmc bench/committed:1"
# cp of a small file into that container, whose writable layer holds the 100 MB: what a cp
# costs beside a layer's bytes
row cp-small "true" "@ cp '$data/base.tar' cmc:/tmp/" floor
# create
row create "true" "@ create bench/base:1" floor
# The API rows' client: its start-up (python and its imports, ~70 ms) is in every run of
# those rows; measured alone, it is taken off them for their per-call figures.
args=()
for side in "${sides[@]}"; do args+=(-n "$side" "$py '$work/api.py' '$(sockof "$side")' start"); done
hf start "${args[@]}"
# create over the API: 100 in one client process, so the docker CLI's own start-up (most of
# the row above) is out of both columns; the containers go afterwards
args=()
for side in "${sides[@]}"; do args+=(-n "$side" "$py '$work/api.py' '$(sockof "$side")' create 100 bench/base:1"); done
hf create100 "${args[@]}"
for side in "${sides[@]}"; do
  cli "$side" ps -aq --filter label=strata-bench=create | xargs -r -n 100 "$docker" -H "unix://$(sockof "$side")" rm >/dev/null
done
# load of an image already present: the archive strata saves (Docker 25+ layout), loaded
# once untimed into each side, then again timed
cli S import "$data/img200.rootfs.tar" bench/img200:1 >/dev/null
cli S save -o "$work/img200.tar" bench/img200:1
for side in "${sides[@]}"; do cli "$side" load -q -i "$work/img200.tar" >/dev/null; done
row load-present "true" "@ load -q -i '$work/img200.tar'" floor
# 500 tags over the API
args=()
for side in "${sides[@]}"; do args+=(-n "$side" "$py '$work/api.py' '$(sockof "$side")' tag 500 bench/base:1"); done
hf tag500 "${args[@]}"
# GET /images/json with 1,006 tags: the tags above, trimmed or topped up to 1,006 in all
# (bench/base:1 always kept: the memory rows create containers from it; `rmi -f` only untags
# here, and dockerd, whose data root outlives a run, refuses a plain one for an older image
# that a container of an earlier run uses)
for side in "${sides[@]}"; do
  have=$(cli "$side" images --format '{{.Repository}}:{{.Tag}}' | grep -vc '<none>' || true)
  if [ "$have" -lt 1006 ]; then
    "$py" "$work/api.py" "$(sockof "$side")" tag $((1006 - have)) bench/base:1
  fi
  cli "$side" images --format '{{.Repository}}:{{.Tag}}' | grep -v '<none>' | grep -vx 'bench/base:1' | tail -n +1006 | xargs -r -n 100 "$docker" -H "unix://$(sockof "$side")" rmi -f >/dev/null
  echo "   $side: $(cli "$side" images --format '{{.Repository}}:{{.Tag}}' | grep -vc '<none>') tags"
done
# 200 requests in one client process: with 20, the client's own start (python3 and its
# imports, 0.4-0.8 s on a loaded machine) was most of both columns.
args=()
for side in "${sides[@]}"; do args+=(-n "$side" "$py '$work/api.py' '$(sockof "$side")' list 200"); done
hf list1006 "${args[@]}"
row df "true" "@ system df"

# --- peak memory growth of the server for a large cp and load --------------------------------
# VmHWM after resetting it (clear_refs 5) just before the operation, minus VmRSS then.
peak() { # pid, command...
  local pid="$1"; shift
  echo 5 > "/proc/$pid/clear_refs"
  local before; before=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  "$@" >/dev/null
  local hwm; hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  echo $(( (hwm - before) / 1024 ))
}
mem=()
cli S create --name bigc bench/base:1 >/dev/null
mem+=("cp|$(peak "$spid" cli S cp "$data/dirbig" bigc:/data/)")
cli S import "$data/imgbig.rootfs.tar" bench/imgbig:1 >/dev/null
cli S save -o "$work/imgbig.tar" bench/imgbig:1
cli S rmi bench/imgbig:1 >/dev/null
mem+=("load|$(peak "$spid" cli S load -q -i "$work/imgbig.tar")")
mem+=("load-present|$(peak "$spid" cli S load -q -i "$work/imgbig.tar")")
refmem=()
if [ -n "$have_ref" ]; then
  rpid=$(cat "$refd/pid")
  cli R create --name bigc bench/base:1 >/dev/null
  refmem+=("cp|$(peak "$rpid" cli R cp "$data/dirbig" bigc:/data/)")
  cli R rmi bench/imgbig:1 >/dev/null 2>&1 || true
  refmem+=("load|$(peak "$rpid" cli R load -q -i "$work/imgbig.tar")")
  refmem+=("load-present|$(peak "$rpid" cli R load -q -i "$work/imgbig.tar")")
  cli R rm -f bigc cpc cmc >/dev/null 2>&1 || true
fi
bigbytes=$(stat -c %s "$work/imgbig.tar")

rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git status --porcelain 2>/dev/null)" ] && rev="$rev + uncommitted changes"
python3 - "$work" "$runs" "$have_ref" "$rver" "$($docker --version)" "$rev" "$big_mb" "$bigbytes" \
  "$(IFS=,; echo "${mem[*]}")" "$(IFS=,; echo "${refmem[*]:-}")" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "$(stat -c %s "$work/img200.tar")" >> BENCH.md <<'PY'
import json, sys
work, runs, have_ref, rver, cli, rev, big_mb, bigbytes, mem, refmem, load, smallbytes = sys.argv[1:]
def res(name):
    out = {}
    for r in json.load(open(f"{work}/{name}.json"))["results"]:
        out[r["command"]] = r
    return out
# (key, what, target, calls): a row with calls is an API row; its ratio is of the time per
# call, the client's start-up (row "start") taken off both columns.
rows = [
    ("cp", "`docker cp <100 MB dir> c:/data/` (100 files of 1 MiB, fresh container)", 0.5, 0),
    ("load-present", f"`docker load -i x.tar`, the image already present ({int(smallbytes)/1e6:.1f} MB archive)", 0.5, 0),
    ("commit", "`docker commit c` of a 100 MB change", 0.5, 0),
    ("cp-small", "`docker cp <10 kB file> c:/tmp/`, the container's layer holding 100 MB", None, 0),
    ("create", "`docker create bench/base:1` (the docker CLI's own start-up included)", 0.5, 0),
    ("create100", "100 × `POST /containers/create` (one keep-alive connection)", 0.5, 100),
    ("tag500", "500 × `POST /images/{name}/tag` (one keep-alive connection)", 0.5, 500),
    ("list1006", "200 × `GET /images/json` with 1,006 tags (one keep-alive connection)", 0.5, 200),
    ("df", "`docker system df`", None, 0),
]
try:
    start = res("start")
except FileNotFoundError:
    start = {}
print(f"""
## Cost under load, beside dockerd (`bash scripts/bench-cost.sh --runs {runs}`)
The docker CLI ({cli}) drives `strata serve` over a unix socket{" and, beside it, the reference daemon (Debian's docker.io, dockerd " + rver + ", overlay2, started by hand on a private unix socket)" if have_ref else ""}, on the same fixtures: hyperfine, {runs} runs each, untimed
preparation (a fresh container, the directory copied in before `commit`, the image loaded once
before `load-present`, then a `sync` so no run pays for an earlier one's writeback). Build {rev};
load average at the end {load}.
""")
if not have_ref:
    print("**dockerd is not installed: the reference columns are skipped** (install Debian's `docker.io` to fill them).\n")
    print("| operation | strata mean ± σ (s) | client CPU (s) |\n|---|---|---|")
else:
    print("| operation | strata mean ± σ (s) | dockerd mean ± σ (s) | ratio | target | client CPU, strata / dockerd (s) | floor (s), floor / dockerd | writing floor (s), / dockerd |\n|---|---|---|---|---|---|---|---|")
def cpu(r, side):
    """The client's own CPU time (user + system): the docker CLI's work, which no server
    can take off the row's wall time."""
    return r[side]["user"] + r[side]["system"]
def per_call(r, side, calls):
    """The mean time of one call (ms), the client's start-up taken off; None without it."""
    if not calls or side not in start:
        return None
    return (r[side]["mean"] - start[side]["mean"]) / calls * 1000
def cell(r, side, calls):
    c = f"{r[side]['mean']:.3f} ± {r[side]['stddev'] or 0:.3f}"
    p = per_call(r, side, calls)
    return c if p is None else f"{c} ({p:.2f} ms per call)"
for key, what, target, calls in rows:
    try:
        r = res(key)
    except FileNotFoundError:
        continue
    if have_ref and "R" in r:
        ps, pr = per_call(r, "S", calls), per_call(r, "R", calls)
        ratio = ps / pr if ps is not None and pr else r["S"]["mean"] / r["R"]["mean"]
        ok = "" if target is None else (f"≤ {target}×: " + ("yes" if ratio <= target else "**no**"))
        # A floor above the target: the CLI alone costs more than the target allows, so no
        # server can meet it with this CLI (the row is kept, its verdict says why).
        if target is not None and ratio > target and "F" in r and r["F"]["mean"] / r["R"]["mean"] > target:
            ok = f"≤ {target}×: **no**, out of reach (the floor alone is {r['F']['mean'] / r['R']['mean']:.2f}×)"
        floor = f"{r['F']['mean']:.3f} ± {r['F']['stddev'] or 0:.3f}, {r['F']['mean'] / r['R']['mean']:.2f}×" if "F" in r else ""
        wfloor = f"{r['W']['mean']:.3f} ± {r['W']['stddev'] or 0:.3f}, {r['W']['mean'] / r['R']['mean']:.2f}×" if "W" in r else ""
        print(f"| {what} | {cell(r, 'S', calls)} | {cell(r, 'R', calls)} | {ratio:.2f}× | {ok} | {cpu(r, 'S'):.3f} / {cpu(r, 'R'):.3f} | {floor} | {wfloor} |")
    else:
        print(f"| {what} | {cell(r, 'S', calls)} | {cpu(r, 'S'):.3f} |")
if start:
    line = f"\nThe API rows' client alone (python and its imports, no call) took {start['S']['mean']:.3f} s"
    if "R" in start:
        line += f" (and {start['R']['mean']:.3f} s in the reference's run)"
    print(line + "; their ratios are of the time per call, that start-up taken off both columns.")
print("The client's CPU is its user and system time: for cp and load, the docker CLI reading the files and writing them to the socket, which bounds the row's wall time from below whatever the server does.")
print("The writing floor (cp only) is the same command against a server that does the least a server keeping the files must do (`crates/test-support/examples/cp_floor.rs`, Rust, std only): one blocking thread reading the socket 1 MiB at a time and writing the tar's files in blocks of up to 1 MiB, with no checks, no layer and no metadata. A server that stores the files cannot go below it on this machine.")
print("The floor is the same command against a server that answers the CLI at once and does nothing but read the body and drop it (`scripts/bench-floor.py`, python): close to what the docker CLI alone costs, so a target well below floor / dockerd cannot be met with this CLI (for cp and load the floor also holds python's own reading of the socket, so a server can come near it or, in a run, under it).")
print(f"""
Server peak memory growth (VmHWM after `clear_refs` minus VmRSS before, MiB) for a {big_mb} MiB
directory `cp` and a {int(bigbytes)/1e6:.0f} MB archive `load` (target ≤ 64 MB):
""")
ref = dict(x.split("|") for x in refmem.split(",") if x)
print("| operation | strata | " + ("dockerd |" if have_ref else "") + "\n|---|---|" + ("---|" if have_ref else ""))
for x in mem.split(","):
    k, v = x.split("|")
    print(f"| {k} | {v} | " + (f"{ref.get(k, '?')} |" if have_ref else ""))
PY
echo "appended the cost figures to BENCH.md"
