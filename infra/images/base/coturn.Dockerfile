# syntax=docker/dockerfile:1
# coturn from Debian (4.6.1) on the local base: the TURN server of the one-machine stack. Same interface as the
# upstream coturn/coturn image: the entry point is turnserver, options (or `-c <file>`) as the command.
ARG DEBIAN_IMAGE=localhost/parley/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends coturn \
  && rm -rf /var/lib/apt/lists/* \
  && turnserver --version
# TURN over UDP and TCP; relays in --min-port..--max-port (the stack's command names them).
EXPOSE 3478/udp 3478/tcp
USER nobody
STOPSIGNAL SIGTERM
ENTRYPOINT ["turnserver"]
