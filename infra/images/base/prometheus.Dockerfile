# syntax=docker/dockerfile:1
# Prometheus from Debian (2.42, with promtool) on the local base: the stand-in for prom/prometheus. Same
# entry point and paths: /etc/prometheus/prometheus.yml, data in /prometheus.
ARG DEBIAN_IMAGE=localhost/parley/debian:bookworm
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
  && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus \
  && rm -rf /var/lib/apt/lists/* \
  && install -d -o nobody -g nogroup /prometheus \
  && prometheus --version && promtool --version
EXPOSE 9090/tcp
USER nobody
WORKDIR /prometheus
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/prometheus"]
CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]
