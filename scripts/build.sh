#!/bin/sh
# Compiles the worker into build/ (wasm + JS shim). Installs nothing; run
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
worker-build --release
# Optional size pass (about 40 s with binaryen's JS build). Once the name
# section is stripped (below) it makes the module smaller raw but larger
# gzipped (1,623,598 against 1,567,342 bytes on 2026-12-02), so deploys
# do not use it; `npm run bench:size` measures both.
if [ "${QUIRE_WASM_OPT:-0}" = "1" ]; then
  # Only the features the module already uses: --all-features emits encodings
  # workerd rejects ("unknown import kind").
  node node_modules/binaryen/bin/wasm-opt -Oz --enable-exception-handling \
    --enable-reference-types --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-multivalue \
    build/index_bg.wasm -o build/index_bg.opt.wasm
  mv build/index_bg.opt.wasm build/index_bg.wasm
fi
# Function names are a fifth of the module and only serve stack traces.
if [ "${QUIRE_KEEP_NAMES:-0}" != "1" ]; then
  node scripts/strip-names.mjs build/index_bg.wasm
fi
