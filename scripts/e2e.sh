#!/usr/bin/env bash
# Builds the app with cargo-leptos, imports part of the demo catalogue into a fresh database,
# starts the shop exactly as `make run` does (scripts/shop.sh: the test Stripe server, the first
# admin) on 127.0.0.1:3000 and runs the Playwright suite in end2end/. Expects the test Postgres on
# port $1 (started by scripts/test.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
source scripts/env.sh
PG_PORT=${1:?postgres port}

mold -run cargo leptos build --split
bin="$CARGO_TARGET_DIR/debug/artwall"

seed_shop artwall_e2e "$PG_PORT" "$bin" 40

# The one addition to `make run`'s configuration: the admin import test fetches images from a
# server of its own on 127.0.0.1. A Stripe key from the caller's environment would bypass the
# test Stripe server.
export ARTWALL_FETCH_ALLOW_PRIVATE=true
unset ARTWALL_STRIPE_SECRET_KEY ARTWALL_STRIPE_API_BASE ARTWALL_STRIPE_WEBHOOK_SECRETS
# The test Stripe server starts empty, like the database.
export ARTWALL_TEST_STRIPE_STATE="$here/.data/e2e-stripe-state.json"
rm -f "$ARTWALL_TEST_STRIPE_STATE"
mkdir -p "$ARTWALL_LOG_DIR"
shop_log="$ARTWALL_LOG_DIR/e2e-shop.log"
bash scripts/shop.sh "$bin" > "$shop_log" 2>&1 &
shop=$!
trap 'stop_processes $shop' EXIT
wait_until_up http://127.0.0.1:3000/readyz "the shop" $shop "$shop_log"
# The tests sign in with what the first run printed, as a newcomer would.
E2E_ADMIN_EMAIL=$(sed -n 's/^  email: *//p' "$shop_log")
E2E_ADMIN_PASSWORD=$(sed -n 's/^  password: *//p' "$shop_log")
export E2E_ADMIN_EMAIL E2E_ADMIN_PASSWORD
[ -n "$E2E_ADMIN_PASSWORD" ] || { echo "the first run printed no admin password:" >&2; cat "$shop_log" >&2; exit 1; }
# Extra arguments pick specs or tests, e.g. `scripts/e2e.sh 54330 wall`.
(cd end2end && npx playwright test "${@:2}")
