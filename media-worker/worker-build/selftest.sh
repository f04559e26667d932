#!/usr/bin/env bash
# Validates the cached mediasoup-worker with mediasoup's own Node test suite,
# which ships compiled in the npm package (node/lib/test/*.js). Why: our worker
# is built against different library versions than upstream's (Debian's libuv,
# OpenSSL, libsrtp2 + compat shim, flatbuffers 2.0.8, std containers), and
# upstream's suite is the best available proof that the result behaves.
#
# Usage: selftest.sh [results.json]   (jest --json output; default below)
# Env:   MEDIASOUP_WORKER_BIN overrides the binary under test.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pkg="$repo/node_modules/mediasoup"
log() { echo "[worker-selftest] $*"; }
die() { echo "[worker-selftest] ERROR: $*" >&2; exit 1; }

version="$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -n1)"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/parley/mediasoup-worker/$version"
out="$(realpath -m "${1:-$cache_dir/selftest-results.json}")"
bin="${MEDIASOUP_WORKER_BIN:-$cache_dir/mediasoup-worker}"
if [[ -z ${MEDIASOUP_WORKER_BIN:-} ]]; then
	bash "$here/build.sh" # no-op when cached
fi
[[ -x $bin ]] || die "no worker binary at $bin"
jest="$repo/node_modules/jest/bin/jest.js"
[[ -f $jest ]] || die "jest is not installed in $repo/node_modules (npm install)"

# jest refuses to run tests under a path containing node_modules, so run a
# copy of the package from a temp dir; its requires (flatbuffers, pick-port,
# werift-sctp, ...) resolve through a node_modules symlink to the repo's.
tmp="$(mktemp -d "${TMPDIR:-/tmp}/parley-worker-selftest.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/node"
cp "$pkg/package.json" "$tmp/" # test-mediasoup.js compares the version with it
cp -a "$pkg/node/lib" "$tmp/node/lib"
ln -s "$repo/node_modules" "$tmp/node_modules"

# test-Worker.js loads a DTLS certificate pair from test/data/, which the npm
# package does not ship.
mkdir -p "$tmp/node/lib/test/data"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	-subj /CN=parley-worker-selftest \
	-keyout "$tmp/node/lib/test/data/dtls-key.pem" -out "$tmp/node/lib/test/data/dtls-cert.pem" 2>/dev/null ||
	die "openssl could not generate the test certificate"

# Plain JS needs no transform (skips babel); private cache dir keeps runs
# independent of other users' /tmp/jest_* caches.
cat >"$tmp/jest.config.json" <<EOF
{
  "rootDir": "$tmp",
  "testEnvironment": "node",
  "testMatch": ["<rootDir>/node/lib/test/test-*.js"],
  "transform": {},
  "cacheDirectory": "$tmp/.jest-cache"
}
EOF

mkdir -p "$(dirname "$out")"
rm -f "$out"
log "mediasoup $version test suite against $bin"
rc=0
(cd "$tmp" && MEDIASOUP_WORKER_BIN="$bin" node "$jest" --config "$tmp/jest.config.json" --ci \
	--json --outputFile="$out") || rc=$?

[[ -s $out ]] || die "jest wrote no results (exit code $rc)"
# Last line: one JSON object for machines; exit non-zero on any failure,
# including suites that failed to load (they count no failed tests).
node -e '
	const r = require(process.argv[1]);
	const s = { numPassedTests: r.numPassedTests, numFailedTests: r.numFailedTests,
		numTotalTests: r.numTotalTests, numFailedTestSuites: r.numFailedTestSuites,
		success: r.success && r.numTotalTests > 0,
		seconds: Math.round((Date.now() - r.startTime) / 100) / 10, outputFile: process.argv[1] };
	console.log(JSON.stringify(s));
	process.exit(s.success ? 0 : 1);
' "$out" || exit 1
exit "$rc"
