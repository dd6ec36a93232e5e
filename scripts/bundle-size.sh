#!/bin/sh
# `npm run bench:size`: builds both workers and prints each one's Wasm
# bundle size, raw and gzipped (gzip -9; the cold-start cost that matters
# on Workers), one line per figure: `<worker>-raw-bytes: N`,
# `<worker>-gz-bytes: N`, for the build `wrangler dev` runs and deploys
# (`api`, `jobs`) and with binaryen's wasm-opt -Oz over it (`-opt`,
# QUIRE_WASM_OPT=1). Set BUNDLE_BUILT=1 to measure build/ as it is.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh >&2
report() {
  for worker in api jobs; do
    raw=$(stat -c %s "build/$worker/index_bg.wasm")
    gz=$(gzip -9 -c "build/$worker/index_bg.wasm" | wc -c)
    echo "$worker$1-raw-bytes: $raw"
    echo "$worker$1-gz-bytes: $gz"
  done
}
[ "${BUNDLE_BUILT:-0}" = "1" ] || sh scripts/build.sh >/dev/null 2>&1
report ""
if [ "${BUNDLE_BUILT:-0}" != "1" ]; then
  QUIRE_WASM_OPT=1 sh scripts/build.sh >/dev/null 2>&1
  report -opt
  # Leave the build `wrangler dev` uses.
  sh scripts/build.sh >/dev/null 2>&1
fi
