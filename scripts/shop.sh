#!/usr/bin/env bash
# Serves the shop the way `make run` configures it, and stops everything it started on Ctrl-C,
# TERM, or when one of its servers dies. scripts/run.sh and the Playwright suite (scripts/e2e.sh)
# both start the shop through here.
#   scripts/shop.sh BINARY     with DATABASE_URL migrated and the catalogue imported
#
# Payments: Stripe when ARTWALL_STRIPE_SECRET_KEY is set. Otherwise the project's own
# Stripe-compatible test server (localstripe + scripts/stripe_harness.py) on loopback, with a
# webhook secret made up for this run; every page then says that no card is charged.
# Admin: on the first run, an admin with a generated password, printed once.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
source scripts/env.sh
bin=${1:?usage: scripts/shop.sh BINARY}
site_addr="${LEPTOS_SITE_ADDR:-127.0.0.1:3000}"
mkdir -p "$ARTWALL_LOG_DIR"

pids=()
stop_all() {
  trap '' INT TERM # a second Ctrl-C must not cut the clean-up short
  stop_processes "${pids[@]}"
}
trap stop_all EXIT
trap 'exit 0' INT TERM
refuse_port_in_use "${site_addr##*:}" ArtWall

if [ -z "${ARTWALL_STRIPE_SECRET_KEY:-}" ]; then
  stripe_port="${ARTWALL_TEST_STRIPE_PORT:-8420}"
  stripe_log="$ARTWALL_LOG_DIR/test-stripe.log"
  refuse_port_in_use "$stripe_port" "the test Stripe server"
  webhook_secret="whsec_$("$ARTWALL_VENV/bin/python" -c 'import secrets; print(secrets.token_hex(24))')"
  # Its sessions outlive a restart, like the database's orders that point at them.
  ARTWALL_HARNESS_STATE="${ARTWALL_TEST_STRIPE_STATE:-$here/.data/test-stripe-state.json}" \
  ARTWALL_HARNESS_WEBHOOK_URL="http://$site_addr/api/webhooks/stripe" ARTWALL_HARNESS_WEBHOOK_SECRET="$webhook_secret" \
    "$ARTWALL_VENV/bin/python" scripts/stripe_harness.py --port "$stripe_port" > "$stripe_log" 2>&1 &
  pids+=($!)
  wait_until_up "http://127.0.0.1:$stripe_port/" "the test Stripe server" "${pids[-1]}" "$stripe_log"
  # A test-mode key: the shop shows its "no card is charged" notice.
  export ARTWALL_STRIPE_SECRET_KEY="sk_test_artwall_local" ARTWALL_STRIPE_API_BASE="http://127.0.0.1:$stripe_port" \
    ARTWALL_STRIPE_WEBHOOK_SECRETS="$webhook_secret"
  payments="test payments: no card is charged (test Stripe server on 127.0.0.1:$stripe_port)"
else
  payments="payments through Stripe"
  if [ -z "${ARTWALL_STRIPE_WEBHOOK_SECRETS:-}" ]; then
    echo "WARNING: ARTWALL_STRIPE_WEBHOOK_SECRETS is not set: no webhook will be accepted, so no order will ever be marked paid." >&2
  fi
  echo "Stripe cannot reach 127.0.0.1 itself: forward its webhooks with 'stripe listen --forward-to $site_addr/api/webhooks/stripe' and set ARTWALL_STRIPE_WEBHOOK_SECRETS to the secret it prints." >&2
fi

"$bin" admin first-run
"$bin" serve &
pids+=($!)
wait_until_up "http://$site_addr/readyz" "ArtWall" "${pids[-1]}" "-"
echo "ArtWall is ready on http://$site_addr ($payments). Ctrl-C stops it."
# Whichever server stops first stops the rest.
wait -n "${pids[@]}"
