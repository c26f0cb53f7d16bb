#!/usr/bin/env bash
# `make run`: a local Postgres with pgvector, migrations, the demo catalogue, the app on
# http://127.0.0.1:3000. Ctrl-C stops the app and the database this script started.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh
source scripts/env.sh

PG_PORT="${ARTWALL_PG_PORT:-54329}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:$PG_PORT/artwall}"
export ARTWALL_MEDIA_DIR="${ARTWALL_MEDIA_DIR:-$here/.data/media}"

bash scripts/pg.sh start .data/pg "$PG_PORT"
# Ctrl-C reaches the server too (same process group); then we stop the cluster we started.
stop_all() {
  set +e
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null
  wait 2>/dev/null
  bash scripts/pg.sh stop .data/pg
}
trap stop_all EXIT
trap 'exit 0' INT TERM
psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'artwall'" | grep -q 1 \
  || createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres artwall

if [ "${RELEASE:-0}" = 1 ]; then
  cargo leptos build --release; bin="$CARGO_TARGET_DIR/release/artwall"
else
  cargo leptos build; bin="$CARGO_TARGET_DIR/debug/artwall"
fi

if [ ! -f "$ARTWALL_DEMO_CATALOGUE" ]; then
  echo "../shared/paintings is absent: generating a small demo catalogue instead"
  "$ARTWALL_VENV/bin/python" scripts/make_demo_catalogue.py --out "$(dirname "$ARTWALL_DEMO_CATALOGUE")"
fi
"$bin" migrate
# Idempotent: paintings already present are skipped in seconds.
"$bin" import "$ARTWALL_DEMO_CATALOGUE"

echo "ArtWall on http://127.0.0.1:3000 (admin: target/debug/artwall admin create you@example.com). Ctrl-C stops."
"$bin" serve &
server_pid=$!
wait "$server_pid"
