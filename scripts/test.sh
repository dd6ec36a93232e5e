#!/bin/sh
# `npm test`: set up what is missing, then every check and test, in order of
# cost: formatting, lints (host and wasm32), native unit/application/corpus
# tests, end-to-end tests against `wrangler dev`.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH" WRANGLER_SEND_METRICS=false

step() { printf '\n== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check
step "clippy (host)"
cargo clippy --workspace --all-targets --locked -- -D warnings
# Once per worker: a wasm32 build is the API worker or the jobs worker.
step "clippy (wasm32, api worker)"
cargo clippy --target wasm32-unknown-unknown --lib --locked --features api -- -D warnings
step "clippy (wasm32, jobs worker)"
cargo clippy --target wasm32-unknown-unknown --lib --locked --features jobs -- -D warnings
step "client types: generated from docs/openapi.json, and type-checked"
node scripts/gen-client-types.mjs --check
node_modules/.bin/tsc -p clients/js/tsconfig.json
step "unit, application and corpus tests (native)"
cargo test --workspace --locked
# The engine must build and test on its own, not only with the service's
# features unified in (`crates/extract` is fuzzed and benchmarked alone).
step "quire-extract alone"
cargo test -p quire-extract --locked --quiet
# Built here, not first inside `wrangler dev` (whose own build is then a
# quick no-op): a cold release build takes minutes on 2 cores, which the
# servers' start-up wait should not have to cover.
step "wasm build (worker-build --release)"
sh scripts/build.sh
step "end-to-end tests (wrangler dev: workerd + local D1, R2, Queues)"
node tests/e2e/run.mjs
