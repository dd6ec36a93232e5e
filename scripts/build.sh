#!/bin/sh
# Compiles the two workers into build/api and build/jobs (wasm + JS shim). Installs nothing; run
# scripts/setup.sh first (npm run dev / npm test do).
set -eu
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
WASM_BINDGEN_BIN=$(command -v wasm-bindgen)
ESBUILD_BIN=$(ls node_modules/@esbuild/*/bin/esbuild node_modules/wrangler/node_modules/@esbuild/*/bin/esbuild 2>/dev/null | head -n 1)
if [ -z "$ESBUILD_BIN" ]; then
  echo "build: esbuild not found under node_modules; run npm run dev or npm test" >&2
  exit 1
fi
export WASM_BINDGEN_BIN ESBUILD_BIN
# Two workers from one crate (Cargo features `api`, `jobs`): each module
# holds only what its entry points reach; the linker leaves out the rest.
# Each in its own target directory: a cdylib's output has no hash in its
# name, so with one directory the two feature sets would overwrite each
# other and every build would recompile (and race when two `wrangler dev`
# build at once, as the e2e tests do).
# The API worker is built for size (`opt-level = "z"`: its module is its
# cold start, and its requests wait on I/O, not on its code). The jobs
# worker is built for speed: `opt-level = 3` and Wasm SIMD (`simd128`,
# which V8 and so workerd run; memchr's searches and the inflaters use
# it): PDF extraction in workerd went from 0.29x to 0.83-1.07x of native
# pages/s (`npm run bench:extract`, docs/MEASUREMENTS.md).
# QUIRE_JOBS_OPT_LEVEL and QUIRE_JOBS_RUSTFLAGS override both (to measure).
build() {
  if [ "$1" = api ]; then
    CARGO_PROFILE_RELEASE_OPT_LEVEL=z CARGO_TARGET_DIR="target/worker-$1" \
      worker-build --release --out-dir "build/.next/$1" . --features "$1"
  else
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${QUIRE_JOBS_RUSTFLAGS--C target-feature=+simd128}" \
    CARGO_PROFILE_RELEASE_OPT_LEVEL="${QUIRE_JOBS_OPT_LEVEL:-3}" CARGO_TARGET_DIR="target/worker-$1" \
      worker-build --release --out-dir "build/.next/$1" . --features "$1"
  fi
  # Optional size pass (binaryen's JS build, about 40 s). Once the name
  # section is stripped it makes the module smaller raw but larger gzipped
  # (`npm run bench:size` measures both), so deploys do not use it.
  if [ "${QUIRE_WASM_OPT:-0}" = "1" ]; then
    # Only the features the module already uses: --all-features emits
    # encodings workerd rejects ("unknown import kind").
    node node_modules/binaryen/bin/wasm-opt -Oz --enable-exception-handling \
      --enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int \
      --enable-sign-ext --enable-mutable-globals --enable-multivalue \
      "build/.next/$1/index_bg.wasm" -o "build/.next/$1/index_bg.opt.wasm"
    mv "build/.next/$1/index_bg.opt.wasm" "build/.next/$1/index_bg.wasm"
  fi
  # Function names are a fifth of a module and only serve stack traces.
  if [ "${QUIRE_KEEP_NAMES:-0}" != "1" ]; then
    node scripts/strip-names.mjs "build/.next/$1/index_bg.wasm"
  fi
  # Into place file by file, each only if it changed and by rename: a
  # `wrangler dev` loading the other worker at that moment reads a whole
  # file, old or new, never one half written.
  (cd "build/.next/$1" && find . -type f) | while read -r f; do
    mkdir -p "$(dirname "build/$1/$f")"
    if ! cmp -s "build/.next/$1/$f" "build/$1/$f"; then
      cp "build/.next/$1/$f" "build/$1/$f.tmp" && mv "build/$1/$f.tmp" "build/$1/$f"
    fi
  done
}
build api
build jobs
