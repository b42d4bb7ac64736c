# One image for every role — the command picks it: `api`, `worker` or `migrate`.
#   docker build -t taskfleet .
#   docker run taskfleet migrate && docker run -p 8080:8080 taskfleet api
# TypeScript runs as is (Node 24 strips types): there is no build step, only production dependencies.

# Stage 1: production dependencies only, from the lock file.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
COPY apps/cli/package.json apps/cli/
COPY packages/client/package.json packages/client/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

# Stage 2: the runtime — Node 24, the dependencies and the sources (tests excluded by .dockerignore).
FROM node:24-slim
LABEL org.opencontainers.image.title="taskfleet" \
      org.opencontainers.image.description="Job-queue worker fleet on PostgreSQL (pg-boss) with an HTTP ingest API" \
      org.opencontainers.image.licenses="MIT"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY packages/core/package.json packages/core/
COPY packages/core/src packages/core/src
COPY apps/api/package.json apps/api/
COPY apps/api/src apps/api/src
COPY apps/worker/package.json apps/worker/
COPY apps/worker/src apps/worker/src
COPY packages/client/package.json packages/client/
COPY packages/client/src packages/client/src
COPY apps/cli/package.json apps/cli/
COPY apps/cli/src apps/cli/src
COPY migrations ./migrations
COPY scripts/apikey.ts scripts/migrate.ts scripts/
COPY scripts/lib scripts/lib
COPY docker/entrypoint.sh /usr/local/bin/taskfleet
COPY docker/healthcheck.mjs /usr/local/lib/taskfleet-healthcheck.mjs
# The image's `node` user (uid 1000), as the Kubernetes manifests' runAsUser expects.
USER node
# Node's compile cache (the entrypoint's NODE_COMPILE_CACHE, /tmp/taskfleet-node-compile-cache),
# filled at build as the user that runs: Node keeps one directory per uid. Every process then starts
# without Node's TypeScript stripper (~19 MB less RSS; scripts/lib/node-flags.ts), also on a
# read-only root filesystem (the cache is only read then).
RUN taskfleet precompile
# API_PORT / WORKER_PORT defaults.
EXPOSE 8080 9464
# /readyz of whichever role this container runs (API_PORT or WORKER_PORT).
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 CMD ["node", "/usr/local/lib/taskfleet-healthcheck.mjs"]
# The entrypoint execs node, so node is PID 1 and gets SIGTERM itself: the API drains its requests,
# the worker its running jobs (give it WORKER_SHUTDOWN_GRACE_SECONDS plus a margin to stop).
ENTRYPOINT ["taskfleet"]
CMD ["api"]
