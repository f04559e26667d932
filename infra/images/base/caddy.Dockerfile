# syntax=docker/dockerfile:1
# Caddy from Debian (2.6.2) on the local base: the stand-in for caddy:2.8-alpine (same config path and command).
ARG DEBIAN_IMAGE=localhost/parley/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends caddy \
  && rm -rf /var/lib/apt/lists/* \
  && caddy version
ENV XDG_CONFIG_HOME=/config \
    XDG_DATA_HOME=/data
EXPOSE 8080/tcp
USER nobody
STOPSIGNAL SIGTERM
CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]
