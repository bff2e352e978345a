#!/usr/bin/env bash
# start.sh: installs the build dependencies if missing, builds torpor in the
# source tree and runs the gateway with the given arguments, e.g.
#   ./scripts/start.sh --listen 127.0.0.1:8788
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh --runtime
./autogen.sh
./configure
make -j2
exec gateway/torpor-gateway "$@"
