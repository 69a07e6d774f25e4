# Sourced by the bench scripts (from the repository root).
#
# `bench_setup NAME RUNS "$@"`: the common flags `[--runs N] [--no-build] [--debug]
# [--no-append]` (sets `runs`, `profile`, `append`), the tools every container bench needs,
# the strata binary built (unless --no-build) and checked (`strata`), and a scratch directory
# `work` under /var/tmp. `busybox_rootfs DIR`: a root of /bin/busybox and its applet links.
bench_setup() {
  local name="$1"
  runs="$2"
  shift 2
  local build=1
  profile=release
  append=1
  while [ $# -gt 0 ]; do
    case "$1" in
      --runs) runs="$2"; shift 2 ;;
      --no-build) build=0; shift ;;
      --debug) profile=debug; shift ;;
      --no-append) append=0; shift ;;
      *) echo "usage: scripts/bench-$name.sh [--runs N] [--no-build] [--debug] [--no-append]" >&2; exit 2 ;;
    esac
  done
  local tool
  for tool in hyperfine python3 runc /bin/busybox; do
    command -v "$tool" >/dev/null || { echo "error: $tool missing (bash scripts/install-deps.sh test)" >&2; exit 1; }
  done
  if [ "$build" = 1 ]; then
    if [ "$profile" = release ]; then cargo build --release -q -p strata; else cargo build -q -p strata; fi
  fi
  strata="${CARGO_TARGET_DIR:-$PWD/target}/$profile/strata"
  [ -x "$strata" ] || { echo "error: $strata not built" >&2; exit 1; }
  work="$(mktemp -d "/var/tmp/strata-bench-$name.XXXXXX")"
}

busybox_rootfs() {
  local dir="$1" a
  mkdir -p "$dir/bin" "$dir/etc" "$dir/tmp" "$dir/proc" "$dir/sys" "$dir/dev"
  cp /bin/busybox "$dir/bin/busybox"
  for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$dir/bin/$a"; done
  echo 'root:x:0:0:root:/root:/bin/sh' > "$dir/etc/passwd"
}

# The reference daemon (Debian's docker.io, dockerd 20.10), never a dependency. `start_refd` starts it by hand on a private unix socket under
# /var/tmp/refd (no iptables, no bridge) unless one already answers there, and sets
# `ref_host` to `unix://…`; without dockerd, or when it does not start, `ref_host` stays
# empty and the caller skips its column. `stop_refd` stops what `start_refd` started.
refd=/var/tmp/refd
ref_host=""
started_refd=""
start_refd() {
  command -v dockerd >/dev/null 2>&1 || return 0
  local sock="$refd/docker.sock"
  if ! curl -sf --unix-socket "$sock" http://x/_ping >/dev/null 2>&1; then
    mkdir -p "$refd"
    dockerd --host "unix://$sock" --iptables=false --bridge=none --data-root "$refd/root" \
      --exec-root "$refd/exec" --pidfile "$refd/pid" >"$refd/log" 2>&1 &
    started_refd=$!
    for _ in $(seq 300); do curl -sf --unix-socket "$sock" http://x/_ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  if curl -sf --unix-socket "$sock" http://x/_ping >/dev/null 2>&1; then ref_host="unix://$sock"; fi
}
stop_refd() {
  if [ -n "$started_refd" ]; then
    kill "$started_refd" 2>/dev/null || true
    wait "$started_refd" 2>/dev/null || true
    started_refd=""
  fi
}
