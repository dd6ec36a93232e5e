#!/bin/sh
# `npm run bench:size`: builds each worker and prints its Wasm bundle size,
# raw and gzipped (gzip -9; the cold-start cost that matters on Workers),
# one line per figure: `<worker>-raw-bytes: N`, `<worker>-gz-bytes: N`, for
# the build `wrangler dev` runs and for the deploy build (`-opt`, binaryen
# wasm-opt -Oz, QUIRE_WASM_OPT=1). Quire is one worker today (`quire`).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh >&2
report() {
  raw=$(stat -c %s build/index_bg.wasm)
  gz=$(gzip -9 -c build/index_bg.wasm | wc -c)
  echo "$1-raw-bytes: $raw"
  echo "$1-gz-bytes: $gz"
}
sh scripts/build.sh >/dev/null 2>&1
report quire
QUIRE_WASM_OPT=1 sh scripts/build.sh >/dev/null 2>&1
report quire-opt
# Leave the build `wrangler dev` uses.
sh scripts/build.sh >/dev/null 2>&1
