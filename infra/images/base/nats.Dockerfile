# syntax=docker/dockerfile:1
# nats-server from Debian (2.9.10) on the local base: the stand-in for nats:2.10-alpine. Same interface: the
# entry point is nats-server, so `-c <config>` as the command works with either image.
ARG DEBIAN_IMAGE=localhost/parley/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nats-server \
  && rm -rf /var/lib/apt/lists/* \
  && nats-server --version
# Client, cluster, monitoring, WebSocket.
EXPOSE 4222/tcp 6222/tcp 8222/tcp 8080/tcp
USER nobody
STOPSIGNAL SIGTERM
ENTRYPOINT ["nats-server"]
CMD ["-c", "/etc/nats/nats.conf"]
