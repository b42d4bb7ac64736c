#!/bin/sh
# The image's entrypoint: `api`, `worker`, `migrate`, `apikey create|list|revoke ...`, or one of
# the CLI's API commands (`queues`, `enqueue`, …); anything else is exec'd as given.
# exec, so that node replaces this shell as PID 1 and receives SIGTERM directly.
set -e
case "$1" in
  # --max-semi-space-size: see scripts/lib/node-flags.ts
  api) exec node --max-semi-space-size=16 --heap-growing-percent=50 apps/api/src/main.ts ;;
  worker) exec node --max-semi-space-size=4 apps/worker/src/main.ts ;;
  migrate) exec node scripts/migrate.ts ;;
  apikey) shift; exec node scripts/apikey.ts "$@" ;;
  # The CLI's API commands (TASKFLEET_URL / TASKFLEET_API_KEY or --url / --key).
  enqueue|get|tasks|cancel|retry|queues|queue|workers|dlq|help|--help) exec node apps/cli/src/main.ts "$@" ;;
  *) exec "$@" ;;
esac
