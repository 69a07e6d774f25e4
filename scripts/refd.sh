# Sourced by the bench scripts: the reference daemon (Debian's docker.io, dockerd 20.10),
# never a dependency. `start_refd` starts it by hand on a private unix socket under
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
