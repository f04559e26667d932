#!/usr/bin/env bash
# Installs what `npm start` needs (with --stack, what `npm run stack` needs; with --test, what `npm test` needs):
# npm packages, Debian packages, the mediasoup-worker build (cached outside the checkout) and the web bundle.
# Idempotent: when nothing is missing it only checks, in about a second.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "[setup] $*"; }
fail() { echo "[setup] ERROR: $*" >&2; exit 1; }

for_tests=0 for_stack=0
[[ "${1:-}" == "--test" ]] && for_tests=1 for_stack=1
[[ "${1:-}" == "--stack" ]] && for_stack=1

# Node 20.19+ (Vite 8) is the floor on this machine; mediasoup 3.27 is pinned because newer releases ask for
# Node 22. The container images run Node 22 whatever the host has.
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)' \
  || fail "Node.js >= 20.19 is required (found $(node --version))"

# npm packages, reinstalled only when package-lock.json changed since the last install.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ "$(cat node_modules/.parley-lock 2>/dev/null)" != "$lock_hash" ]]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.parley-lock
fi

# Debian packages: the worker build's, only while no worker is cached; the test suite's with --test.
packages=()
# Same cache path as media-worker/sfu/worker-bin.ts and worker-build/build.sh.
ms_version=$(node -p "require('./node_modules/mediasoup/package.json').version")
cached_worker="${XDG_CACHE_HOME:-$HOME/.cache}/parley/mediasoup-worker/$ms_version/mediasoup-worker"
if [[ ! -x "${MEDIASOUP_WORKER_BIN:-$cached_worker}" ]]; then
  packages+=(g++ make python3 pkg-config ninja-build meson libuv1-dev libsrtp2-dev libflatbuffers-dev
    flatbuffers-compiler libabsl-dev libssl-dev patch)
fi
if (( for_tests )); then
  # fonts-nanum: Korean glyphs, so the Korean UI's screenshots show text rather than boxes.
  packages+=(chromium firefox-esr nats-server coturn openssl iproute2 fonts-nanum)
fi
# Containers (npm run stack, test/containers): podman with runc (crun refuses this kernel's hybrid cgroups; the
# project's infra/podman/containers.conf selects runc), catatonit for pods (kube play), mmdebstrap for the local
# Debian base image, podman-compose for infra/compose (test/containers/compose-turn.test.ts).
if (( for_stack )); then
  packages+=(podman runc catatonit mmdebstrap podman-compose)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if (( ${#missing[@]} )); then
  if [[ $(id -u) -eq 0 ]]; then apt=(apt-get); elif sudo -n true 2>/dev/null; then apt=(sudo apt-get);
  else fail "missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}"; fi
  say "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" update -qq \
    || fail "apt-get update failed; check the network, then run: apt-get install -y ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
    || fail "apt-get install failed for: ${missing[*]}"
fi

# The mediasoup worker: built once per machine and mediasoup version, then reused (prints where it is).
bash media-worker/worker-build/build.sh

# The web bundle, rebuilt when its sources (or the shared contracts) are newer than the last build.
if [[ ! -f web/dist/index.html ]] || [[ -n "$(find web/src web/index.html web/vite.config.ts protocol client tracing package-lock.json -newer web/dist/index.html -print -quit)" ]]; then
  say "building the web app"
  npx vite build web --logLevel error
fi
