#!/usr/bin/env bash
# Benchmarks the registry and server paths and appends the figures to BENCH.md:
#  1. pull of a ~250 MB, 5-layer image from a local docker-registry, beside
#     `skopeo copy docker://… oci:…` of the same image (strata's time includes storing,
#     verifying and unpacking every layer);
#  1b. the same image pulled back out of the store by skopeo, from `strata serve` (the store as
#     a registry) beside docker-registry;
#  2. `GET /images/json` with 1,000 images: requests per second and p99 latency (wrk).
# Usage: scripts/bench-serve.sh [--runs N]   (run by `just bench` after scripts/bench.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3
[ "${1:-}" = "--runs" ] && runs="$2"
for tool in hyperfine skopeo docker-registry wrk python3 curl; do
  command -v "$tool" >/dev/null || { echo "error: $tool missing (bash scripts/install-deps.sh test)" >&2; exit 1; }
done
cargo build --release -q -p strata
strata="$PWD/target/release/strata"
data="$PWD/bench-data/serve"
work="$(mktemp -d /var/tmp/strata-bench-serve.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$data"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- 1. pull -----------------------------------------------------------------------------
# A deterministic OCI layout: 5 gzip layers of ~50 MB each (half random bytes, half text).
if [ ! -f "$data/oci/index.json" ]; then
  python3 - "$data/oci" <<'EOF'
import gzip, hashlib, io, json, os, random, sys, tarfile
out = sys.argv[1]
os.makedirs(f"{out}/blobs/sha256", exist_ok=True)
rng = random.Random(7)
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return d
layers, diff_ids = [], []
for n in range(5):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for i in range(50):
            size = 1_000_000
            body = rng.randbytes(size // 2) + (f"layer {n} file {i} " * (size // 36))[: size // 2].encode()
            info = tarfile.TarInfo(f"layer{n}/file{i:03}")
            info.size, info.mtime, info.mode = len(body), 0, 0o644
            t.addfile(info, io.BytesIO(body))
    raw = buf.getvalue()
    diff_ids.append("sha256:" + hashlib.sha256(raw).hexdigest())
    gz = gzip.compress(raw, compresslevel=6, mtime=0)
    layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": "sha256:" + blob(gz), "size": len(gz)})
config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": diff_ids},
                     "history": [{"created_by": f"layer {n}"} for n in range(5)]}).encode()
cd = blob(config)
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:" + cd, "size": len(config)},
    "layers": layers}).encode()
md = blob(manifest)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
    "digest": "sha256:" + md, "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": "big"}}]},
    open(f"{out}/index.json", "w"))
open(f"{out}/oci-layout", "w").write('{"imageLayoutVersion":"1.0.0"}')
EOF
fi
rport=$(free_port)
cat > "$work/registry.yml" <<EOF
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$rport
EOF
docker-registry serve "$work/registry.yml" >/dev/null 2>&1 &
pids+=($!)
until curl -sf "http://127.0.0.1:$rport/v2/" >/dev/null; do sleep 0.1; done
skopeo copy -q --dest-tls-verify=false "oci:$data/oci:big" "docker://127.0.0.1:$rport/big:1"
image_bytes=$(du -sb "$data/oci/blobs" | cut -f1)
hyperfine --style basic --runs "$runs" --export-json "$work/pull.json" \
  --prepare "rm -rf $work/root" -n "strata pull" "$strata --root $work/root pull -q 127.0.0.1:$rport/big:1" \
  --prepare "rm -rf $work/oci-out" -n "skopeo copy" "skopeo copy -q --src-tls-verify=false docker://127.0.0.1:$rport/big:1 oci:$work/oci-out:big"

# --- 1b. serve: the same image pulled from `strata serve` (the store as a registry) --------
# The store the pull row left behind serves it; the same skopeo copies it to a `dir:` (blobs
# kept as served) from strata and from docker-registry. Both serve the gzip blobs: strata the
# ones it pulled, untouched.
"$strata" --root "$work/root" tag "127.0.0.1:$rport/big:1" big:1
vport=$(free_port)
"$strata" --root "$work/root" serve --listen "127.0.0.1:$vport" --no-unix-socket --web-dir /nonexistent >/dev/null 2>&1 &
pids+=($!)
until curl -sf "http://127.0.0.1:$vport/v2/" >/dev/null; do sleep 0.1; done
hyperfine --style basic --runs "$runs" --export-json "$work/serve.json" \
  --prepare "rm -rf $work/dir-out" -n "from strata serve" "skopeo copy -q --src-tls-verify=false docker://127.0.0.1:$vport/big:1 dir:$work/dir-out" \
  --prepare "rm -rf $work/dir-out" -n "from docker-registry" "skopeo copy -q --src-tls-verify=false docker://127.0.0.1:$rport/big:1 dir:$work/dir-out"

