#!/bin/sh
# test_web_client.sh: the web client in a real browser (web_client.mjs),
# for "make check". Finds node, Debian's chromium and playwright-core
# (installed by "npm ci --prefix tests/browser", which
# scripts/install-deps.sh runs) and prints TAP; skips, with the reason,
# only when one of them is missing.
#
# TORPOR_GATEWAY, TORPOR_PINGPONG, TORPOR_WWW: as for tests/e2e (set by
# AM_TESTS_ENVIRONMENT). TORPOR_CHROMIUM: the browser (/usr/bin/chromium).
# NODE: the node binary (default: node on PATH).
# TORPOR_SCREENSHOT=FILE.png: also saves a screenshot after the pong.

here=$(cd "$(dirname "$0")" && pwd) || exit 1

skip() {
	echo "1..1"
	echo "ok 1 - web client in chromium # SKIP $*"
	exit 0
}

chromium=${TORPOR_CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] ||
	skip "no chromium at $chromium (Debian package chromium; scripts/install-deps.sh installs it)"

node=${NODE:-$(command -v node || command -v nodejs)}
[ -n "$node" ] && [ -x "$node" ] ||
	skip "node not found (Debian package nodejs; scripts/install-deps.sh installs it)"
"$node" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
	skip "node $("$node" --version) is older than 20, which playwright-core needs"

[ -f "$here/node_modules/playwright-core/package.json" ] ||
	skip "playwright-core not installed in $here/node_modules (run: npm ci --prefix tests/browser; scripts/install-deps.sh does)"

exec "$node" "$here/web_client.mjs"
