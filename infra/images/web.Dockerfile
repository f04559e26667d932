# syntax=docker/dockerfile:1
# The web app (web/): static files from `vite build web`, served by unprivileged nginx on port 8080.
#
#   docker build -f infra/images/web.Dockerfile -t parley/web .
#
# The app talks to signaling on the same origin (/ws, /api): put both behind one address (see
# infra/compose/Caddyfile or the Ingress in infra/k8s/manifests/ingress.yaml).

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error
COPY tsconfig.json ./
COPY protocol ./protocol
COPY tracing ./tracing
COPY web ./web
RUN npx vite build web --logLevel warn

FROM nginxinc/nginx-unprivileged:1.27-alpine AS runtime
COPY infra/images/web/nginx.conf /etc/nginx/conf.d/default.conf
COPY --from=build /app/web/dist /usr/share/nginx/html
EXPOSE 8080/tcp
# The base image already runs as the unprivileged `nginx` user (uid 101); say so explicitly.
USER 101
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/healthz"]
# nginx finishes in-flight requests on SIGQUIT (graceful); SIGTERM is a fast stop.
STOPSIGNAL SIGQUIT
