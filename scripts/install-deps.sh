#!/usr/bin/env bash
# Installs what Strata's build, tests and dashboard need on a fresh Debian machine.
# Each step is skipped when its tool is already present. Usage: scripts/install-deps.sh [test|web|fuzz|all]
# (`all` is what the tests need; `fuzz`, for `just fuzz`, is separate.)
set -euo pipefail
what="${1:-all}"
export PATH="$HOME/.cargo/bin:$PATH"

need() { ! command -v "$1" >/dev/null 2>&1; }
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    if [ ! -f /var/lib/apt/strata-updated ]; then apt-get update -qq && touch /var/lib/apt/strata-updated; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

# always: the task runner
if need just; then
  echo "installing just (PyPI rust-just)"
  pip install -q rust-just || cargo install just --locked
fi

if [ "$what" = test ] || [ "$what" = all ]; then
  # iproute2 and iptables: the bridge network; tini: `run --init` (tini-static); python3: the
  # e2e tests' peak-memory probe (`e2e::peak_rss`) and the benchmarks' fixtures
  apt_install skopeo umoci busybox-static runc crun docker-registry pigz hyperfine wrk curl ca-certificates openssl chromium chromium-driver iproute2 iptables tini python3
  rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  # the lint gate's unused-dependency check
  if need cargo-machete; then
    echo "installing cargo-machete 0.9.2 (builds from source, about 2 minutes)"
    cargo install cargo-machete@0.9.2 --locked
  fi
fi

if [ "$what" = web ] || [ "$what" = all ]; then
  rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
  if ! trunk --version 2>/dev/null | grep -qx 'trunk 0.21.14'; then
    echo "installing trunk 0.21.14 (builds from source, about 10 minutes)"
    cargo install trunk@0.21.14 --locked
  fi
  # wasm-bindgen-cli must equal the wasm-bindgen version in Cargo.lock
  here="$(cd "$(dirname "$0")/.." && pwd)"
  wbv=$(awk '/^name = "wasm-bindgen"$/{getline; sub(/version = "/,""); sub(/"/,""); print; exit}' "$here/Cargo.lock" 2>/dev/null || true)
  if [ -z "$wbv" ]; then
    echo "error: no wasm-bindgen in $here/Cargo.lock; run cargo generate-lockfile" >&2
    exit 1
  fi
  if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $wbv"; then
    echo "installing wasm-bindgen-cli $wbv"
    # not --locked: with its own lockfile the install fails on this toolchain
    cargo install wasm-bindgen-cli --version "$wbv" --force
  fi
  # the dashboard's JavaScript (the xterm.js terminal), pinned by web/package-lock.json and
  # bundled by Trunk from web/node_modules: nothing is fetched when the page runs
  if ! node -e 'const w = process.argv[1] + "/web/"; process.exit(require(w + "node_modules/@xterm/xterm/package.json").version === require(w + "package-lock.json").packages["node_modules/@xterm/xterm"].version ? 0 : 1)' "$here" 2>/dev/null; then
    echo "installing the dashboard's npm packages (web/package-lock.json)"
    (cd "$here/web" && npm ci --silent --no-audit --no-fund --ignore-scripts)
  fi
  # trunk would download wasm-opt; npm's binaryen 132 provides it instead (Trunk.toml pins version_132)
  if ! wasm-opt --version 2>/dev/null | grep -q 'version 132'; then
    echo "installing wasm-opt (npm binaryen@132)"
    npm install -g --silent binaryen@132
    if ! wasm-opt --version 2>/dev/null | grep -q 'version 132'; then
      echo "error: wasm-opt 132 is not on PATH after npm install -g binaryen@132 (npm prefix: $(npm config get prefix))" >&2
      exit 1
    fi
  fi
fi

if [ "$what" = fuzz ]; then
  # libfuzzer-sys compiles libFuzzer's C++ sources
  apt_install g++
  if ! cargo fuzz --version 2>/dev/null | grep -q '^cargo-fuzz 0\.13\.'; then
    echo "installing cargo-fuzz 0.13.2"
    cargo install cargo-fuzz@0.13.2 --locked
  fi
fi
