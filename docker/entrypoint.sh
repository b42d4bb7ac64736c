#!/bin/sh
# The image's entrypoint: `api`, `worker`, `migrate` or `apikey create|list|revoke ...`
# (anything else is exec'd as given).
# exec, so that node replaces this shell as PID 1 and receives SIGTERM directly.
set -e
case "$1" in
  # --max-semi-space-size: see scripts/lib/node-flags.ts
  api) exec node --max-semi-space-size=4 apps/api/src/main.ts ;;
  worker) exec node --max-semi-space-size=4 apps/worker/src/main.ts ;;
  migrate) exec node packages/core/src/migrations/cli.ts ;;
  apikey) shift; exec node scripts/apikey.ts "$@" ;;
  *) exec "$@" ;;
esac
