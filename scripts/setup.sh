#!/usr/bin/env bash
# Installs everything ArtWall needs on a fresh Debian bookworm machine. Idempotent: each step
# checks first, so a second run takes seconds. Called by `make run` and `make test` (with
# `mutants` by `make mutants`, which also installs cargo-mutants, and with `bench` by `make bench`,
# which also installs twiggy); the steps
# live in scripts/setup_steps.sh, and scripts/setup_check.sh (run by `make test`) exercises the
# ones this machine skips.
#
# Caches live outside the clone (ARTWALL_CACHE, default ~/.cache/artwall) so that fresh clones
# in CI reuse the Python venv, the cargo target dir and the npm cache.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/env.sh"
source "$here/scripts/setup_steps.sh"

mkdir -p "$ARTWALL_CACHE" "$TMPDIR"

# --- Debian packages -------------------------------------------------------------------------
mapfile -t missing < <(missing_apt_packages)
if [ ${#missing[@]} -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# --- pgvector 0.8 ----------------------------------------------------------------------------
if ! pgvector_installed; then
  log "building pgvector $PGVECTOR_SERIES from Debian trixie's source package"
  build_pgvector "$ARTWALL_CACHE/pgvector-src" ""
  pgvector_installed || { echo "pgvector was built but $($PG_CONFIG --sharedir)/extension/vector.control is not $PGVECTOR_SERIES" >&2; exit 1; }
fi

# --- Rust toolchain pieces -------------------------------------------------------------------
rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
# `make check` formats and lints with these (in rustup's default profile, not in its minimal one).
for component in rustfmt clippy; do
  rustup component list --installed | grep -q "^$component-" || rustup component add "$component"
done
# cargo-leptos builds the app (about 12 minutes to install on 2 cores), cargo-nextest runs its
# tests (about 5); cargo-mutants only for `make mutants` (scripts/setup.sh mutants).
cargo_tools=(leptos nextest)
[ "${1:-}" = mutants ] && cargo_tools+=(mutants)
for tool in "${cargo_tools[@]}"; do
  if ! cargo_tool_installed "$tool"; then
    log "cargo install cargo-$tool ${CARGO_TOOL_VERSIONS[$tool]}"
    install_cargo_tool "$tool"
  fi
done
# twiggy tells `make bench` what the WASM is made of (scripts/setup.sh bench; about 3 minutes).
if [ "${1:-}" = bench ] && ! twiggy --version 2>/dev/null | grep -qx "twiggy-opt $TWIGGY_VERSION"; then
  log "cargo install twiggy $TWIGGY_VERSION"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 cargo install twiggy --locked --version "$TWIGGY_VERSION"
fi
if ! wasm_bindgen_installed; then
  log "cargo install wasm-bindgen-cli $(wasm_bindgen_version)"
  cargo install wasm-bindgen-cli --version "$(wasm_bindgen_version)"   # no --locked: its lock wants a yanked crate
fi

# --- Python: ONNX Runtime library, model generators, Stripe and GCS test servers ---------------
if ! python_tools_installed; then
  log "pip: installing scripts/requirements.txt into $ARTWALL_VENV"
  install_python_tools "$ARTWALL_VENV"
fi

# --- npm: Playwright (uses Debian's Chromium, downloads no browser) and binaryen's wasm-opt ----
if ! node_modules_installed; then
  log "npm ci"
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# --- The stand-in model (ONNX, same I/O contract as CLIP ViT-B/32) -----------------------------
if [ "$ARTWALL_MODEL_DIR" = "$here/.data/models/standin" ] && ! standin_model_current "$ARTWALL_MODEL_DIR"; then
  log "generating the stand-in model into $ARTWALL_MODEL_DIR"
  generate_standin_model "$ARTWALL_MODEL_DIR"
fi
# The shared target dir keeps a full set of this crate's artifacts per checkout path (each CI
# run is a fresh clone elsewhere): drop the previous checkout's before building this one.
marker="$CARGO_TARGET_DIR/.artwall-checkout"
if [ -d "$CARGO_TARGET_DIR" ] && [ "$(cat "$marker" 2>/dev/null)" != "$here" ]; then
  log "pruning build artifacts of the previous checkout"
  (cd "$here" && cargo clean -q -p artwall 2>/dev/null || true)
  (cd "$here" && cargo clean -q -p artwall --target-dir "$CARGO_TARGET_DIR/front" --target wasm32-unknown-unknown 2>/dev/null || true)
fi
mkdir -p "$CARGO_TARGET_DIR" && echo "$here" > "$marker"
log "ready"
