#!/bin/sh
# Builds the release worker and prints the Wasm bundle size, raw and gzipped
# (the cold-start cost that matters on Workers).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
sh scripts/build.sh >/dev/null 2>&1
raw=$(stat -c %s build/index_bg.wasm)
gz=$(gzip -9 -c build/index_bg.wasm | wc -c)
echo "build/index_bg.wasm: $raw bytes raw ($((raw / 1024)) KiB), $gz bytes gzipped ($((gz / 1024)) KiB)"
