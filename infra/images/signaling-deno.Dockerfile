# syntax=docker/dockerfile:1
# Signaling on Deno (signaling/deno.ts): the same Hono app as the Node image, served by Deno.serve.
#
#   docker build -f infra/images/signaling-deno.Dockerfile -t parley/signaling-deno .
#
# NATS_URL must point at NATS's WebSocket listener (ws:// or wss://); PARLEY_SECRET as for Node.
# deno.json uses nodeModulesDir "manual": Deno resolves npm packages from ./node_modules, which a Node
# stage installs from package-lock.json (the same versions deno.lock pins).

ARG NODE_IMAGE=node:20-bookworm-slim
# Keep in step with the `deno` devDependency in package.json.
ARG DENO_VERSION=2.9.6

FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error \
  && rm -rf node_modules/mediasoup/worker

FROM denoland/deno:debian-${DENO_VERSION} AS runtime
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json deno.json deno.lock ./
COPY protocol ./protocol
COPY bus ./bus
COPY tracing ./tracing
COPY signaling ./signaling

ENV PORT=3000 \
    DRAIN_TIMEOUT_MS=30000
EXPOSE 3000/tcp

# The image's unprivileged user; DENO_DIR (/deno-dir) is writable by it.
USER deno
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT') ?? '3000'}/healthz`).catch(() => null); Deno.exit(r?.ok ? 0 : 1)"]
# SIGTERM: Deno.addSignalListener drains like the Node adapter (1012 to clients, then exit).
STOPSIGNAL SIGTERM
ENTRYPOINT ["deno"]
CMD ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", "signaling/deno.ts"]
