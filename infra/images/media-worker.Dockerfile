# syntax=docker/dockerfile:1
# The media-worker: mediasoup Workers + NATS command handlers (media-worker/main.ts).
#
#   docker build -f infra/images/media-worker.Dockerfile -t parley/media-worker .
#
# The mediasoup C++ worker is built with the project's own offline recipe (media-worker/worker-build/build.sh:
# the sources inside the mediasoup npm package + Debian 12's -dev packages, no downloads), exactly as `npm start`
# does on a developer machine. A worker already built on a Debian 12 machine can be handed in instead, as the
# named build context `mediasoup-worker-prebuilt` (a directory holding `mediasoup-worker`):
#
#   docker build --build-context mediasoup-worker-prebuilt=$HOME/.cache/parley/mediasoup-worker/<version> ...
#
# scripts/stack/images.ts does that with the host's cached build. The runtime image carries the worker, the
# shared libraries it links, the node binary and one esbuild bundle (scripts/build.ts) with mediasoup's own
# JavaScript next to it: no compiler, TypeScript, tsx or npm.
#
# Base images: upstream by default; scripts/stack/images.ts passes local ones (docs/deploy.md, "Images").
ARG NODE_IMAGE=node:22-bookworm-slim
ARG DEBIAN_IMAGE=debian:bookworm-slim

FROM ${NODE_IMAGE} AS node

# --- A machine's npm cache (its _cacache directory), when the build is given one as the named build context
# `npm-cache` (scripts/stack/images.ts does): `npm ci` then downloads nothing. It is copied, never written to.
FROM scratch AS npm-cache

# --- npm packages (production only; .npmrc sets ignore-scripts, so mediasoup's postinstall never tries to
# download a prebuilt worker) and the bundle.
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
COPY media-worker ./media-worker
RUN node --import tsx scripts/build.ts media-worker

# --- A prebuilt worker, when the build is given one (empty otherwise).
FROM scratch AS mediasoup-worker-prebuilt

# --- mediasoup-worker: the prebuilt one, else the same offline build as scripts/setup.sh runs.
FROM ${NODE_IMAGE} AS worker
WORKDIR /src
COPY --from=mediasoup-worker-prebuilt . /prebuilt/
COPY --from=build /app/node_modules/mediasoup ./node_modules/mediasoup
COPY media-worker/worker-build ./media-worker/worker-build
# build.sh caches under $XDG_CACHE_HOME/parley/mediasoup-worker/<version>/; the binary is copied out of it. The
# tools and -dev packages are build.sh's list (media-worker/worker-build/README.md).
ENV XDG_CACHE_HOME=/cache
RUN if [ -x /prebuilt/mediasoup-worker ]; then \
      echo "using the prebuilt mediasoup-worker" && install -D -m 755 /prebuilt/mediasoup-worker /out/mediasoup-worker; \
    else \
      apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
         gcc g++ make python3 pkg-config ninja-build meson patch util-linux \
         libuv1-dev libsrtp2-dev libssl-dev libflatbuffers-dev flatbuffers-compiler libabsl-dev \
      && bash media-worker/worker-build/build.sh \
      && install -D -m 755 /cache/parley/mediasoup-worker/*/mediasoup-worker /out/mediasoup-worker; \
    fi

# --- runtime
FROM ${DEBIAN_IMAGE} AS runtime
# Exactly the shared libraries `ldd mediasoup-worker` resolves outside libc/libstdc++/libgcc (which the
# base image has): libuv1, libssl3 (libssl+libcrypto), libsrtp2-1, libnss3 (+libnspr4, its dependency;
# Debian's libsrtp2 does AES-GCM through NSS) and libabsl20220623. flatbuffers is header-only for the
# worker (no libflatbuffers2 in ldd). tini reaps and forwards signals as PID 1.
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
     libuv1 libssl3 libsrtp2-1 libnss3 libabsl20220623 tini \
  && rm -rf /var/lib/apt/lists/* \
  && groupadd --gid 1000 node \
  && useradd --uid 1000 --gid node --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin node
COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=worker /out/mediasoup-worker /usr/local/lib/parley/mediasoup-worker
# Fail the build, not the first Worker spawn, if a runtime library is missing.
RUN ! ldd /usr/local/lib/parley/mediasoup-worker | grep 'not found'
WORKDIR /app
COPY --from=build /app/dist/media-worker ./

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
CMD ["node", "--enable-source-maps", "main.js"]
