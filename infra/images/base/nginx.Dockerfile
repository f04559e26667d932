# syntax=docker/dockerfile:1
# nginx from Debian (1.22) on the local base, laid out like nginxinc/nginx-unprivileged (the web image's
# runtime base): runs as uid 101, listens on unprivileged ports, serves /usr/share/nginx/html, includes
# /etc/nginx/conf.d/*.conf, keeps its pid and temp files in /tmp. wget is there for the web image's HEALTHCHECK
# (busybox wget in the alpine image).
ARG DEBIAN_IMAGE=localhost/parley/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx wget \
  && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled /etc/nginx/conf.d/* \
  && groupadd --system --gid 101 nginx \
  && useradd --system --uid 101 --gid nginx --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin nginx \
  && mkdir -p /usr/share/nginx/html \
  && ln -sf /dev/stdout /var/log/nginx/access.log \
  && ln -sf /dev/stderr /var/log/nginx/error.log
COPY nginx.conf /etc/nginx/nginx.conf
# Check the configuration; the check's pid and temp files must not stay behind, owned by root.
RUN nginx -t -q && rm -rf /tmp/*
EXPOSE 8080/tcp
USER 101
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
