#!/usr/bin/env bash
# `make mutants`: mutation testing (cargo-mutants) of the modules that hold the shop's promises,
# each against the tests that guard it. Prints caught / missed / timed out / unviable per module;
# the missed ones are listed under $ARTWALL_CACHE/mutants/<group>/mutants.out/missed.txt.
# Not part of CI: each mutant is a rebuild, so a full run takes hours on 2 cores.
#   make mutants                 every group
#   make mutants ONLY="pricing orders"
#   make mutants SINCE=<commit>  only the lines changed since that commit (cargo-mutants --in-diff)
#
# It mutates the checkout in place (the tests read ../shared beside it, which a copy elsewhere
# would not have) and restores each file after each mutant: leave the tree alone while it runs.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
# Its own target dir: cargo names this crate's artifacts the same in every checkout, so builds of
# the mutated tree and of your checkout would overwrite each other's in a shared one.
export CARGO_TARGET_DIR="${ARTWALL_MUTANTS_TARGET_DIR:-${ARTWALL_CACHE:-$HOME/.cache/artwall}/mutants-target}"
bash scripts/setup.sh mutants
source scripts/env.sh

# One line a group: its name | the files mutated | the functions mutated there (all: *) | the
# modules of tests/it that guard them (the unit tests always run too).
GROUP_TABLE="
webhook | src/server/shop/payments/webhook.rs                | * | webhook metrics
orders  | src/order_status.rs src/server/shop/orders.rs     | * | checkout webhook dashboard http
taste   | src/server/discovery/taste.rs src/server/discovery/taste_model.rs | * | activity rooms learning
guards  | src/server/http/visitor.rs src/server/http/auth.rs | * | http checkout security visitor
pricing | src/pricing.rs                                    | * | checkout
feed    | src/server/discovery/feed.rs | next_page nearest_unseen nearest_unseen_sql diverse_unseen find_candidates candidate_page_sql | feed discover
"
declare -A FILES FUNCTIONS TESTS
while IFS='|' read -r name files functions tests; do
  name=$(echo $name)
  [ -n "$name" ] || continue
  FILES[$name]=$(echo $files)
  functions=$(xargs <<<"$functions")
  # A mutant's name ends "in FUNCTION" or starts "replace FUNCTION"; \b keeps a name from
  # matching a longer one (nearest_unseen, nearest_unseen_sql).
  [ "$functions" = "*" ] && FUNCTIONS[$name]="." || FUNCTIONS[$name]="\\b(${functions// /|})\\b"
  TESTS[$name]=$(echo $tests)
done <<<"$GROUP_TABLE"
groups=(${MUTANT_GROUPS:-webhook orders taste guards pricing feed})

# A mutant left behind by a run that was killed outright would look like an edit: start only
# from committed files, and say so if one is left changed.
all_files=$(for group in "${groups[@]}"; do echo "${FILES[$group]:-}"; done)
if ! git diff --quiet HEAD -- $all_files; then
  echo "commit or stash your changes to these files first: $(git diff --name-only HEAD -- $all_files | tr '\n' ' ')" >&2
  exit 2
fi
check_restored() {
  git diff --quiet HEAD -- $all_files || echo "WARNING: a mutant may be left in: $(git diff --name-only HEAD -- $all_files | tr '\n' ' ')(git checkout -- FILE restores it)" >&2
}

PG_PORT="${ARTWALL_MUTANTS_PG_PORT:-54332}"
bash scripts/pg.sh start .data/pg-mutants "$PG_PORT"
trap 'bash scripts/pg.sh stop .data/pg-mutants; check_restored' EXIT
export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"

out_root="$ARTWALL_CACHE/mutants"
summary=()
for group in "${groups[@]}"; do
  [ -n "${FILES[$group]:-}" ] || { echo "unknown group $group (have: ${!FILES[*]})" >&2; exit 2; }
  file_args=()
  for f in ${FILES[$group]}; do file_args+=(--file "$f"); done
  modules=${TESTS[$group]}
  test_args=(--lib --test it -E "kind(lib) | test(/^(${modules// /|})::/)")
  echo "== $group: ${FILES[$group]} (functions matching ${FUNCTIONS[$group]}) against ${TESTS[$group]}"
  # Exit 2 (missed) and 3 (timeouts) are results, not failures of the run.
  status=0
  mkdir -p "$out_root/$group"
  if [ -n "${SINCE:-}" ]; then
    git diff "$SINCE" -- ${FILES[$group]} > "$out_root/$group/changed.diff"
    file_args+=(--in-diff "$out_root/$group/changed.diff")
  fi
  # mold links each mutant's test binaries in a fraction of ld's time; `mold -run` swaps the
  # linker without touching cargo's fingerprints, so the build cache stays valid.
  mold -run cargo mutants --in-place --no-shuffle --features bench --no-default-features \
    --test-tool nextest --minimum-test-timeout 90 --re "${FUNCTIONS[$group]}" \
    --output "$out_root/$group" "${file_args[@]}" -- "${test_args[@]}" || status=$?
  case $status in 0|2|3) ;; *) echo "cargo mutants failed for $group (exit $status)" >&2; exit "$status" ;; esac
  for f in ${FILES[$group]}; do
    count() { cat "$out_root/$group/mutants.out/$1.txt" 2>/dev/null | grep -c "^$f:" || true; }
    summary+=("$(printf '%-34s caught %4s  missed %4s  timeout %4s  unviable %4s' "$f" "$(count caught)" "$(count missed)" "$(count timeout)" "$(count unviable)")")
  done
done
echo
echo "== mutation testing: per module"
printf '%s\n' "${summary[@]}"
