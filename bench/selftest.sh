#!/bin/sh
# make check: loadgen's known-answer checks (SHA-1, handshake, framing), TAP.
exec "${BENCH_LOADGEN:-bench/loadgen}" --self-test
