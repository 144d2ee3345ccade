# syntax=docker/dockerfile:1
# traefik-canary-provider: build with the dev dependencies, run with production ones only, as the
# unprivileged `node` user.
#   docker build -t traefik-canary-provider .
#   docker run --rm -p 127.0.0.1:9500:9500 -e REDIS_URL=redis://redis:6379 \
#     -v "$PWD/splits.yaml:/app/splits.yaml:ro" traefik-canary-provider

# Node 22 (LTS). Pin the digest for reproducible builds, e.g.
#   docker build --build-arg NODE_IMAGE=node:22-bookworm-slim@sha256:<digest> .
# (docker buildx imagetools inspect node:22-bookworm-slim prints it); the Compose file passes
# NODE_IMAGE from compose/.env.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

FROM ${NODE_IMAGE} AS runtime
# Memory (docs/performance.md): a fixed malloc mmap threshold returns each multi-megabyte body
# buffer to the system when it is freed, and a heap cap keeps V8 from growing far past the live
# data (about 50 MB at 10,000 splits). Raise the cap with NODE_OPTIONS for more splits.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=9500 \
    SPLITS_FILE=/app/splits.yaml \
    DATA_DIR=/app/data \
    MALLOC_MMAP_THRESHOLD_=131072 \
    NODE_OPTIONS=--max-old-space-size=160
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
# The operator page (GET /), read from here at start.
COPY ui ./ui
# canaryctl on the PATH: docker compose exec provider canaryctl status council
RUN ln -s /app/dist/src/cli/canaryctl.js /usr/local/bin/canaryctl && chmod 755 dist/src/cli/canaryctl.js
# The last-good snapshot (SNAPSHOT_FILE): writable by the service; mount a volume to keep it.
RUN mkdir -p /app/data && chown node:node /app/data
USER node
EXPOSE 9500
# Node's own fetch: the slim image has no curl. /health answers while the process is up; /ready
# (splits loaded, Redis answered recently) is for load balancers, not for restarts.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 9500) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/src/main.js"]
