#!/bin/sh
# exec so that node is PID 1's only child-free process and receives SIGTERM directly.
set -e
case "$1" in
  api) exec node apps/api/src/main.ts ;;
  worker) exec node apps/worker/src/main.ts ;;
  migrate) exec node packages/core/src/migrations/cli.ts ;;
  *) exec "$@" ;;
esac
