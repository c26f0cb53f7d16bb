#!/usr/bin/env bash
# `make bench`: prints figures; asserts nothing about speed.
#  1. embeddings per second, Rust pipeline vs Python onnxruntime + NumPy/PIL, same model, images,
#     batch size and threads, on the stand-in and on a ViT-B/32-shaped graph with random weights;
#  2. server cold start to ready;
#  3. feed latency on 100k synthetic paintings, over HTTP and in process, against the raw SQL,
#     short pages, recall@24;
#  4. admin dashboard figures with 100k paintings and 1M activity events;
#  5. feed quality: simulated visitors through each learner's feed, against an oracle (issue 16's
#     protocol on 10,000 demo-like paintings, and a smoke run on the demo catalogue);
#  6. activity ingest: events/s accepted over HTTP at concurrency 32, events lost, worker rate;
#  7. the bytes a first visit to /feed transfers (HTML, WASM, JS, CSS as served, precompressed),
#     and Lighthouse (mobile profile) on /, /feed and a painting page;
#  8. every WASM and JS file of the release build, raw, brotli and gzip, and what the WASM is
#     made of by crate (twiggy).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh bench
source scripts/env.sh

BATCH=${BENCH_BATCH:-16}; COUNT=${BENCH_COUNT:-64}; THREADS=${BENCH_THREADS:-2}
images="$here/../shared/paintings/images"
if [ ! -d "$images" ]; then
  "$ARTWALL_VENV/bin/python" scripts/make_demo_catalogue.py --out .data/generated-catalogue
  images="$here/.data/generated-catalogue/images"
fi
vit=.data/models/vit-b32-random/visual.onnx
[ -f "$vit" ] || "$ARTWALL_VENV/bin/python" scripts/make_vit_b32.py --out "$vit"

bash scripts/build_release.sh
bin="$CARGO_TARGET_DIR/release/artwall"
# The benchmarks are their own binary, outside the shop's.
cargo build --release --features bench --no-default-features --bin artwall-bench
bench="$CARGO_TARGET_DIR/release/artwall-bench"
export ARTWALL_MODEL_THREADS=$THREADS DATABASE_URL=postgres://unused

echo "== embeddings per second (batch $BATCH, $COUNT images, $THREADS threads)"
for model in "$ARTWALL_MODEL_DIR/visual.onnx" "$vit"; do
  rust=$("$bench" embed "$images" --batch "$BATCH" --count "$COUNT" --visual "$model" 2>/dev/null)
  python=$("$ARTWALL_VENV/bin/python" scripts/bench_embed.py "$images" --model "$model" --batch "$BATCH" --count "$COUNT" --threads "$THREADS")
  "$ARTWALL_VENV/bin/python" - "$model" "$rust" "$python" <<'PY'
import json, sys
model, rust, python = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print(f"{model}: rust {rust['images_per_second']:.1f} img/s, python {python['images_per_second']:.1f} img/s, "
      f"ratio {rust['images_per_second'] / python['images_per_second']:.2f}x")
PY
done

echo "== cold start to ready"
PG_PORT=54331
bash scripts/pg.sh start .data/pg-bench "$PG_PORT"
trap 'bash scripts/pg.sh stop .data/pg-bench' EXIT
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres" LEPTOS_SITE_ADDR=127.0.0.1:3099
"$bin" migrate 2>/dev/null
start=$(date +%s.%N)
"$bin" serve 2>/dev/null &
server=$!
until curl -sf http://127.0.0.1:3099/readyz >/dev/null; do sleep 0.02; done
end=$(date +%s.%N)
kill $server; wait $server 2>/dev/null || true
echo "cold start to /readyz: $(echo "($end - $start) * 1000" | bc | cut -d. -f1) ms"

echo "== feed latency: 100k synthetic paintings (clustered), visitor has seen 0 / 1k / 10k"
createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres artwall_bench 2>/dev/null || true
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/artwall_bench" "$bench" feed --paintings 100000 --requests 300 2>/dev/null

echo "== admin dashboard: 100k paintings, 1M activity events, every figure"
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/artwall_bench" "$bench" dashboard --paintings 100000 --activities 1000000 2>/dev/null

createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres artwall_bench_demo 2>/dev/null || true
demo_db="postgres://postgres@127.0.0.1:$PG_PORT/artwall_bench_demo"
export ARTWALL_MEDIA_DIR="$here/.data/bench-media"
DATABASE_URL="$demo_db" "$bin" migrate 2>/dev/null
DATABASE_URL="$demo_db" "$bin" import "$ARTWALL_DEMO_CATALOGUE" 2>/dev/null
echo "== feed quality, the protocol: 200 simulated visitors, 10,000 paintings like the demo ones, each learner"
# A copy of the demo database, whose catalogue the bench replaces.
dropdb -h 127.0.0.1 -p "$PG_PORT" -U postgres --if-exists artwall_bench_quality
createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres -T artwall_bench_demo artwall_bench_quality
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/artwall_bench_quality" "$bench" quality --visitors 200 --demo-like 10000 2>/dev/null
echo "== feed quality, smoke: 40 simulated visitors on the 272 demo paintings"
DATABASE_URL="$demo_db" "$bench" quality --visitors 40 2>/dev/null

# The load generator is one client at one address: lift the activity rate limit for it.
DATABASE_URL="$demo_db" ARTWALL_TASTE_WORKERS=0 ARTWALL_RATE_ACTIVITY_PER_MINUTE=100000000 "$bin" serve 2>/dev/null &
server=$!
until curl -sf http://127.0.0.1:3099/readyz >/dev/null; do sleep 0.05; done
echo "== bytes of a first visit (release, precompressed)"
bash scripts/first_visit_bytes.sh http://127.0.0.1:3099/feed
painting=$(curl -s http://127.0.0.1:3099/feed | grep -o '/painting/[0-9]*' | head -n1)
echo "== Lighthouse 12, mobile profile, a first visit to each page (release)"
node scripts/lighthouse.mjs http://127.0.0.1:3099 / /feed "$painting"
echo "== activity ingest: 100k events at concurrency 32, then the taste worker"
DATABASE_URL="$demo_db" "$bench" ingest --server http://127.0.0.1:3099 --events 100000 --concurrency 32 --workers 2 2>/dev/null
kill $server; wait $server 2>/dev/null || true

echo "== the browser's code (release, split): every file, raw and as served (brotli, gzip)"
# A first visit fetches artwall.*.{js,wasm} and the split loader __wasm_split.*.js (which
# artwall.js imports); split_* (a page each) and their shared chunk_* come when a page that needs
# them opens.
first_visit=0
for file in target/site/pkg/*.js target/site/pkg/*.wasm; do
  name=$(basename "$file")
  printf '  %9d raw %9d br %9d gz  %s\n' "$(stat -c %s "$file")" "$(stat -c %s "$file.br")" "$(stat -c %s "$file.gz")" "$name"
  case "$name" in artwall.* | __wasm_split.*) first_visit=$((first_visit + $(stat -c %s "$file.br"))) ;; esac
done
echo "  a first visit's WASM + JS: $first_visit bytes brotli"
echo "== what a first visit's WASM is made of (twiggy)"
"$ARTWALL_VENV/bin/python" scripts/wasm_contributors.py "$CARGO_TARGET_DIR/front/wasm32-unknown-unknown/wasm-release/artwall_split.wasm"
