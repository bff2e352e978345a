#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages torpor needs to build and
# test. Does nothing (and needs no network) when they are all installed,
# which dpkg-query tells; uses sudo only when not run as root.
set -euo pipefail

PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libwebsockets-dev libwebsockets-evlib-ev libev-dev
	libfcgi-dev libfcgi-bin
	liblmdb-dev lmdb-utils
	libcjson-dev uthash-dev
	python3-websocket
)

missing=()
for p in "${PACKAGES[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing+=("$p") ;;
	esac
done

if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends "${missing[@]}"
