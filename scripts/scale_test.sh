#!/usr/bin/env bash
# `make scale-test`: three instances of the shop on one Postgres with a streaming replica, under a
# spread load while one instance is killed; checks exactly-once effects (scripts/soak.py --scale
# says which). `make test` runs a short form of it with its debug build, after its own setup:
#   scripts/scale_test.sh --short BINARY
# Loopback only, on its own Postgres clusters (.data/pg-scale, .data/pg-scale-replica) and ports.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
[ "${1:-}" = --short ] || bash scripts/setup.sh
source scripts/env.sh
# The load tool of the soak and this test, kept out of what `make run` installs.
"$ARTWALL_VENV/bin/pip" install -q -r scripts/soak-requirements.txt
ensure_demo_catalogue
if [ "${1:-}" = --short ]; then
  exec "$ARTWALL_VENV/bin/python" scripts/soak.py --scale --bin "${2:?the shop binary}" --seconds 30 --users 8 --paintings 30
fi
bash scripts/build_release.sh
exec "$ARTWALL_VENV/bin/python" scripts/soak.py --scale --bin "$CARGO_TARGET_DIR/release/artwall" \
  --seconds "${SCALE_SECONDS:-90}" --users "${SCALE_USERS:-30}"
