#!/bin/bash
# bench/ab.sh: two builds of torpor-gateway against each other, alternated.
#
#   bench/ab.sh OLD_BUILDDIR NEW_BUILDDIR
#
# For ROUNDS rounds (3), starts each build's gateway with its reference
# app in turn (a fresh gateway and directories each time, --durability
# none, --handlers 0:2), runs loadgen (from NEW_BUILDDIR) closed loop at
# c=100 for DURATION s (5) and at c=1 for DURATION s, after WARMUP s (1),
# and prints every sample, then the medians and new/old. Alternating in
# one run is what makes a change of a few percent visible on a shared,
# noisy machine: both builds meet the same drift. Loopback only; every
# process is stopped by PID (bench/lib.sh). Exit status 1 if a run failed.

set -u
[ $# -eq 2 ] || { echo "usage: $0 OLD_BUILDDIR NEW_BUILDDIR" >&2; exit 2; }
OLD=$(cd "$1" && pwd) || exit 2
NEW=$(cd "$2" && pwd) || exit 2
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
KEEP=${KEEP:-0}
# PROG, LEFTOVER and BUILDDIR are read by bench/lib.sh
# shellcheck disable=SC2034
PROG=ab.sh
# shellcheck disable=SC2034
LEFTOVER='pingpong'
# shellcheck disable=SC2034
BUILDDIR=$NEW
. "$(dirname "$0")/lib.sh" || exit 1
LOADGEN=$NEW/bench/loadgen
[ -x "$LOADGEN" ] || die "no $LOADGEN: make bench/loadgen in $NEW"
TMP=$(mktemp -d) || die "mktemp failed"
FAILED=0

# One gateway of build $1, one loadgen run per concurrency; prints
# "rate100 rate1 p50_1".
measure() {
	local b=$1 dir port pid handler out100 out1 lib=
	handler=$b/examples/pingpong/pingpong
	if [ -x "$b/examples/pingpong/.libs/pingpong" ]; then
		handler=$b/examples/pingpong/.libs/pingpong
		lib=$b/handler/.libs
	fi
	dir=$(mktemp -d -p "$TMP") || die "mktemp failed"
	port=$(pick_port) || die "no free port"
	LD_LIBRARY_PATH=$lib "$b/gateway/torpor-gateway" \
	    --listen "127.0.0.1:$port" --run-dir "$dir/run" --store "$dir/store" \
	    --durability none --handlers 0:2 --handler "$handler" \
	    --log-level warn >"$dir/gateway.log" 2>&1 &
	pid=$!
	PIDS+=("$pid")
	wait_port "$port" "$pid" || die "$b: gateway did not start ($dir/gateway.log)"
	out100=$(timeout $((DURATION + WARMUP + 60)) "$LOADGEN" --mode closed \
	    --url "ws://127.0.0.1:$port/websocket" --conns 100 \
	    --duration "$DURATION" --warmup "$WARMUP" 2>>"$TMP/loadgen.log" |
	    grep '^mode=')
	out1=$(timeout $((DURATION + WARMUP + 60)) "$LOADGEN" --mode closed \
	    --url "ws://127.0.0.1:$port/websocket" --conns 1 \
	    --duration "$DURATION" --warmup "$WARMUP" 2>>"$TMP/loadgen.log" |
	    grep '^mode=')
	stop_pid "$pid"
	if [ -z "$out100" ] || [ -z "$out1" ] ||
	    [ "$(field errors "$out100")$(field errors "$out1")" != 00 ]; then
		note "$b: a loadgen run failed or had errors ($TMP/loadgen.log)"
		FAILED=1
	fi
	echo "$(field rate "$out100") $(field rate "$out1") $(field p50_us "$out1")"
}

median() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2];
	    else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "round build c100_msg_s c1_msg_s c1_p50_us"
for ((r = 1; r <= ROUNDS; r++)); do
	for b in old new; do
		[ "$b" = old ] && dir=$OLD || dir=$NEW
		line=$(measure "$dir")
		echo "$r $b $line"
		echo "$b $line" >>"$TMP/samples"
	done
done
echo
echo "figure      old (median)  new (median)  new/old"
col=2
for fig in c100_msg_s c1_msg_s c1_p50_us; do
	o=$(awk -v c=$col '$1 == "old" { print $c }' "$TMP/samples" | median)
	n=$(awk -v c=$col '$1 == "new" { print $c }' "$TMP/samples" | median)
	awk -v f="$fig" -v o="$o" -v n="$n" 'BEGIN { printf "%-11s %13.1f %13.1f %8.3f\n",
	    f, o, n, (o > 0 ? n / o : 0) }'
	col=$((col + 1))
done
exit "$FAILED"
