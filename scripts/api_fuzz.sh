#!/usr/bin/env bash
# The API fuzz `make test` runs: schemathesis generates requests from /api/openapi.json (valid
# and invalid ones, every operation, bounded) against the shop as `make run` starts it, with a
# visitor's and an admin's cookies, the same-origin header a browser sends and lifted rate limits;
# it fails on any 5xx and on any answer that does not match the documented schemas.
#   scripts/api_fuzz.sh BINARY PG_PORT
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
source scripts/env.sh
bin=${1:?usage: scripts/api_fuzz.sh BINARY PG_PORT}; PG_PORT=${2:?postgres port}
port=3200
site="http://127.0.0.1:$port"

seed_shop artwall_fuzz "$PG_PORT" "$bin" 12

unset ARTWALL_STRIPE_SECRET_KEY ARTWALL_STRIPE_API_BASE ARTWALL_STRIPE_WEBHOOK_SECRETS
export LEPTOS_SITE_ADDR="127.0.0.1:$port" ARTWALL_PUBLIC_URL="$site" ARTWALL_TEST_STRIPE_PORT=8421
export ARTWALL_TEST_STRIPE_STATE="$here/.data/fuzz-stripe-state.json"
rm -f "$ARTWALL_TEST_STRIPE_STATE"
for limit in LOGIN ACTIVITY FEED SEARCH UPLOAD CHECKOUT; do export "ARTWALL_RATE_${limit}_PER_MINUTE=1000000"; done
# The shop's own counts say afterwards whether the fuzz got past the visitor and admin checks.
export ARTWALL_METRICS_TOKEN="fuzz-$RANDOM-$RANDOM-$RANDOM"
mkdir -p "$ARTWALL_LOG_DIR"
shop_log="$ARTWALL_LOG_DIR/fuzz-shop.log"
bash scripts/shop.sh "$bin" > "$shop_log" 2>&1 &
shop=$!
trap 'stop_processes $shop' EXIT
wait_until_up "$site/readyz" "the shop" $shop "$shop_log"

# A visitor's cookie, as the first answer sets it, and an admin's session.
jar=$(mktemp)
curl -sf -c "$jar" -o /dev/null "$site/api/shop"
email=$(sed -n 's/^  email: *//p' "$shop_log"); password=$(sed -n 's/^  password: *//p' "$shop_log")
curl -sf -b "$jar" -c "$jar" -o /dev/null -H 'accept: application/json' -H 'sec-fetch-site: same-origin' \
  --data-urlencode "email=$email" --data-urlencode "password=$password" "$site/api/admin/login"
# curl's jar marks HttpOnly cookies (all of ours) with a prefix on an otherwise commented line.
cookies=$(sed 's/^#HttpOnly_//' "$jar" | awk '!/^#/ && NF >= 7 { printf "%s%s=%s", sep, $6, $7; sep = "; " }')
case "$cookies" in *artwall_admin*) ;; *) echo "no admin session for the fuzz: $cookies" >&2; exit 1 ;; esac
rm -f "$jar"

# Deterministic (the same requests on every run, one at a time) so that CI is repeatable;
# FUZZ_SEED explores other ones. Run from .data: schemathesis keeps a cache where it runs.
(cd "$here/.data" && "$ARTWALL_VENV/bin/schemathesis" run "$site/api/openapi.json" --url "$site" \
  --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
  --max-examples "${FUZZ_EXAMPLES:-12}" --seed "${FUZZ_SEED:-1}" --generation-deterministic --workers 1 \
  --request-timeout 30 --phases examples,coverage,fuzzing \
  --header "Cookie: $cookies" --header "Sec-Fetch-Site: same-origin" --header "Accept: application/json" \
  --exclude-path /api/admin/logout --suppress-health-check too_slow,filter_too_much "${@:3}")

# Requests that only ever met the visitor or admin checks would pass the run above without
# testing anything behind them.
answered=$(curl -sf -H "authorization: Bearer $ARTWALL_METRICS_TOKEN" "$site/metrics" | grep '^artwall_http_requests_total{')
for route in /api/feed /api/activity /api/feed/reset /api/admin/overview /api/admin/paintings; do
  grep -q "route=\"$route\",status=\"200\"" <<< "$answered" \
    || { echo "the fuzz never got a 200 from $route: did it get past the visitor and admin checks?" >&2; exit 1; }
done
echo "the fuzz got past the checks: 200s from every route it must reach"
