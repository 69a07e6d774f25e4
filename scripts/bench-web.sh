#!/usr/bin/env bash
# The dashboard's benchmarks, for scripts/bench.sh (`just bench`):
#   - the wasm bundle size, gzip -9 (target: under 1 MB);
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
gz=$(gzip -9 -c "$wasm" | wc -c)
js=$(ls web/dist/*.js | head -1)
jsgz=$(gzip -9 -c "$js" | wc -c)
{
  echo "BENCH web.wasm_bytes $raw"
  echo "BENCH web.wasm_gzip_bytes $gz"
  echo "BENCH web.js_gzip_bytes $jsgz"
} | tee "$out"

echo "== building strata (release) for the server under test"
cargo build --release -p strata
target="${CARGO_TARGET_DIR:-$here/target}"
case "$target" in /*) ;; *) target="$here/$target" ;; esac
export STRATA_BENCH_BIN="$target/release/strata"

echo "== 1,000 images in headless Chromium (imports them through the server first, ~1-2 min)"
cargo test -p e2e --test dashboard -- --ignored --exact benchmark_images_table_1000 --nocapture 2>&1 \
  | tee "$here/target/bench-web.log" | grep '^BENCH' | tee -a "$out"
grep -q 'interactive_ms' "$out" || { echo "error: the browser benchmark failed; see target/bench-web.log" >&2; exit 1; }

python3 - "$out" >> "$here/BENCH.md" <<'PY'
import sys
v = {}
for line in open(sys.argv[1]):
    parts = line.split()
    if len(parts) >= 3 and parts[0] == "BENCH":
        v[parts[1]] = " ".join(parts[2:])
med = lambda k: dict(x.split("=") for x in v[k].split())["median"]
gz = int(v["web.wasm_gzip_bytes"])
ms = int(med("web.images_table_1000.interactive_ms"))
print(f"""
## Dashboard (`bash scripts/bench-web.sh`, headless Chromium)
| measure | value | target |
|---|---|---|
| wasm bundle, gzip -9 | {gz/1e3:.0f} kB ({int(v['web.wasm_bytes'])/1e3:.0f} kB raw; JS glue {int(v['web.js_gzip_bytes'])/1e3:.1f} kB gzip) | < 1 MB: {'yes' if gz < 1_000_000 else '**no**'} |
| 1,000 images: navigation start → table painted and usable (median of 5) | {ms} ms ({v['web.images_table_1000.interactive_ms']}) | < 1 s: {'yes' if ms < 1000 else '**no**'} |
| same, first (cold) load | {v['web.images_table_1000.cold_first_load_ms']} ms | |
| "All" rows per page: repaint with all 1,000 rows | {med('web.images_table_1000.show_all_rows_ms')} ms ({v['web.images_table_1000.show_all_rows_ms']}) | |
| sort click on a 100-row page | {v['web.images_table_1000.sort_page_ms']} ms | |

The table shows 100 rows per page by default; sorting, filters, totals and the pager cover all
1,000 images, which `/api/images` answers in one request.
""")
PY
echo "appended dashboard figures to BENCH.md"
