# syntax=docker/dockerfile:1
# Signaling on Node (signaling/main.ts): stateless, every shared state lives in NATS.
#
#   docker build -f infra/images/signaling-node.Dockerfile -t parley/signaling-node .
#
# Needs NATS_URL (nats://...) and PARLEY_SECRET (>= 16 characters, the same on every instance).

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
  && rm -rf node_modules/mediasoup/worker

FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY protocol ./protocol
COPY bus ./bus
COPY tracing ./tracing
COPY signaling ./signaling

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
CMD ["node", "--import", "tsx", "signaling/main.ts"]
