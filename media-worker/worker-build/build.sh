#!/usr/bin/env bash
# Builds mediasoup-worker offline against Debian's libraries and caches it per
# mediasoup version. Why: `npm install` runs with ignore-scripts (so mediasoup's
# postinstall never builds the worker), and its normal build downloads
# libuv/openssl/libsrtp/... from the internet, which we don't have.
# See README.md next to this file.
set -euo pipefail

start=$SECONDS
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
pkg="$repo/node_modules/mediasoup"

log() { echo "[worker-build] $*"; }
die() { echo "[worker-build] ERROR: $*" >&2; exit 1; }

[[ -f $pkg/package.json && -d $pkg/worker ]] || die "mediasoup is not installed at $pkg (run npm install)"
# Plain sed (not node) keeps the cached path well under a second.
version="$(sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pkg/package.json" | head -n1)"
[[ -n $version ]] || die "cannot read the version from $pkg/package.json"

cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/parley/mediasoup-worker/$version"
bin="$cache_dir/mediasoup-worker"
rebuild="${PARLEY_WORKER_REBUILD:-0}"

if [[ $rebuild != 1 && -f $bin && -x $bin ]]; then
	echo "mediasoup-worker $version: cached at $bin"
	exit 0
fi

# --- Tool check: report every missing Debian package at once, install none.
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2"); }
need_cmd meson meson
need_cmd ninja ninja-build
need_cmd pkg-config pkg-config
need_cmd gcc gcc
need_cmd g++ g++
need_cmd flatc flatbuffers-compiler
need_cmd patch patch
need_cmd flock util-linux
if command -v g++ >/dev/null 2>&1 &&
	! printf '#include <span>\n#include <concepts>\nint main() { std::span<int> s; return static_cast<int>(s.size()); }\n' |
		g++ -std=c++20 -fsyntax-only -x c++ - >/dev/null 2>&1; then
	missing+=(g++) # present but without usable C++20 (Debian 12's g++ 12 is fine)
fi
# <pkg-config module> <header> <Debian package>: the .pc file and a header
# must both be usable by the compiler.
while read -r pc header deb; do
	if ! { command -v pkg-config >/dev/null 2>&1 && pkg-config --exists "$pc"; } ||
		! { command -v g++ >/dev/null 2>&1 && echo "#include <$header>" | g++ -std=c++20 -E -x c++ - >/dev/null 2>&1; }; then
		missing+=("$deb")
	fi
