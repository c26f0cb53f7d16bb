# Sourced by every script: one place for paths and defaults. Anything already set wins.
here="${here:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export ARTWALL_CACHE="${ARTWALL_CACHE:-$HOME/.cache/artwall}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ARTWALL_CACHE/target}"
export TMPDIR="${TMPDIR_ARTWALL:-$ARTWALL_CACHE/tmp}"
export npm_config_cache="${npm_config_cache:-$ARTWALL_CACHE/npm}"
export ARTWALL_VENV="${ARTWALL_VENV:-$ARTWALL_CACHE/venv}"
export PATH="$HOME/.cargo/bin:$PATH"
# CI builds each run in a fresh clone: incremental caches would only pile up on disk.
if [ -n "${CI:-}" ]; then export CARGO_INCREMENTAL=0; fi
export ARTWALL_MODEL_DIR="${ARTWALL_MODEL_DIR:-$here/.data/models/standin}"
# ONNX Runtime comes from the PyPI wheel; ort loads it at run time (feature load-dynamic).
if [ -z "${ORT_DYLIB_PATH:-}" ]; then
  ORT_DYLIB_PATH=$(ls "$ARTWALL_VENV"/lib/python3*/site-packages/onnxruntime/capi/libonnxruntime.so.* 2>/dev/null | head -n1 || true)
  export ORT_DYLIB_PATH
fi
# The demo catalogue: the shared paintings when present, else a small generated one.
if [ -z "${ARTWALL_DEMO_CATALOGUE:-}" ]; then
  if [ -f "$here/../shared/paintings/metadata.csv" ]; then
    export ARTWALL_DEMO_CATALOGUE="$here/../shared/paintings/metadata.csv"
  else
    export ARTWALL_DEMO_CATALOGUE="$here/.data/generated-catalogue/metadata.csv"
  fi
fi
# The key that signs visitor cookies: made once per checkout and kept, so visitors stay who they
# are across restarts. Production sets ARTWALL_COOKIE_KEYS itself (see .env.example).
if [ -z "${ARTWALL_COOKIE_KEYS:-}" ]; then
  if [ ! -s "$here/.data/cookie-key" ]; then
    mkdir -p "$here/.data"
    (umask 077 && head -c 48 /dev/urandom | base64 -w0 > "$here/.data/cookie-key")
  fi
  ARTWALL_COOKIE_KEYS=$(cat "$here/.data/cookie-key")
  export ARTWALL_COOKIE_KEYS
fi
# Logs of the servers our scripts start (the test Stripe server, e2e's shop).
export ARTWALL_LOG_DIR="${ARTWALL_LOG_DIR:-$here/.data/logs}"

# use_run_database: DATABASE_URL, by default `make run`'s database. When `make run`'s Postgres is
# not running, starts it, and stops it again when the calling script exits.
use_run_database() {
  local port="${ARTWALL_PG_PORT:-54329}"
  export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:$port/artwall}"
  if ! psql -q -h 127.0.0.1 -p "$port" -U postgres -c 'SELECT 1' >/dev/null 2>&1; then
    bash scripts/pg.sh start .data/pg "$port"
    trap 'bash scripts/pg.sh stop .data/pg' EXIT
  fi
}

# ensure_demo_catalogue: the demo catalogue's CSV exists (generated when ../shared is absent).
ensure_demo_catalogue() {
  if [ ! -f "$ARTWALL_DEMO_CATALOGUE" ]; then
    echo "../shared/paintings is absent: generating a small demo catalogue instead"
    "$ARTWALL_VENV/bin/python" scripts/make_demo_catalogue.py --out "$(dirname "$ARTWALL_DEMO_CATALOGUE")"
  fi
}

# seed_shop NAME PG_PORT BINARY PAINTINGS: a fresh database NAME on the cluster at PG_PORT and a
# fresh media folder (.data/NAME-media) holding the first PAINTINGS demo paintings; exports
# DATABASE_URL and ARTWALL_MEDIA_DIR for the shop that serves them.
seed_shop() {
  local name=$1 port=$2 bin=$3 paintings=$4
  export DATABASE_URL="postgres://postgres@127.0.0.1:$port/$name"
  export ARTWALL_MEDIA_DIR="$here/.data/$name-media"
  dropdb --if-exists -h 127.0.0.1 -p "$port" -U postgres "$name"
  createdb -h 127.0.0.1 -p "$port" -U postgres "$name"
  rm -rf "$ARTWALL_MEDIA_DIR"
  ensure_demo_catalogue
  "$bin" import "$ARTWALL_DEMO_CATALOGUE" --limit "$paintings"
}

# refuse_port_in_use PORT NAME: fails when something already answers on the loopback PORT
# (another `make run`, say), instead of letting the new server die and the old one answer.
refuse_port_in_use() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
    echo "port $1, which $2 needs, is already in use on 127.0.0.1: is another 'make run' or 'make test' running?" >&2
    return 1
  fi
}

# wait_until_up URL NAME PID LOG: polls URL until it answers below 500 (60 s at most) while the
# process PID is alive, failing early with the end of LOG (a file, if there is one) when it dies.
wait_until_up() {
  local url=$1 name=$2 pid=$3 log=$4 code
  for _ in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$name stopped before it was ready." >&2
      if [ -f "$log" ]; then echo "The end of its log ($log):" >&2; tail -n 40 "$log" >&2; fi
      return 1
    fi
    code=$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)
    [ "$code" != 000 ] && [ "$code" -lt 500 ] && return 0
    sleep 0.2
  done
  echo "$name was not ready at $url after 60 s." >&2
  if [ -f "$log" ]; then tail -n 40 "$log" >&2; fi
  return 1
}

# stop_processes PID...: TERM, up to 10 s to finish, then KILL.
stop_processes() {
  [ $# -gt 0 ] || return 0
  kill -TERM "$@" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$@" 2>/dev/null || break
    sleep 0.2
  done
  kill -KILL "$@" 2>/dev/null || true
  wait "$@" 2>/dev/null || true
}
