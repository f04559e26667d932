# syntax=docker/dockerfile:1
# Signaling on Deno (signaling/deno.ts): the same Hono app as the Node image, served by Deno.serve.
#
#   docker build -f infra/images/signaling-deno.Dockerfile -t parley/signaling-deno .
#
# NATS_URL must point at NATS's WebSocket listener (ws:// or wss://); PARLEY_SECRET as for Node. Deno runs the
# TypeScript sources natively. deno.json uses nodeModulesDir "manual": Deno resolves npm packages from
# ./node_modules, which holds only the packages signaling/deno.ts reaches (scripts/build.ts signaling-deno),
# installed from package-lock.json (the same versions deno.lock pins).
#
# Base images: upstream by default; scripts/stack/images.ts passes local ones (docs/deploy.md, "Images").
ARG NODE_IMAGE=node:22-bookworm-slim
ARG DEBIAN_IMAGE=debian:bookworm-slim
# Keep in step with the `deno` devDependency in package.json.
ARG DENO_IMAGE=denoland/deno:bin-2.9.6

FROM ${DENO_IMAGE} AS deno

# --- A machine's npm cache (its _cacache directory), when the build is given one as the named build context
# `npm-cache` (scripts/stack/images.ts does): `npm ci` then downloads nothing. It is copied, never written to.
FROM scratch AS npm-cache

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
RUN node --import tsx scripts/build.ts signaling-deno

FROM ${DEBIAN_IMAGE} AS runtime
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 1993 deno \
  && useradd --uid 1993 --gid deno --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin deno \
  && install -d -o deno -g deno /deno-dir
COPY --from=deno /deno /usr/local/bin/deno
WORKDIR /app
COPY --from=build /app/dist/signaling-deno/node_modules ./node_modules
COPY package.json deno.json deno.lock ./
COPY protocol ./protocol
COPY bus ./bus
COPY tracing ./tracing
COPY config ./config
COPY signaling ./signaling

ENV DENO_DIR=/deno-dir \
    DENO_NO_UPDATE_CHECK=1 \
    PORT=3000 \
    DRAIN_TIMEOUT_MS=30000
USER deno
# Transpile once at build time: a start compiles nothing, and a module that does not resolve (or a deno.lock out of
# step with package.json) fails the build.
RUN deno cache --frozen signaling/deno.ts
EXPOSE 3000/tcp

HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT') ?? '3000'}/healthz`).catch(() => null); Deno.exit(r?.ok ? 0 : 1)"]
# SIGTERM: Deno.addSignalListener drains like the Node adapter (1012 to clients, then exit).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--", "deno"]
CMD ["run", "--allow-net", "--allow-env", "--allow-read", "--allow-sys", "signaling/deno.ts"]
