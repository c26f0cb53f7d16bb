#!/usr/bin/env bash
# `make run`: a local Postgres with pgvector, migrations, the demo catalogue, then the whole shop
# (scripts/shop.sh: test payments unless a Stripe key is set, a first admin) on
# http://127.0.0.1:3000. Ctrl-C stops the shop and the database this script started.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh
source scripts/env.sh

PG_PORT="${ARTWALL_PG_PORT:-54329}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:$PG_PORT/artwall}"
export ARTWALL_MEDIA_DIR="${ARTWALL_MEDIA_DIR:-$here/.data/media}"

# Stop the cluster at the end only if this run started it (another `make run` may be using it;
# its shop then refuses the busy port).
started_pg=0
if ! psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c 'SELECT 1' >/dev/null 2>&1; then
  bash scripts/pg.sh start .data/pg "$PG_PORT"
  started_pg=1
fi
shop=""
stop_all() {
  trap '' INT TERM
  [ -n "$shop" ] && stop_processes "$shop"
  [ "$started_pg" = 1 ] && bash scripts/pg.sh stop .data/pg
  return 0
}
trap stop_all EXIT
trap 'exit 0' INT TERM
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'artwall'" | grep -q 1 \
  || createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres artwall

if [ "${RELEASE:-0}" = 1 ]; then
  # Release builds ship brotli and gzip copies of the WASM, JS and CSS beside them.
  bash scripts/build_release.sh; bin="$CARGO_TARGET_DIR/release/artwall"
else
  cargo leptos build --split; bin="$CARGO_TARGET_DIR/debug/artwall"
fi

ensure_demo_catalogue
"$bin" migrate
# Idempotent: paintings already present are skipped in seconds.
"$bin" import "$ARTWALL_DEMO_CATALOGUE"

# In the background so that this script's traps run at once on Ctrl-C or TERM and stop the shop.
bash scripts/shop.sh "$bin" &
shop=$!
wait "$shop"
