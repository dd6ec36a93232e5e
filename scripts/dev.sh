#!/bin/sh
# `npm run dev`: set up, prepare the local database, serve on 127.0.0.1:8787
# with the crons fired on schedule (scripts/dev.mjs).
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
export WRANGLER_SEND_METRICS=false
node scripts/local-db.mjs .wrangler/state
# wrangler dev, plus a ticker that fires the cron triggers on schedule.
exec node scripts/dev.mjs
