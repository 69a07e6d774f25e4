#!/usr/bin/env bash
# Benchmarks containers that run (issue 13), on one busybox image, and appends the table to
# BENCH.md: `strata run --rm busybox true` beside the runtime's own `runc run` of a prepared
# bundle (its floor) and, when a reference daemon answers on the default socket, `docker run
# --rm busybox true`; `exec` latency into a running container; `logs` throughput of a
# container writing 100 MB to stdout (the monitor's json-file writing included).
#
# Usage: scripts/bench-run.sh [--runs N] [--no-build] [--debug] [--no-append]
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-lib.sh
bench_setup run 20 "$@"
root="$work/root"
cleanup() {
  "$strata" --root "$root" rm -f benchexec >/dev/null 2>&1 || true
  runc --root "$work/runc" delete -f benchfloor >/dev/null 2>&1 || true
  stop_refd
  rm -rf "$work"
}
trap cleanup EXIT

# A busybox root: the binary and its applet links.
rootfs="$work/rootfs"
busybox_rootfs "$rootfs"
tar -C "$rootfs" -cf "$work/bb.tar" .
"$strata" --root "$root" import "$work/bb.tar" busybox >/dev/null
# The runtime's floor: a prepared bundle of the same root, run by runc itself.
bundle="$work/bundle"
mkdir -p "$bundle"
cp -a "$rootfs" "$bundle/rootfs"
(cd "$bundle" && runc spec && python3 - <<'PY'
import json
c = json.load(open("config.json"))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open("config.json", "w"))
PY
)
"$strata" --root "$root" run --rm busybox true   # the runtime probe, once

json="$work/run.json"
cmds=("$strata --root $root run --rm busybox true" "runc --root $work/runc run --bundle $bundle benchfloor")
names=("strata run --rm busybox true" "runc run (prepared bundle)")
start_refd
if [ -n "$ref_host" ] && command -v docker >/dev/null; then
  # The same busybox root as an image of the reference daemon (its default network is none).
  docker -H "$ref_host" image inspect strata-bench/busybox >/dev/null 2>&1 \
    || docker -H "$ref_host" import "$work/bb.tar" strata-bench/busybox >/dev/null
  cmds+=("docker -H $ref_host run --rm --network none strata-bench/busybox true")
  names+=("docker run --rm --network none busybox true → dockerd")
else
  echo "note: no reference daemon (dockerd) here: its column is skipped" >&2
fi
# Strata's default network is a bridge (a veth pair per container); --network none is the
# like-for-like row beside dockerd started without a bridge.
cmds+=("$strata --root $root run --rm --network none busybox true")
names+=("strata run --rm --network none busybox true")
hyperfine -N -w 3 -r "$runs" --export-json "$json" "${cmds[@]}" >/dev/null

"$strata" --root "$root" run -d --name benchexec busybox sleep 3600 >/dev/null
hyperfine -N -w 3 -r "$runs" --export-json "$work/exec.json" "$strata --root $root exec benchexec true" >/dev/null
"$strata" --root "$root" rm -f benchexec >/dev/null

# 100 MB to stdout, 100 bytes a line: the run's wall time covers the monitor writing its log
# and the attached client copying it out. The producer is `cat` of a file of such lines in
# the image (busybox `yes` writes one line per system call and would measure itself); the
# floor is the same container with the file sent to /dev/null inside it.
mkdir -p "$work/lines"
python3 -c "import sys; open(sys.argv[1], 'wb').write((b'0123456789' * 9 + b'012345678\n') * 1000000)" "$work/lines/lines"
"$strata" --root "$root" create --name benchlines --network none busybox true >/dev/null
"$strata" --root "$root" cp "$work/lines/lines" benchlines:/lines
"$strata" --root "$root" commit benchlines busybox-lines >/dev/null
"$strata" --root "$root" rm benchlines >/dev/null
hyperfine -N -w 1 -r 5 --export-json "$work/logs.json" \
  "$strata --root $root run --rm --network none busybox-lines cat /lines" \
  "$strata --root $root run --rm --network none busybox-lines sh -c 'cat /lines >/dev/null'" >/dev/null
table="$(python3 - "$json" "$work/exec.json" "$work/logs.json" "${names[@]}" <<'PY'
import json, sys, statistics
run, exe, logs, *names = sys.argv[1:]
res = json.load(open(run))["results"]
lines = ["| what | median | min |", "|---|---|---|"]
for n, r in zip(names, res):
    t = r["times"]
    lines.append(f"| {n} | {statistics.median(t)*1000:.0f} ms | {min(t)*1000:.0f} ms |")
t = json.load(open(exe))["results"][0]["times"]
lines.append(f"| strata exec CONTAINER true | {statistics.median(t)*1000:.0f} ms | {min(t)*1000:.0f} ms |")
lt, floor = (statistics.median(r["times"]) for r in json.load(open(logs))["results"])
lines.append(f"| logs: a container writing 100 MB to stdout (`run` attached, json-file log) | {100/lt:.0f} MB/s | ({lt:.2f} s median) |")
lines.append(f"| floor: the same container writing them to /dev/null | {100/floor:.0f} MB/s | ({floor:.2f} s median) |")
print("\n".join(lines))
PY
)"
echo "$table"
if [ "$append" = 1 ]; then
  {
    echo
    echo "## Containers that run ($(date -u +%Y-%m-%d), $profile build, $runs runs, load average $(cut -d' ' -f1 /proc/loadavg))"
    echo
    echo "$table"
  } >> BENCH.md
fi
