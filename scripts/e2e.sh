#!/usr/bin/env bash
# Builds the app with cargo-leptos, seeds a fresh database with part of the demo catalogue and an
# admin, serves it on 127.0.0.1:3000 and runs the Playwright suite in end2end/. Expects the test
# Postgres on port $1 (started by scripts/test.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
source scripts/env.sh
PG_PORT=${1:?postgres port}

cargo leptos build
bin="$CARGO_TARGET_DIR/debug/artwall"

export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/artwall_e2e"
export ARTWALL_MEDIA_DIR="$here/.data/e2e-media"
export E2E_ADMIN_EMAIL="e2e-admin@example.com" E2E_ADMIN_PASSWORD="e2e password, not secret"
dropdb --if-exists -h 127.0.0.1 -p "$PG_PORT" -U postgres artwall_e2e
createdb -h 127.0.0.1 -p "$PG_PORT" -U postgres artwall_e2e
rm -rf "$ARTWALL_MEDIA_DIR"

if [ ! -f "$ARTWALL_DEMO_CATALOGUE" ]; then
  "$ARTWALL_VENV/bin/python" scripts/make_demo_catalogue.py --out "$(dirname "$ARTWALL_DEMO_CATALOGUE")"
fi
"$bin" import "$ARTWALL_DEMO_CATALOGUE" --limit 40
ARTWALL_ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD" "$bin" admin create "$E2E_ADMIN_EMAIL"

# Stripe is localstripe plus our harness; its pay page completes the session and its signed
# webhooks come back to the app.
STRIPE_PORT=8420 WEBHOOK_SECRET="whsec_e2e"
ARTWALL_HARNESS_WEBHOOK_URL="http://127.0.0.1:3000/api/webhooks/stripe" ARTWALL_HARNESS_WEBHOOK_SECRET="$WEBHOOK_SECRET" \
  "$ARTWALL_VENV/bin/python" scripts/stripe_harness.py --port "$STRIPE_PORT" > "$ARTWALL_CACHE/logs-e2e-stripe.log" 2>&1 &
stripe=$!
# The admin import test fetches images from a server of its own on 127.0.0.1.
export ARTWALL_FETCH_ALLOW_PRIVATE=true
export ARTWALL_STRIPE_SECRET_KEY="sk_test_e2e" ARTWALL_STRIPE_API_BASE="http://127.0.0.1:$STRIPE_PORT" \
  ARTWALL_STRIPE_WEBHOOK_SECRETS="$WEBHOOK_SECRET"

"$bin" serve > "$ARTWALL_CACHE/logs-e2e-server.log" 2>&1 &
server=$!
trap 'kill $server $stripe 2>/dev/null; wait $server $stripe 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$STRIPE_PORT/" && break
  kill -0 $stripe 2>/dev/null || { cat "$ARTWALL_CACHE/logs-e2e-stripe.log"; exit 1; }
  sleep 0.2
done
for _ in $(seq 1 100); do
  curl -sf http://127.0.0.1:3000/readyz >/dev/null && break
  kill -0 $server 2>/dev/null || { cat "$ARTWALL_CACHE/logs-e2e-server.log"; exit 1; }
  sleep 0.2
done
# Extra arguments pick specs or tests, e.g. `scripts/e2e.sh 54330 wall`.
(cd end2end && npx playwright test "${@:2}")
