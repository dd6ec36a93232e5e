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
exec worker-build --release
