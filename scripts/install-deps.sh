#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages torpor needs to build and
# test. Does nothing (and needs no network) when they are all installed,
# which dpkg-query tells; uses sudo only when not run as root. Then installs
# the browser test's npm packages (tests/browser: playwright-core, pinned by
# its package-lock.json) with "npm ci", unless they are installed already.
# With --runtime, only what building and running the gateway needs (what
# scripts/start.sh uses): no web server, browser or Node packages.
set -euo pipefail
cd "$(dirname "$0")/.."

runtime_only=0
if [ "${1:-}" = "--runtime" ]; then
	runtime_only=1
fi

PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libwebsockets-dev libwebsockets-evlib-ev libev-dev
	libfcgi-dev libfcgi-bin
	liblmdb-dev lmdb-utils
	libcjson-dev uthash-dev
	python3-websocket
)
if [ "$runtime_only" -eq 0 ]; then
	PACKAGES+=(nginx chromium)
	# examples/php and tests/e2e/test_php.py: php-fpm runs the PHP
	# handler, the CLI checks it; FFI (the alarm's LMDB reads) is in
	# php8.2-common. No php8.2-dba: its lmdb handler cannot open named DBs.
	PACKAGES+=(php8.2-fpm php8.2-cli)
fi

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing+=("$p") ;;
	esac
done

# Node.js and npm, for the browser test, from Debian only when there is no
# node or npm at all: one that is already there (a newer one from elsewhere)
# is kept.
if [ "$runtime_only" -eq 0 ] && ! command -v node >/dev/null 2>&1 &&
    ! command -v nodejs >/dev/null 2>&1; then
	missing+=(nodejs)
fi
if [ "$runtime_only" -eq 0 ] && ! command -v npm >/dev/null 2>&1; then
	missing+=(npm)
fi

if [ "${#missing[@]}" -gt 0 ]; then
	echo "install-deps: installing ${missing[*]}" >&2
	SUDO=
	if [ "$(id -u)" -ne 0 ]; then
		SUDO=sudo
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update
	$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [ "$runtime_only" -eq 1 ]; then
	exit 0
fi

# The browser test's packages. Skipped when the locked version is installed
# (so an offline machine that has them is fine); a failure is reported, not
# fatal: the browser test then skips and says why.
locked_version() {
	sed -n '/"node_modules\/playwright-core"/,/}/s/.*"version": *"\([^"]*\)".*/\1/p' \
	    "$1" 2>/dev/null | head -n 1 || true
}
want=$(locked_version tests/browser/package-lock.json)
have=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' \
    tests/browser/node_modules/playwright-core/package.json 2>/dev/null |
    head -n 1 || true)
if [ -z "$want" ] || [ "$want" != "$have" ]; then
	echo "install-deps: npm ci --prefix tests/browser" >&2
	if ! npm ci --prefix tests/browser --no-audit --no-fund >&2; then
		echo "install-deps: npm ci failed; the browser test will skip" >&2
	fi
fi
exit 0
