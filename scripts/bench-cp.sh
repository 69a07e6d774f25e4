#!/usr/bin/env bash
# The cp row of scripts/bench-cost.sh alone, with more runs: `docker cp` of the 100 MB directory
# into a fresh container, against `strata serve`, the reference dockerd (when one answers on
# /var/tmp/refd/docker.sock, as bench-cost.sh leaves it or starts it) and the writing floor
# (crates/test-support/examples/cp_floor.rs), the same untimed preparation (a fresh container,
# then a `sync`). Its spread is the widest of the cost rows, so its ratio needs more runs than
# the others. Appends the figures to BENCH.md.
#
# Usage: scripts/bench-cp.sh [RUNS]   (default 30; the fixtures come from bench-cost.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-30}"
data=bench-data/cost
[ -d "$data/dir100" ] && [ -f "$data/base.tar" ] || {
  echo "error: no fixtures in $data (run scripts/bench-cost.sh first)" >&2
  exit 1
}
docker=""
for d in /usr/bin/docker /usr/local/bin/docker; do [ -x "$d" ] && { docker="$d"; break; }; done
[ -n "$docker" ] || { echo "error: no docker CLI" >&2; exit 1; }
cargo build --release -q -p strata
cargo build --release -q -p test-support --example cp_floor
target="${CARGO_TARGET_DIR:-$PWD/target}"
work="$(mktemp -d /var/tmp/strata-bench-cp.XXXXXX)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
"$target/release/strata" --root "$work/root" serve --listen 127.0.0.1:0 --unix-socket "$work/s.sock" \
  --web-dir /nonexistent >"$work/serve.log" 2>&1 &
pids+=("$!")
"$target/release/examples/cp_floor" "$work/w.sock" "$work/wfloor" &
pids+=("$!")
for _ in $(seq 100); do [ -S "$work/s.sock" ] && [ -S "$work/w.sock" ] && break; sleep 0.05; done
S="DOCKER_HOST=unix://$work/s.sock $docker"
R="DOCKER_HOST=unix:///var/tmp/refd/docker.sock $docker"
W="DOCKER_HOST=unix://$work/w.sock $docker"
eval "$S import -c 'CMD [\"/bin/sh\"]' $data/base.tar bench/base:1" >/dev/null
args=(--prepare "$S rm -f cpc >/dev/null 2>&1; $S create --name cpc bench/base:1 >/dev/null; sync"
  -n S "$S cp $data/dir100 cpc:/data/")
rver=""
if rver=$(eval "$R version -f '{{.Server.Version}}'" 2>/dev/null); then
  eval "$R image inspect bench/base:1" >/dev/null 2>&1 ||
    eval "$R import -c 'CMD [\"/bin/sh\"]' $data/base.tar bench/base:1" >/dev/null
  args+=(--prepare "$R rm -f cpc >/dev/null 2>&1; $R create --name cpc bench/base:1 >/dev/null; sync"
    -n R "$R cp $data/dir100 cpc:/data/")
fi
args+=(--prepare "rm -rf '$work/wfloor'; sync" -n W "$W cp $data/dir100 cpc:/data/")
hyperfine --style basic --runs "$runs" --export-json "$work/cp.json" "${args[@]}"
[ -n "$rver" ] && eval "$R rm -f cpc" >/dev/null 2>&1 || true
rev=$(git rev-parse --short HEAD)
[ -n "$(git status --porcelain)" ] && rev="$rev + uncommitted changes"
python3 - "$work/cp.json" "$runs" "$rev" "$rver" "$(cut -d' ' -f1-3 /proc/loadavg)" >>BENCH.md <<'PY'
import json, statistics as st, sys
path, runs, rev, rver, load = sys.argv[1:]
r = {x["command"]: x["times"] for x in json.load(open(path))["results"]}
names = {"S": "strata", "R": f"dockerd {rver}", "W": "writing floor"}
print(f"""
### The cp row alone (`bash scripts/bench-cp.sh {runs}`)
`docker cp` of the 100 MB directory into a fresh container, {runs} runs each, prepared as in the
table above. Build {rev}; load average at the end {load}.

| server | mean (s) | median (s) | σ (s) | min–max (s) | mean / dockerd |
|---|---|---|---|---|---|""")
for k in "SRW":
    if k not in r:
        continue
    t = r[k]
    ratio = f"{st.mean(t) / st.mean(r['R']):.2f}×" if "R" in r else ""
    print(f"| {names[k]} | {st.mean(t):.3f} | {st.median(t):.3f} | {st.stdev(t):.3f} | {min(t):.3f}–{max(t):.3f} | {ratio} |")
PY
echo "appended the cp figures to BENCH.md"
