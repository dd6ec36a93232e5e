#!/bin/sh
# Installs whatever is missing to build and run Quire, and nothing else:
# the wasm32 target, worker-build, the wasm-bindgen CLI matching Cargo.lock,
# npm packages, and .dev.vars. Fast when everything is already there.
set -eu
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
WORKER_BUILD_VERSION=0.8.7

say() { printf 'setup: %s\n' "$*" >&2; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! worker-build --version 2>/dev/null | grep -q "$WORKER_BUILD_VERSION\$"; then
  say "installing worker-build $WORKER_BUILD_VERSION (about 3 minutes)"
  cargo install "worker-build@$WORKER_BUILD_VERSION" --locked
fi

# The CLI must equal the wasm-bindgen crate in Cargo.lock exactly.
WBG=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WBG\$"; then
  say "installing wasm-bindgen-cli $WBG (about 4 minutes)"
  # --locked can fail when the registry mirror lags; retry without it.
  cargo install wasm-bindgen-cli --version "$WBG" --locked ||
    cargo install wasm-bindgen-cli --version "$WBG"
fi

if [ ! -x node_modules/.bin/wrangler ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund
fi

if [ ! -f .dev.vars ]; then
  say "creating .dev.vars from .dev.vars.example"
  cp .dev.vars.example .dev.vars
else
  # Settings added to the example since .dev.vars was made are appended.
  for name in $(sed -n 's/^\([A-Z0-9_]*\)=.*/\1/p' .dev.vars.example); do
    if ! grep -q "^$name=" .dev.vars; then
      say "adding $name to .dev.vars"
      [ -z "$(tail -c 1 .dev.vars)" ] || echo >> .dev.vars
      grep "^$name=" .dev.vars.example >> .dev.vars
    fi
  done
fi
