#!/bin/sh
# Builds the release worker and prints the Wasm bundle size, raw and gzipped
# (the cold-start cost that matters on Workers).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
report() {
  raw=$(stat -c %s build/index_bg.wasm)
  gz=$(gzip -9 -c build/index_bg.wasm | wc -c)
  echo "$1: $raw bytes raw ($((raw / 1024)) KiB), $gz bytes gzipped ($((gz / 1024)) KiB)"
}
sh scripts/build.sh >/dev/null 2>&1
report "build/index_bg.wasm (dev build, no wasm-opt)"
QUIRE_WASM_OPT=1 sh scripts/build.sh >/dev/null 2>&1
report "build/index_bg.wasm (QUIRE_WASM_OPT=1, wasm-opt -Oz)"
sh scripts/build.sh >/dev/null 2>&1
