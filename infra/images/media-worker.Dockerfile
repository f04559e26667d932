# syntax=docker/dockerfile:1
# The media-worker: mediasoup Workers + NATS command handlers (media-worker/main.ts).
#
#   docker build -f infra/images/media-worker.Dockerfile -t parley/media-worker .
#
# The mediasoup C++ worker is built with the project's own offline recipe
# (media-worker/worker-build/build.sh: the sources inside the mediasoup npm package + Debian 12's -dev
# packages, no downloads), exactly as `npm start` does on a developer machine, then copied into a small
# runtime image that carries only the shared libraries the binary links.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- npm packages (production only). .npmrc sets ignore-scripts=true, so mediasoup's postinstall never
# tries to download a prebuilt worker.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# --- mediasoup-worker: the same offline build as scripts/setup.sh + media-worker/worker-build/build.sh.
FROM ${NODE_IMAGE} AS worker-build
# The build script's tools and -dev packages (see media-worker/worker-build/README.md).
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
     gcc g++ make python3 pkg-config ninja-build meson patch util-linux \
     libuv1-dev libsrtp2-dev libssl-dev libflatbuffers-dev flatbuffers-compiler libabsl-dev \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY media-worker/worker-build ./media-worker/worker-build
# build.sh caches under $XDG_CACHE_HOME/parley/mediasoup-worker/<version>/; copy the binary out of it.
ENV XDG_CACHE_HOME=/cache
RUN bash media-worker/worker-build/build.sh \
  && install -D -m 755 /cache/parley/mediasoup-worker/*/mediasoup-worker /out/mediasoup-worker \
  && ! ldd /out/mediasoup-worker | grep 'not found'

# --- node_modules for the runtime: the worker's C++ sources are only needed by the build stage.
FROM deps AS runtime-deps
RUN rm -rf node_modules/mediasoup/worker

# --- runtime
FROM ${NODE_IMAGE} AS runtime
# Exactly the shared libraries `ldd mediasoup-worker` resolves outside libc/libstdc++/libgcc (which the
# base image has): libuv1, libssl3 (libssl+libcrypto), libsrtp2-1, libnss3 (+libnspr4, its dependency;
# Debian's libsrtp2 does AES-GCM through NSS) and libabsl20220623. flatbuffers is header-only for the
# worker (no libflatbuffers2 in ldd). tini reaps and forwards signals as PID 1.
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
     libuv1 libssl3 libsrtp2-1 libnss3 libabsl20220623 tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=worker-build /out/mediasoup-worker /usr/local/lib/parley/mediasoup-worker
COPY --from=runtime-deps /app/node_modules ./node_modules
COPY package.json ./
COPY protocol ./protocol
COPY bus ./bus
COPY tracing ./tracing
COPY media-worker ./media-worker
# Fail the build, not the first Worker spawn, if a runtime library is missing.
RUN ! ldd /usr/local/lib/parley/mediasoup-worker | grep 'not found'

ENV NODE_ENV=production \
    MEDIASOUP_WORKER_BIN=/usr/local/lib/parley/mediasoup-worker \
    MEDIA_LISTEN_IP=0.0.0.0 \
    MEDIA_PORT_BASE=40000 \
    MEDIA_RTC_MIN_PORT=40100 \
    MEDIA_RTC_MAX_PORT=40199 \
    MEDIA_METRICS_PORT=9464 \
    DRAIN_TIMEOUT_MS=30000
# MEDIA_ANNOUNCED_ADDRESS (the IP browsers and other media hosts reach this one on), MEDIA_WORKERS and
# NATS_URL come from the environment at run time. Worker i listens on MEDIA_PORT_BASE+i (UDP and TCP);
# pipe transports to other media-workers use MEDIA_RTC_MIN_PORT..MEDIA_RTC_MAX_PORT (UDP).
EXPOSE 40000-40063/udp 40000-40063/tcp 40100-40199/udp 9464/tcp

USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.MEDIA_METRICS_PORT + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM drains: the registry marks this instance draining (no new rooms), the process exits when its rooms
# are empty or after DRAIN_TIMEOUT_MS. Give it that long: docker stop -t / stop_grace_period /
# terminationGracePeriodSeconds >= DRAIN_TIMEOUT_MS.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "--import", "tsx", "media-worker/main.ts"]
