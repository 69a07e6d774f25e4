#!/usr/bin/env bash
# The dashboard's benchmarks, for scripts/bench.sh (`just bench`):
#   - the bundle compressed as served: the wasm, JS and CSS that index.html loads, fetched from
#     the release `strata serve` with `Accept-Encoding: br, gzip`, bytes on the wire (target:
#     at most 800 kB, the terminal included);
#   - the time from a click on Run (busybox `sh` with a terminal) to the shell's prompt in the
#     terminal, timed in the page, median of 5 (target: at most 500 ms);
#   - the time to an interactive images table with 1,000 images in headless Chromium, from
#     navigation start to the first painted page of the table (100 rows; sorting, filtering,
#     totals and the pager cover all 1,000) (target: under 1 s); then the repaint after
#     choosing "All" rows per page, and a sort click's repaint.
# Prints `BENCH <name> <value>` lines (and writes them to target/bench-web.txt).
#
# Usage: scripts/bench-web.sh [--no-build]   (--no-build uses the existing web/dist)
# Needs: trunk and wasm tools (scripts/install-deps.sh web), chromium + chromium-driver.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
export PATH="$HOME/.cargo/bin:$PATH"

build=1
[ "${1:-}" = "--no-build" ] && build=0

if [ "$build" = 1 ]; then
  echo "== building the dashboard (trunk build --release)"
  trunk build --release --config Trunk.toml
fi
wasm=$(ls web/dist/*.wasm 2>/dev/null | head -1 || true)
[ -n "$wasm" ] || { echo "error: no web/dist/*.wasm; run: just web" >&2; exit 1; }
for tool in /usr/bin/chromium /usr/bin/chromedriver; do
  [ -x "$tool" ] || { echo "error: $tool is missing; run: apt-get install -y chromium chromium-driver" >&2; exit 1; }
done

out="$here/target/bench-web.txt"
mkdir -p "$here/target"
raw=$(stat -c %s "$wasm")
echo "BENCH web.wasm_bytes $raw" | tee "$out"

echo "== building strata (release) for the server under test"
cargo build --release -p strata
target="${CARGO_TARGET_DIR:-$here/target}"
case "$target" in /*) ;; *) target="$here/$target" ;; esac
export STRATA_BENCH_BIN="$target/release/strata"

echo "== 1,000 images in headless Chromium (imports them through the server first, ~1-2 min)"
cargo test -p e2e --test dashboard -- --ignored --exact benchmark_images_table_1000 --nocapture 2>&1 \
  | tee "$here/target/bench-web.log" | grep '^BENCH' | tee -a "$out"
grep -q 'interactive_ms' "$out" || { echo "error: the browser benchmark failed; see target/bench-web.log" >&2; exit 1; }

echo "== the bundle as served, and Run → shell prompt in the terminal (headless Chromium)"
cargo test -p e2e --test dashboard -- --ignored --exact benchmark_bundle_and_run_to_prompt --nocapture 2>&1 \
  | tee -a "$here/target/bench-web.log" | grep '^BENCH' | tee -a "$out"
grep -q 'run_to_prompt_ms' "$out" || { echo "error: the run benchmark failed; see target/bench-web.log" >&2; exit 1; }

python3 - "$out" >> "$here/BENCH.md" <<'PY'
import sys
v = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 3 and parts[0] == "BENCH":
        v[parts[1]] = " ".join(parts[2:])
med = lambda k: dict(x.split("=") for x in v[k].split())["median"]
served = int(v["web.bundle_served_bytes"])
files = ", ".join(f"{k[len('web.served.'):]} {int(x.split()[0])/1e3:.1f} kB {x.split()[1]}"
                  for k, x in sorted(v.items()) if k.startswith("web.served."))
ms = int(med("web.images_table_1000.interactive_ms"))
run = int(med("web.run_to_prompt_ms"))
print(f"""
## Dashboard (`bash scripts/bench-web.sh`, headless Chromium)
| measure | value | target |
|---|---|---|
| bundle as served (wasm + JS + CSS, `Accept-Encoding: br, gzip`, bytes on the wire) | {served/1e3:.0f} kB ({int(v['web.bundle_raw_bytes'])/1e3:.0f} kB raw; wasm {int(v['web.wasm_bytes'])/1e3:.0f} kB raw) | ≤ 800 kB: {'yes' if served <= 800_000 else '**no**'} |
| Run (busybox `sh`, TTY) → the shell's prompt in the terminal (median of 5) | {run} ms ({v['web.run_to_prompt_ms']}) | ≤ 500 ms: {'yes' if run <= 500 else '**no**'} |
| 1,000 images: navigation start → table painted and usable (median of 5) | {ms} ms ({v['web.images_table_1000.interactive_ms']}) | < 1 s: {'yes' if ms < 1000 else '**no**'} |
| same, first (cold) load | {v['web.images_table_1000.cold_first_load_ms']} ms | |
| "All" rows per page: repaint with all 1,000 rows | {med('web.images_table_1000.show_all_rows_ms')} ms ({v['web.images_table_1000.show_all_rows_ms']}) | |
| sort click on a 100-row page | {v['web.images_table_1000.sort_page_ms']} ms | |

Files as served: {files}.

The table shows 100 rows per page by default; sorting, filters, totals and the pager cover all
1,000 images, which `/api/images` answers in one request.
""")
PY
echo "appended dashboard figures to BENCH.md"