# --- 2. GET /images/json with 1,000 images ----------------------------------------------
api_root="$work/api-root"
python3 - "$work/tiny" <<'EOF'
import io, sys, tarfile, os
os.makedirs(sys.argv[1], exist_ok=True)
for i in range(1000):
    with tarfile.open(f"{sys.argv[1]}/{i}.tar", "w") as t:
        body = f"image {i}\n".encode()
        info = tarfile.TarInfo("etc/id"); info.size = len(body)
        t.addfile(info, io.BytesIO(body))
EOF
for i in $(seq 0 999); do "$strata" --root "$api_root" import "$work/tiny/$i.tar" "img$i:1" >/dev/null; done
count=$("$strata" --root "$api_root" images -q | wc -l)
sport=$(free_port)
"$strata" --root "$api_root" serve --listen "127.0.0.1:$sport" --web-dir /nonexistent >/dev/null 2>&1 &
pids+=($!)
until curl -sf "http://127.0.0.1:$sport/_ping" >/dev/null; do sleep 0.1; done
curl -sf "http://127.0.0.1:$sport/images/json" >/dev/null
wrk -t2 -c16 -d10s --latency "http://127.0.0.1:$sport/images/json" > "$work/wrk.txt"
rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
p50=$(awk '$1 == "50%" {print $2}' "$work/wrk.txt")

python3 - "$work/pull.json" "$image_bytes" "$count" "$rps" "$p50" "$p99" "$runs" "$work/serve.json" >> BENCH.md <<'EOF'
import json, sys
pull = json.load(open(sys.argv[1]))["results"]
size, count, rps, p50, p99, runs = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]
served = {r["command"]: r for r in json.load(open(sys.argv[8]))["results"]}
t = {r["command"]: r for r in pull}
s, k = t["strata pull"], t["skopeo copy"]
print(f"""
## Pull from a local registry (`bash scripts/bench-serve.sh --runs {runs}`)
A deterministic 5-layer image, {size/1e6:.1f} MB of gzip blobs (~250 MB uncompressed), pushed with
skopeo to `docker-registry` on 127.0.0.1; skopeo writes the compressed blobs to an OCI layout.
Strata streams each layer once: the registry client hashes the compressed bytes as they
arrive and writes them to the blob store as they are (the layer is kept as served), one
thread decompresses them and validates the tar, a second hashes the tar (the diff ID), and a
third unpacks the same bytes into a staged directory under `layers/`. The blob is fsynced and
renamed into `blobs/sha256/` and the directory into `layers/<diff id>/` only once both digests
are verified. Three layers download at once (`max_concurrent_downloads`) while the ones before
finish their fsync; the config and manifest are stored meanwhile, and the metadata is committed
last. So strata makes the same bytes durable as skopeo and unpacks the layers on top.

| command | mean ± σ (s) | min … max (s) |
|---|---|---|
| `strata pull` (fresh store) | {s['mean']:.3f} ± {s['stddev'] or 0:.3f} | {s['min']:.3f} … {s['max']:.3f} |
| `skopeo copy docker://… oci:…` | {k['mean']:.3f} ± {k['stddev'] or 0:.3f} | {k['min']:.3f} … {k['max']:.3f} |

Ratio strata ÷ skopeo: **{s['mean']/k['mean']:.2f}×** (target ≤ 1.0×).

## The store as a registry: the same image pulled from `strata serve`
`skopeo copy docker://… dir:…` (blobs kept as served) of that image from the store the pull
above left (`strata serve`, which serves the gzip blobs it pulled, untouched) and from
`docker-registry` (the same {size/1e6:.1f} MB of gzip blobs).

| source | mean ± σ (s) | min … max (s) |
|---|---|---|
| `strata serve` | {served['from strata serve']['mean']:.3f} ± {served['from strata serve']['stddev'] or 0:.3f} | {served['from strata serve']['min']:.3f} … {served['from strata serve']['max']:.3f} |
| `docker-registry` | {served['from docker-registry']['mean']:.3f} ± {served['from docker-registry']['stddev'] or 0:.3f} | {served['from docker-registry']['min']:.3f} … {served['from docker-registry']['max']:.3f} |

Ratio strata ÷ docker-registry: **{served['from strata serve']['mean']/served['from docker-registry']['mean']:.2f}×**.

## `GET /images/json` with {count} images (`wrk -t2 -c16 -d10s --latency`, loopback)
| requests/s | p50 | p99 |
|---|---|---|
| {rps} | {p50} | {p99} |
""")
EOF
echo "appended pull and API figures to BENCH.md"
# the costs of cp, load, commit, create, tags and listing beside dockerd (when installed)
bash scripts/bench-cost.sh --no-build
