#!/bin/sh
# Generates configure and the build-aux scripts from a git checkout.
# automake does not install its TAP driver with --add-missing, so it is
# copied from the installed automake here rather than kept in the tree.
set -e
cd "$(dirname "$0")"
mkdir -p build-aux m4
cp -f "$(automake --print-libdir)/tap-driver.sh" build-aux/tap-driver.sh
autoreconf -fi
