# syntax=docker/dockerfile:1
# The web app (web/): static files from `vite build web`, served by unprivileged nginx on port 8080.
#
#   docker build -f infra/images/web.Dockerfile -t parley/web .
#
# The app talks to signaling on the same origin (/ws, /api, /debug/api): put both behind one address (see
# infra/compose/Caddyfile or the Ingress in infra/k8s/manifests/ingress.yaml).
#
# Base images: upstream by default; scripts/stack/images.ts passes local ones (docs/deploy.md, "Images").
ARG NODE_IMAGE=node:22-bookworm-slim
ARG NGINX_IMAGE=nginxinc/nginx-unprivileged:1.27-alpine

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
COPY tsconfig.json ./
COPY protocol ./protocol
COPY tracing ./tracing
COPY client ./client
COPY web ./web
RUN npx vite build web --logLevel warn

FROM ${NGINX_IMAGE} AS runtime
COPY infra/images/web/nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=build /app/web/dist /usr/share/nginx/html
EXPOSE 8080/tcp
# Both nginx bases run as the unprivileged `nginx` user (uid 101); say so explicitly.
USER 101
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
# nginx finishes in-flight requests on SIGQUIT (graceful); SIGTERM is a fast stop.
STOPSIGNAL SIGQUIT