done <<'EOF'
libuv uv.h libuv1-dev
libsrtp2 srtp2/srtp.h libsrtp2-dev
openssl openssl/ssl.h libssl-dev
flatbuffers flatbuffers/flatbuffers.h libflatbuffers-dev
absl_strings absl/types/optional.h libabsl-dev
EOF
if ((${#missing[@]})); then
	mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
	echo "[worker-build] missing build dependencies for mediasoup-worker $version; install them with:" >&2
	echo "apt-get install -y ${missing[*]}" # stdout, so a caller can capture it
	exit 1
fi
meson_version="$(meson --version)"
[[ $(printf '%s\n' 1.0.0 "$meson_version" | sort -V | head -n1) == 1.0.0 ]] ||
	die "meson $meson_version is too old (need >= 1.0.0, Debian 12 has 1.0.1)"

# --- One builder per version; a concurrent run waits and then reuses its result.
mkdir -p "$cache_dir"
exec 9>"$cache_dir/.lock"
if ! flock -n 9; then
	log "another build of $version is running; waiting for it"
	flock 9
	if [[ -f $bin && -x $bin ]]; then
		echo "mediasoup-worker $version: cached at $bin"
		exit 0
	fi
fi
if [[ $rebuild != 1 && -f $bin && -x $bin ]]; then
	echo "mediasoup-worker $version: cached at $bin"
	exit 0
fi

# --- The build tree lives in the cache dir (never in node_modules or the checkout) and survives an interrupted
# build (Ctrl-C, a closed terminal, a reboot): the next run resumes it, and ninja redoes only what is missing (a
# step that did not finish is not in its log, so it runs again). The tree is reused only if it was configured
# from the same inputs; otherwise the build starts over.
work="$cache_dir/build"
src="$work/worker"
build_log="$cache_dir/build.log"
stamp="$work/.configured"
inputs_key="$(
	{
		echo "$version $meson_version"
		find "$here/patches" "$here/subprojects" "$here/compat" -type f -print0 | sort -z | xargs -0 sha256sum | cut -c1-64
	} | sha256sum | cut -d' ' -f1
)"
# Leftovers of a killed install, and the random build dirs of earlier versions of this script.
rm -rf "$cache_dir"/build.* "$cache_dir"/.mediasoup-worker.*

# replace FILE OLD NEW: a literal sed that fails when OLD is not there.
replace() {
	local file="$src/$1" text
	text="$(<"$file")"
	[[ $text == *"$2"* ]] || die "edit of $1 failed: '$2' not found (mediasoup $version changed it?)"
	printf '%s\n' "${text//"$2"/"$3"}" >"$file"
}

# Copies the sources, hands them Debian's libraries, patches them and runs meson setup.
configure() {
	cp -a "$pkg/worker" "$src"

	# Stub subprojects: hand the worker Debian's libraries. Meson uses a directory named like a wrap's
	# `directory =` as that subproject, so nothing gets downloaded. Stubs are keyed by wrap name, so a version
	# bump of a wrap keeps working; a brand-new wrap fails here instead of at meson setup.
	local wrap name dir p
	for wrap in "$src"/subprojects/*.wrap; do
		name="$(basename "$wrap" .wrap)"
		dir="$(sed -n 's/^directory[[:space:]]*=[[:space:]]*//p' "$wrap" | tr -d '[:space:]')"
		[[ -n $dir ]] || die "no 'directory =' in $wrap"
		case "$name" in
		catch2 | wingetopt) continue ;; # only for the C++ tests / Windows
		esac
		[[ -f $here/subprojects/$name/meson.build ]] || die "no stub for new subproject '$name' ($wrap); add $here/subprojects/$name/"
		rm -rf "${src:?}/subprojects/$dir"
		cp -a "$here/subprojects/$name" "$src/subprojects/$dir"
		case "$name" in
		libsrtp3) install -D -m 644 "$here/compat/srtp.h" "$src/subprojects/$dir/include/srtp.h" ;;
		unordered-dense) install -D -m 644 "$here/compat/ankerl/unordered_dense.h" "$src/subprojects/$dir/include/ankerl/unordered_dense.h" ;;
		esac
		log "subproject $name -> Debian packages (stub in subprojects/$dir)"
	done

	# Patches: --fuzz=0 so a changed upstream fails loudly instead of drifting.
	for p in "$here"/patches/*.patch; do
		log "applying $(basename "$p")"
		patch -d "$src" -p1 --forward --fuzz=0 --batch --no-backup-if-mismatch -s <"$p" >>"$build_log" 2>&1 ||
			die "patch $(basename "$p") does not apply to mediasoup $version; see $build_log"
	done

	# Debian 12 ships meson 1.0.1; the worker builds identically with it.
	log "edit: meson_version >= 1.1.0 -> >= 1.0.0 (Debian 12 has meson 1.0.1)"
	replace meson.build "meson_version: '>= 1.1.0'" "meson_version: '>= 1.0.0'"

	# Configure to build only the worker executable.
	log "meson setup (meson $meson_version)"
	(cd "$src" && meson setup --wrap-mode=nodownload --buildtype=release -Db_ndebug=true "$work/build") >>"$build_log" 2>&1 || {
		tail -n 30 "$build_log" >&2
		die "meson setup failed; full log: $build_log"
	}
}

if [[ $rebuild != 1 && -f $stamp && "$(<"$stamp")" == "$inputs_key" ]]; then
	log "resuming the interrupted build in $work (log: $build_log)"
	echo "--- resumed $(date -u +%FT%TZ)" >>"$build_log"
else
	rm -rf "$work"
	mkdir -p "$work"
	: >"$build_log"
	log "building mediasoup-worker $version in $work (log: $build_log)"
	log "a first build takes about 15 minutes on 2 busy cores; if it is interrupted, the next run resumes it"
	configure
	echo "$inputs_key" >"$stamp"
fi

# Upstream race: deps/libwebrtc includes Logger.hpp -> FBS/*.h but has no
# dependency on their generator, so a clean parallel build can compile it
# against missing/half-written headers. Generate them first.
log "generating FBS headers with $(command -v flatc) ($(flatc --version))"
meson compile -C "$work/build" flatbuffers-generator >>"$build_log" 2>&1 || {
	tail -n 30 "$build_log" >&2
	die "FBS header generation failed; full log: $build_log"
}

# progress: ninja's "[step/total]" lines become one line every 10 steps (and at least every 30 s) with an
# estimate from this run's pace; the full output goes to the log. After a resume ninja counts only what is left.
progress() {
	local started=$SECONDS first="" shown=-1 shown_at=$SECONDS line step total elapsed
	while IFS= read -r line; do
		echo "$line" >>"$build_log"
		[[ $line =~ ^\[([0-9]+)/([0-9]+)\] ]] || continue
		step=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
		[[ -n $first ]] || first=$step
		((shown < 0 || step == total || step - shown >= 10 || SECONDS - shown_at >= 30)) || continue
		elapsed=$((SECONDS - started))
		if ((step > first && elapsed > 0)); then
			log "step $step/$total ($((100 * step / total))%), $(duration "$elapsed") so far, about $(duration $((elapsed * (total - step) / (step - first)))) left"
		else
			log "step $step/$total ($((100 * step / total))%)"
		fi
		shown=$step shown_at=$SECONDS
	done
}
duration() { if (($1 >= 60)); then echo "$(($1 / 60))m $(($1 % 60))s"; else echo "$1s"; fi; }

log "ninja mediasoup-worker ($(nproc) cores)"
# Ctrl-C reaches ninja too, which stops and exits normally: say what happened instead of reporting a failure.
trap 'log "interrupted: the next run resumes this build"; exit 130' INT TERM
if ! ninja -C "$work/build" mediasoup-worker 2>&1 | progress; then
	grep -n -m 20 -A 5 'error' "$build_log" >&2 || tail -n 40 "$build_log" >&2
	die "ninja failed; full log: $build_log (the next run resumes from here)"
fi

# A missing shared library should fail here, not at the first Worker spawn.
if ldd "$work/build/mediasoup-worker" | grep -q 'not found'; then
	ldd "$work/build/mediasoup-worker" >&2
	die "built binary has unresolved shared libraries"
fi

# Atomic install: readers see either no binary or a complete one.
tmp_bin="$(mktemp "$cache_dir/.mediasoup-worker.XXXXXX")"
cp "$work/build/mediasoup-worker" "$tmp_bin"
chmod 755 "$tmp_bin"
mv -f "$tmp_bin" "$bin"
# PARLEY_WORKER_KEEP_BUILD=1 keeps the build tree for debugging (the next build replaces it).
[[ ${PARLEY_WORKER_KEEP_BUILD:-0} == 1 ]] || rm -rf "$work"

elapsed=$((SECONDS - start))
log "done in $((elapsed / 60))m $((elapsed % 60))s"
echo "mediasoup-worker $version: built and cached at $bin"
