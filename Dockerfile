# One image for every role: `api`, `worker` or `migrate` as the command.
FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/core/package.json packages/core/
COPY apps/api/package.json apps/api/
COPY apps/worker/package.json apps/worker/
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY packages ./packages
COPY apps ./apps
COPY migrations ./migrations
COPY docker/entrypoint.sh /usr/local/bin/taskfleet
USER node
EXPOSE 8080 9464
ENTRYPOINT ["taskfleet"]
CMD ["api"]
