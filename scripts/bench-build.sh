#!/usr/bin/env bash
# Benchmarks the classic builder (issue 14) and appends the table to BENCH.md: a 6-step
# Dockerfile (FROM, RUN, COPY of a 100 MB context, RUN, ENV, CMD) built cold (`--no-cache`)
# and fully cached, by `strata build`, by the docker CLI against `strata serve`, and, when a
# reference daemon answers (`$REF_DOCKER_HOST`, else one started by scripts/bench-lib.sh), by the docker CLI
# against dockerd's classic builder (`DOCKER_BUILDKIT=0`). Targets: a fully cached rebuild
# <= 0.5x dockerd's time, a cold build <= 1x.
#
# Usage: scripts/bench-build.sh [--runs N] [--no-build] [--debug] [--no-append]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
bench_setup build 5 "$@"
root="$work/root"
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
  stop_refd
  rm -rf "$work"
}
trap cleanup EXIT

# The base image: a busybox root, imported under a name of the benchmark's own.
base=strata-bench/busybox:1
rootfs="$work/rootfs"
busybox_rootfs "$rootfs"
tar -C "$rootfs" -cf "$work/bb.tar" .
"$strata" --root "$root" import "$work/bb.tar" "$base" >/dev/null

# The context: 100 files of 1 MiB (incompressible), and the Dockerfile.
ctx="$work/ctx"
mkdir -p "$ctx/data"
python3 - "$ctx/data" <<'PY'
import os, sys
for i in range(100):
    with open(os.path.join(sys.argv[1], f"f{i:03}"), "wb") as f:
        f.write(os.urandom(1 << 20))
PY
cat > "$ctx/Dockerfile" <<EOF
FROM $base
RUN echo one > /one
COPY data /data/
RUN ls /data | wc -l > /count
ENV A=1
CMD ["sh"]
EOF

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$strata" --root "$root" serve --listen "127.0.0.1:$port" --web-dir /nonexistent >/dev/null 2>&1 &
server_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/_ping" >/dev/null && break; sleep 0.1; done
export DOCKER_CONFIG="$work/docker-config" DOCKER_BUILDKIT=0
mkdir -p "$DOCKER_CONFIG"

cmds_cold=("$strata --root $root build -q --no-cache -t bench $ctx"
           "docker -H tcp://127.0.0.1:$port build -q --no-cache -t bench $ctx")
cmds_hot=("$strata --root $root build -q -t bench $ctx"
          "docker -H tcp://127.0.0.1:$port build -q -t bench $ctx")
names=("strata build" "docker build → strata serve")
ref="${REF_DOCKER_HOST:-}"
if [ -z "$ref" ]; then start_refd; ref="$ref_host"; fi
refh=()
[ -n "$ref" ] && refh=(-H "$ref")
if command -v docker >/dev/null && docker "${refh[@]}" info >/dev/null 2>&1; then
  docker "${refh[@]}" image inspect "$base" >/dev/null 2>&1 || docker "${refh[@]}" import "$work/bb.tar" "$base" >/dev/null
  cmds_cold+=("docker ${refh[*]} build -q --no-cache -t strata-bench/app $ctx")
  cmds_hot+=("docker ${refh[*]} build -q -t strata-bench/app $ctx")
  names+=("docker build → dockerd (classic)")
  have_ref=1
else
  echo "note: no reference daemon answers (set REF_DOCKER_HOST): its column is skipped" >&2
  have_ref=0
fi

"$strata" --root "$root" run --rm "$base" true >/dev/null   # the runtime probe, once
hyperfine -N -w 1 -r "$runs" --export-json "$work/cold.json" "${cmds_cold[@]}" >/dev/null
hyperfine -N -w 2 -r "$runs" --export-json "$work/hot.json" "${cmds_hot[@]}" >/dev/null

table="$(python3 - "$work/cold.json" "$work/hot.json" "$have_ref" "${names[@]}" <<'PY'
import json, sys, statistics
cold, hot, have_ref, *names = sys.argv[1:]
c = json.load(open(cold))["results"]
h = json.load(open(hot))["results"]
lines = ["| build | cold (--no-cache) median | fully cached median |", "|---|---|---|"]
for n, a, b in zip(names, c, h):
    lines.append(f"| {n} | {statistics.median(a['times']):.3f} s | {statistics.median(b['times']):.3f} s |")
if have_ref == "1":
    rc, rh = statistics.median(c[-1]["times"]), statistics.median(h[-1]["times"])
    for n, a, b in zip(names[:-1], c, h):
        xc = statistics.median(a["times"]) / rc
        xh = statistics.median(b["times"]) / rh
        lines.append(f"| {n} ÷ dockerd | {xc:.2f}× (target ≤ 1×: {'yes' if xc <= 1 else '**no**'}) | {xh:.2f}× (target ≤ 0.5×: {'yes' if xh <= 0.5 else '**no**'}) |")
print("\n".join(lines))
PY
)"
echo "$table"
if [ "$append" = 1 ]; then
  {
    echo
    echo "## Builds: a 6-step Dockerfile with a 100 MB context ($(date -u +%Y-%m-%d), $profile build, $runs runs, load average $(cut -d' ' -f1 /proc/loadavg))"
    echo
    echo "$table"
  } >> BENCH.md
fi
