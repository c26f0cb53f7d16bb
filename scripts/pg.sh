#!/usr/bin/env bash
# A project-local PostgreSQL 15 cluster with pgvector.
#   scripts/pg.sh start DATA_DIR PORT   initialise (first time) and start; prints nothing else
#   scripts/pg.sh replica DATA_DIR PORT PRIMARY_PORT
#                                       a streaming replica of the cluster on PRIMARY_PORT, copied
#                                       afresh (pg_basebackup -R) and started read-only
#   scripts/pg.sh stop  DATA_DIR
# The cluster listens on 127.0.0.1 only and runs as the unprivileged `postgres` user when this
# script runs as root (Postgres refuses root). Local connections are trusted: it is a developer
# cluster bound to loopback, never a production database.
set -euo pipefail
cmd=${1:?start|replica|stop}; data=${2:?data dir}; port=${3:-54329}; primary_port=${4:-}
bin=/usr/lib/postgresql/15/bin
mkdir -p "$(dirname "$data")"
data="$(cd "$(dirname "$data")" && pwd)/$(basename "$data")"

# As root, the cluster runs as `postgres`, which may not be able to reach the checkout (a 0700
# temporary clone, say). Then the data lives under postgres's home, linked from the path asked for.
if [ "$(id -u)" = 0 ] && [ ! -L "$data" ] && ! (cd / && runuser -u postgres -- test -x "$(dirname "$data")"); then
  real="/var/lib/postgresql/artwall/$(printf %s "$data" | sha256sum | cut -c1-16)"
  mkdir -p "$real" && chown postgres:postgres "$(dirname "$real")" "$real"
  rm -rf "$data" && ln -s "$real" "$data"
fi
[ -L "$data" ] && data=$(readlink -f "$data")
mkdir -p "$data"
sock="$data/socket"

run_pg() {
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

case "$cmd" in
  start|replica)
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$data"; fi
    if [ "$cmd" = replica ]; then
      # A fresh copy each time: one left from an earlier primary would never catch up with this one.
      run_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1 && run_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
      run_pg find "$data" -mindepth 1 -delete
      # initdb's pg_hba.conf trusts replication connections from loopback; -R writes
      # standby.signal and primary_conninfo, so the copy starts as a hot standby.
      run_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "${primary_port:?PRIMARY_PORT}" -U postgres \
        -D "$data" -R -X stream -c fast 2>&1 | { grep -v 'skipping special file' || true; } >&2
      run_pg chmod 700 "$data"
    elif [ ! -f "$data/PG_VERSION" ]; then
      run_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if run_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then exit 0; fi
    run_pg mkdir -p "$sock"
    # fsync off: a developer and test cluster trades crash safety for speed. 1 GB of shared
    # buffers holds the HNSW index of `make bench`'s 100k paintings (260 MB); 128 MB did not.
    run_pg "$bin/pg_ctl" -D "$data" -l "$data/server.log" -w -t 30 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $sock -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=${PG_SHARED_BUFFERS:-1GB}" \
      start >/dev/null
    ;;
  stop)
    if run_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      run_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    ;;
  *) echo "usage: $0 start|stop DATA_DIR [PORT] | replica DATA_DIR PORT PRIMARY_PORT" >&2; exit 2 ;;
esac
