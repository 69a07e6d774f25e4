#!/usr/bin/env bash
# Runs the fuzz targets one after another, each in one libFuzzer process for SECONDS (default
# 600), and fails if any of them crashed. Usage: fuzz/run.sh [SECONDS] [TARGET...]
# Needs cargo-fuzz (scripts/install-deps.sh fuzz). New inputs go to fuzz/corpus/<target>/
# (not committed), crashes to fuzz/artifacts/<target>/; fuzz/seeds/ is read as a starting
# corpus. Reproduce a crash with `RUSTC_BOOTSTRAP=1 cargo fuzz run -O -a <target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
secs="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(image_ref template tar_ingest layer_diff layer_apply dockerfile)
# cargo-fuzz passes nightly-only flags (-Z sanitizer, sancov passes); this lets the stable
# compiler accept them.
export RUSTC_BOOTSTRAP=1
# Release code with debug assertions and overflow checks, AddressSanitizer (the default).
flags=(-O -a)
cargo fuzz build "${flags[@]}"
failed=()
for t in "${targets[@]}"; do
  case "$t" in
    image_ref | template | dockerfile) seeds="fuzz/seeds/$t" dict="fuzz/dict/$t.dict" max_len=4096 ;;
    tar_ingest | layer_diff | layer_apply) seeds=fuzz/seeds/tar dict=fuzz/dict/tar.dict max_len=65536 ;;
    *) echo "error: unknown fuzz target $t" >&2; exit 2 ;;
  esac
  mkdir -p "fuzz/corpus/$t"
  echo "== fuzzing $t for ${secs}s"
  if ! cargo fuzz run "${flags[@]}" "$t" "fuzz/corpus/$t" "$seeds" -- \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
    -dict="$dict" -print_final_stats=1; then
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: crashes in ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${targets[*]}: no crash in ${secs}s each"
