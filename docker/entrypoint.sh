#!/bin/sh
# exec so that node is PID 1's only child-free process and receives SIGTERM directly.
set -e
case "$1" in
  # --max-semi-space-size: see scripts/lib/node-flags.ts
  api) exec node --max-semi-space-size=4 apps/api/src/main.ts ;;
  worker) exec node --max-semi-space-size=4 apps/worker/src/main.ts ;;
  migrate) exec node packages/core/src/migrations/cli.ts ;;
  *) exec "$@" ;;
esac
