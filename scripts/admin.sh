#!/usr/bin/env bash
# `make admin EMAIL=you@example.com`: adds an admin to `make run`'s database, or resets their
# password (asked for on the terminal, not echoed; ARTWALL_ADMIN_PASSWORD also works). Resetting
# a password signs that admin out everywhere, and is how to get back into a shop whose first
# admin's password was lost.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
source scripts/env.sh
email=${1:?usage: make admin EMAIL=you@example.com}
bin="$CARGO_TARGET_DIR/debug/artwall"
[ -x "$bin" ] || bin="$CARGO_TARGET_DIR/release/artwall"
[ -x "$bin" ] || { echo "build the shop first: make run" >&2; exit 1; }
# The cluster may be running under `make run`; if this script starts it, it stops it again.
use_run_database
# Asked here, without echo, when a person is at the terminal.
if [ -z "${ARTWALL_ADMIN_PASSWORD:-}" ] && [ -t 0 ]; then
  read -rs -p "New password for $email (at least 10 characters): " ARTWALL_ADMIN_PASSWORD
  echo
  export ARTWALL_ADMIN_PASSWORD
fi
"$bin" admin create "$email"
