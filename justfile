# Strata's tasks; `just --list` shows them. Recipes run from this directory.

set shell := ["bash", "-euo", "pipefail", "-c"]
set positional-arguments

export PATH := env_var('HOME') + "/.cargo/bin:" + env_var('HOME') + "/.local/bin:" + env_var('PATH')

# The crates that must do no I/O and build for wasm32 (see ARCHITECTURE.md).
pure := "oci-model image-ref image-store docker-format docker-api layer-diff layer-union union-dto api-types dockerfile"

# What they must not mention: I/O, threads, the clock, randomness, an async runtime.
impure := '(std::(fs|net|process|thread)\b|std::\{[^}]*\b(fs|net|process|thread)\b|SystemTime|Instant::now|\btokio\b|\brand\b|getrandom)'

# List the recipes
default:
    @just --list

# Build the dashboard into web/dist
web:
    bash scripts/install-deps.sh web
    cargo fetch --quiet
    trunk build --release --config Trunk.toml

# Build the dashboard and run the server on it; flags go to `strata serve` (e.g. --listen 127.0.0.1:8080)
serve *ARGS: web
    cargo run --release -p strata -- serve "$@"

# Prove the pure crates are pure: they build for wasm32 and mention no I/O, clock or randomness
check-wasm:
    @dirs=(); for c in {{ pure }}; do dirs+=("crates/$c/src" "crates/$c/Cargo.toml"); done; \
      if grep -rnE '{{ impure }}' "${dirs[@]}" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*(//|#)'; then \
        echo "error: the lines above put I/O, a clock, randomness or tokio in a pure crate" >&2; exit 1; \
      else echo "pure crates mention no I/O, clock or randomness: {{ pure }}"; fi
    cargo build --target wasm32-unknown-unknown {{ prepend("-p ", pure) }}
    cargo check --target wasm32-unknown-unknown -p strata-web

# The lint gate: formatting, clippy with every warning an error on every crate and target (the dashboard's browser code too), no unused dependency, Docker's JSON only in server/ and docker-api
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets --locked -- -D warnings
    cargo clippy --target wasm32-unknown-unknown -p strata-web --locked -- -D warnings
    cargo machete
    just check-wire
    just check-web-errors

# Prove that no crate but server/ and docker-api spells Docker's JSON field names (see ARCHITECTURE.md)
check-wire:
    cargo test --locked -p docker-api --test wire_names

# Prove that the dashboard's pages decide on a failed request by its kind (`ApiError::kind`, from the HTTP status), never by its text (see ARCHITECTURE.md)
check-web-errors:
    @if grep -rnE '(contains|starts_with|ends_with)\("(No such|[Cc]onflict|[Nn]ot found|[Uu]nauthorized|[Ff]orbidden|[Aa]ccess denied)' web/src/app; then \
      echo "error: the lines above match an error's text; match its kind (crate::error::ErrorKind) instead" >&2; exit 1; \
      else echo "the dashboard matches errors by kind, not by text"; fi

# Install the test peers and the web toolchain, build the dashboard and everything, check the pure crates, lint, run every test
test: web
    bash scripts/install-deps.sh test
    cargo build --workspace
    just check-wasm
    just lint
    cargo test --workspace

# The release binary, copied to an empty directory and started there, serves its embedded dashboard (headless Chromium)
check-release-binary: web
    cargo build --release --locked -p strata
    STRATA_COPIED_BIN="${CARGO_TARGET_DIR:-$PWD/target}/release/strata" cargo test --locked -p e2e --test dashboard a_copied_binary_serves_the_dashboard_built_into_it

# Fuzz each target (image_ref, template, tar_ingest, layer_diff, layer_apply, dockerfile) for SECONDS (default 600), one at a time; fails on a crash
fuzz SECONDS="600" *TARGETS:
    bash scripts/install-deps.sh fuzz
    bash fuzz/run.sh "$@"

# Run the benchmarks: store throughput (bench.sh, writes BENCH.md), pull and API (bench-serve.sh, with the cost rows beside dockerd), the cp row alone (bench-cp.sh), dashboard (bench-web.sh), containers that run (bench-run.sh), builds (bench-build.sh)
bench *ARGS:
    bash scripts/bench.sh "$@"
    bash scripts/bench-serve.sh
    bash scripts/bench-cp.sh
    bash scripts/bench-web.sh
    bash scripts/bench-run.sh
    bash scripts/bench-build.sh
