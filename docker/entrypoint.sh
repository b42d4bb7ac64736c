#!/bin/sh
# The image's entrypoint: `api`, `worker`, `migrate`, `apikey create|list|revoke ...`, or one of
# the CLI's API commands (`queues`, `enqueue`, …); anything else is exec'd as given.
# exec, so that node replaces this shell as PID 1 and receives SIGTERM directly.
set -e
# Node's compile cache: a process whose modules are cached never loads the TypeScript stripper
# (scripts/lib/node-flags.ts). Set NODE_COMPILE_CACHE yourself to move it, or to '' to turn it off.
export NODE_COMPILE_CACHE="${NODE_COMPILE_CACHE-/tmp/taskfleet-node-compile-cache}"
case "$1" in
  # --max-semi-space-size: see scripts/lib/node-flags.ts
  api) exec node --max-semi-space-size=16 --heap-growing-percent=50 apps/api/src/main.ts ;;
  worker) exec node --max-semi-space-size=4 apps/worker/src/main.ts ;;
  # Image build: both apps' modules into Node's compile cache (same flags as above), then exit.
  precompile)
    TASKFLEET_PRECOMPILE=1 node --max-semi-space-size=16 --heap-growing-percent=50 apps/api/src/main.ts
    TASKFLEET_PRECOMPILE=1 exec node --max-semi-space-size=4 apps/worker/src/main.ts ;;
  migrate) exec node scripts/migrate.ts ;;
  apikey) shift; exec node scripts/apikey.ts "$@" ;;
  # The CLI's API commands (TASKFLEET_URL / TASKFLEET_API_KEY or --url / --key).
  enqueue|get|tasks|cancel|retry|queues|queue|workers|dlq|help|--help) exec node --conditions=taskfleet-source apps/cli/src/main.ts "$@" ;;
  *) exec "$@" ;;
esac
