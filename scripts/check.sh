#!/usr/bin/env bash
# `make check`, also the first step of `make test`: formatting, and clippy with warnings denied
# for both halves of the crate: the server (ssr; with the benchmarks and the tests, bench) and the
# browser client (hydrate, wasm32).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
source scripts/env.sh

echo "== rustfmt"
cargo fmt --check
echo "== clippy: the shop's server (ssr)"
cargo clippy --features ssr --no-default-features --lib --bins -- -D warnings
echo "== clippy: with the benchmarks and the tests (bench)"
cargo clippy --features bench --no-default-features --all-targets -- -D warnings
echo "== clippy: browser client (hydrate, wasm32)"
# The client's target dir is cargo-leptos's, so its dependencies are checked once.
cargo clippy --features hydrate --no-default-features --target wasm32-unknown-unknown \
  --target-dir "$CARGO_TARGET_DIR/front" --lib -- -D warnings
