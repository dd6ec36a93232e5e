#!/bin/sh
# `npm run dev`: set up, prepare the local database, serve on 127.0.0.1:8787.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
export WRANGLER_SEND_METRICS=false
node scripts/local-db.mjs .wrangler/state
exec node_modules/.bin/wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" --persist-to .wrangler/state
