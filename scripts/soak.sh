#!/usr/bin/env bash
# `make soak`: shoppers against the release build for SOAK_SECONDS (90; at least 60) while the
# shop is killed, Postgres restarted and the test Stripe server stopped; prints figures only
# (scripts/soak.py says which). Loopback only, on its own Postgres cluster and ports.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
bash scripts/setup.sh
source scripts/env.sh
# The load tool of the soak and the scale test, kept out of what `make run` installs.
"$ARTWALL_VENV/bin/pip" install -q -r scripts/soak-requirements.txt
ensure_demo_catalogue
bash scripts/build_release.sh
exec "$ARTWALL_VENV/bin/python" scripts/soak.py --bin "$CARGO_TARGET_DIR/release/artwall"
