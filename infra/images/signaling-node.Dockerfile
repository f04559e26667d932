# syntax=docker/dockerfile:1
# Signaling on Node (signaling/main.ts): stateless, every shared state lives in NATS.
#
#   docker build -f infra/images/signaling-node.Dockerfile -t parley/signaling-node .
#
# Needs NATS_URL (nats://...) and PARLEY_SECRET (>= 16 characters, the same on every instance). Runs one esbuild
# bundle (scripts/build.ts) on Node 22: no TypeScript, tsx or npm in the image.
#
# Base images: upstream by default; where no registry is reachable, scripts/stack/images.ts builds local ones from
# Debian packages and passes them as NODE_IMAGE / DEBIAN_IMAGE (docs/deploy.md, "Images").
ARG NODE_IMAGE=node:22-bookworm-slim
ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${NODE_IMAGE} AS node

# --- A machine's npm cache (its _cacache directory), when the build is given one as the named build context
# `npm-cache` (scripts/stack/images.ts does): `npm ci` then downloads nothing. It is copied, never written to.
FROM scratch AS npm-cache

# --- npm packages (production only; .npmrc sets ignore-scripts) and the bundle.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=bind,from=npm-cache,target=/tmp/npm-cache-in \
    mkdir -p /tmp/npm-cache/_cacache && cp -a /tmp/npm-cache-in/. /tmp/npm-cache/_cacache/ \
    && npm ci --omit=dev --prefer-offline --cache /tmp/npm-cache --no-audit --no-fund --loglevel=error \
    && rm -rf /tmp/npm-cache
COPY scripts/build.ts ./scripts/
COPY protocol ./protocol
COPY bus ./bus
COPY tracing ./tracing
COPY config ./config
COPY signaling ./signaling
RUN node --import tsx scripts/build.ts signaling-node

# --- runtime: Debian, tini and the node binary.
FROM ${DEBIAN_IMAGE} AS runtime
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 1000 node \
  && useradd --uid 1000 --gid node --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin node
COPY --from=node /usr/local/bin/node /usr/local/bin/node
WORKDIR /app
COPY --from=build /app/dist/signaling-node ./

ENV NODE_ENV=production \
    PORT=3000 \
    DRAIN_TIMEOUT_MS=30000
EXPOSE 3000/tcp

USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM: new and open WebSockets are closed with 1012 (clients reconnect and `resume` on another
# instance), then the process exits (at most DRAIN_TIMEOUT_MS).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--enable-source-maps", "main.js"]
