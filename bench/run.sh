#!/bin/bash
# bench/run.sh: torpor against a bare libwebsockets server, in one table.
#
# Starts bench/echo-baseline and torpor-gateway (reference app, --durability
# none, --handlers 0:2, --idle-timeout 1) in turn on private loopback ports
# and temporary directories, drives each with bench/loadgen for ROUNDS
# rounds, and prints the median of every figure over the rounds, torpor's
# also as a ratio to the baseline's. Progress and per-round samples go to
# stderr, the table to stdout.
#
# Per round and server (a fresh server for each group, so one group's
# leftovers do not bias the next):
#   closed loop c=1, c=100, c=1000 (DURATION s after WARMUP s), then
#   connect/close cycles (CONNECT_PARALLEL in flight);
#   RSS per idle connection at 1,000 and at 10,000: VmRSS of the server plus
#   its handler processes (children, from /proc) when loadgen reports every
#   welcome in, minus the same before connecting, over the count; while the
#   10,000 are held, c=100 closed loop again;
#   torpor only, wake from zero: one connection; before each of WAKE_ROUNDS
#   pings, wait (deadline WAKE_WAIT s) until the gateway has no handler
#   process left, then time the ping to its pong;
#   torpor only, the storage workload: bench/storehandler (reads and
#   rewrites its object's storage on every message) behind --route
#   '/rooms/*', closed loop c=100 spread over STORE_OBJECTS objects, once
#   per durability (none, group, full; a fresh gateway each, the order
#   rotated from round to round so drifting load hits each alike).
# Then a second table: issue 6's targets, each with the figure it is
# judged on and whether this run met it.
#
# Environment: BUILDDIR (default: the current directory, a build tree),
# ROUNDS (3), DURATION (5), WARMUP (1), WAKE_ROUNDS (10), WAKE_WAIT (15),
# CONNECT_PARALLEL (8), STORE_OBJECTS (8), KEEP=1 keeps the logs. Linux
# only (/proc).
# Exit status: 0, or 1 if a figure could not be measured or a run had errors.

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

BUILDDIR=${BUILDDIR:-$PWD}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
WAKE_ROUNDS=${WAKE_ROUNDS:-10}
WAKE_WAIT=${WAKE_WAIT:-15}
CONNECT_PARALLEL=${CONNECT_PARALLEL:-8}
STORE_OBJECTS=${STORE_OBJECTS:-8}
KEEP=${KEEP:-0}
IDLE_COUNTS="1000 10000"
DURABILITIES="none group full"

LOADGEN=$BUILDDIR/bench/loadgen
BASELINE=$BUILDDIR/bench/echo-baseline
GATEWAY=$BUILDDIR/gateway/torpor-gateway
# linked with -static: a real binary, no libtool wrapper to work around
STOREHANDLER=$BUILDDIR/bench/storehandler

GATEWAY_OPTS=(--handlers 0:2 --idle-timeout 1)	# every torpor run
FAILED=0
# PROG and LEFTOVER are read by bench/lib.sh
# shellcheck disable=SC2034
PROG=run.sh
# shellcheck disable=SC2034
LEFTOVER='pingpong|storehandler'
. "$(dirname "$0")/lib.sh" || exit 1

# --- processes ---------------------------------------------------------------

# VmRSS of $1 in kB, 0 if it is gone.
rss_kb() {
	local k v rest
	while read -r k v rest; do
		if [ "$k" = VmRSS: ]; then
			echo "$v"
			return
		fi
	done 2>/dev/null <"/proc/$1/status"
	echo 0
}

# VmRSS of $1 plus its children, in kB.
tree_rss_kb() {
	local total c
	total=$(rss_kb "$1")
	for c in $(children_of "$1"); do
		total=$((total + $(rss_kb "$c")))
	done
	echo "$total"
}


# --- servers -----------------------------------------------------------------

# start_server baseline|torpor|store TAG [DURABILITY]: sets SERVER_PID and
# PORT. store is the gateway with the storage handler on /rooms/*.
start_server() {
	local kind=$1 tag=$2 dir=$TMP/$1-$2 tries app
	app=(--durability none --handler "$HANDLER")
	[ "$kind" = store ] && app=(--route '/rooms/*' \
	    --durability "${3:-none}" --handler "$STOREHANDLER")
	mkdir -p "$dir/run" "$dir/store"
	for tries in 1 2 3; do
		PORT=$(pick_port) || die "no free port"
		if [ "$kind" = baseline ]; then
			"$BASELINE" --port "$PORT" >>"$TMP/baseline.log" 2>&1 &
		else
			"$GATEWAY" --listen "127.0.0.1:$PORT" --run-dir "$dir/run" \
			    --store "$dir/store" "${GATEWAY_OPTS[@]}" \
			    "${app[@]}" >"$dir/gateway.log" 2>&1 &
		fi
		SERVER_PID=$!
		PIDS+=("$SERVER_PID")
		if wait_port "$PORT" "$SERVER_PID"; then
			return 0
		fi
		stop_pid "$SERVER_PID"	# lost a race for the port: retry
	done
	die "$kind did not start (see ${dir}/gateway.log or baseline.log)"
}

stop_server() {
	stop_pid "$SERVER_PID"
}

# --- results -----------------------------------------------------------------

# record SYSTEM FIGURE VALUE: one sample of one round.
record() {
	echo "$1 $2 $3" >>"$TMP/samples"
}

# Runs loadgen with a time bound; prints its machine line, notes errors.
loadgen() {
	local out rc bound
	bound=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print int(d + w + 60) }')
	out=$(timeout "$bound" "$LOADGEN" "$@" 2>>"$TMP/loadgen.log")
	rc=$?
	out=$(grep '^mode=' <<<"$out")
	if [ -z "$out" ]; then
		note "loadgen $* failed (status $rc):"
		tail -n 3 "$TMP/loadgen.log" >&2
		FAILED=1
	elif [ "$(field errors "$out")" != 0 ]; then
		note "loadgen $*: $(field errors "$out") errors (counted in the figure)"
		FAILED=1
	fi
	# not errors, but signs of a server misbehaving under load
	if [ -n "$out" ] && [ "$(field close_timeouts "$out")$(field unsolicited "$out")" != 00 ]; then
		note "loadgen $*: close_timeouts=$(field close_timeouts "$out") unsolicited=$(field unsolicited "$out")"
	fi
	echo "$out"
}

# closed SYSTEM CONNS URL LABEL [LOADGEN OPTION]...: a closed-loop run,
# figures LABEL_*.
closed() {
	local line
	line=$(loadgen --mode closed --url "$3" --conns "$2" \
	    --duration "$DURATION" --warmup "$WARMUP" "${@:5}")
	[ -n "$line" ] || return
	note "  $1 $4: rate=$(field rate "$line") p50_us=$(field p50_us "$line") p99_us=$(field p99_us "$line")"
	record "$1" "$4_rate" "$(field rate "$line")"
	record "$1" "$4_p50" "$(field p50_us "$line")"
	record "$1" "$4_p99" "$(field p99_us "$line")"
}

# The message-rate and connect figures, on one server.
run_traffic() {
	local sys=$1 url line c
	start_server "$sys" "traffic-$ROUND"
	url=ws://127.0.0.1:$PORT/websocket
	for c in 1 100 1000; do
		closed "$sys" "$c" "$url" "c$c"
	done
	line=$(loadgen --mode connect --url "$url" --duration "$DURATION" \
	    --warmup "$WARMUP" --parallel "$CONNECT_PARALLEL")
	if [ -n "$line" ]; then
		note "  $sys connect: rate=$(field rate "$line")"
		record "$sys" connect_rate "$(field rate "$line")"
	fi
	stop_server
}

# RSS per idle connection at N, on a fresh server; at 10,000 also c=100.
run_idle() {
	local sys=$1 n=$2 url before after gw_before gw_after line lg lg_in lg_out
	start_server "$sys" "idle$n-$ROUND"
	url=ws://127.0.0.1:$PORT/websocket
	before=$(tree_rss_kb "$SERVER_PID")
	gw_before=$(rss_kb "$SERVER_PID")
	coproc LG { exec "$LOADGEN" --mode idle --url "$url" --conns "$n" \
	    --hold 300 2>>"$TMP/loadgen.log"; }
	lg=$LG_PID
	PIDS+=("$lg")
	# bash drops LG's descriptors when the coprocess ends: keep copies
	exec {lg_out}<&"${LG[0]}" {lg_in}>&"${LG[1]}"
	if read -r -t 120 -u "$lg_out" line && [ "$line" = "ready conns=$n" ]; then
		after=$(tree_rss_kb "$SERVER_PID")
		gw_after=$(rss_kb "$SERVER_PID")
		record "$sys" "rss$n" $(((after - before) * 1024 / n))
		record "$sys" "rssgw$n" $(((gw_after - gw_before) * 1024 / n))
		note "  $sys idle $n: $before kB -> $after kB (server alone $gw_before -> $gw_after kB)"
		if [ "$n" = 10000 ]; then
			closed "$sys" 100 "$url" c100idle
		fi
		echo >&"$lg_in"
		read -r -t 60 -u "$lg_out" line
		case $line in
		mode=idle*errors=0*) ;;
		*) note "  $sys idle $n: loadgen ended with '$line'"; FAILED=1 ;;
		esac
	else
		note "$sys idle $n: loadgen did not get every welcome ('${line:-}'):"
		tail -n 3 "$TMP/loadgen.log" >&2
		FAILED=1
	fi
	exec {lg_out}<&- {lg_in}>&-
	stop_pid "$lg"
	stop_server
}

# The storage workload in durability $1, on a fresh gateway: c=100 over
# STORE_OBJECTS objects. The reply check wants the counter, so a pong from
# anything but the storage handler counts as an error.
run_store() {
	local dur=$1
	start_server store "$dur-$ROUND" "$dur"
	closed torpor 100 "ws://127.0.0.1:$PORT/rooms/r%d" "store_$dur" \
	    --objects "$STORE_OBJECTS" --expect '"type":"pong","count":'
	stop_server
}

# The durabilities, rotated by round: round 2 starts with the second.
store_order() {
	local d=($DURABILITIES) i n=${#d[@]}
	for ((i = 0; i < n; i++)); do
		echo "${d[(i + ROUND - 1) % n]}"
	done
}

# Waits (up to WAKE_WAIT s) until the gateway has no handler process, not
# even one it has yet to reap: a retiring handler that has exited but is
# still counted would let the gateway's pool be non-empty at the ping.
wait_pool_zero() {
	local i limit=$((WAKE_WAIT * 50))
	for ((i = 0; i < limit; i++)); do
		[ -z "$(children_of "$SERVER_PID" zombies)" ] && return 0
		sleep 0.02
	done
	return 1
}

# Wake from zero: the ping is sent only once no handler process is left.
run_wake() {
	local sys=$1 url line lg lg_in lg_out r ok=1
	start_server "$sys" "wake-$ROUND"
	url=ws://127.0.0.1:$PORT/websocket
	coproc LG { exec "$LOADGEN" --mode wake --url "$url" \
	    --rounds "$WAKE_ROUNDS" --timeout $((WAKE_WAIT + 15)) \
	    2>>"$TMP/loadgen.log"; }
	lg=$LG_PID
	PIDS+=("$lg")
	exec {lg_out}<&"${LG[0]}" {lg_in}>&"${LG[1]}"
	for ((r = 1; r <= WAKE_ROUNDS; r++)); do
		if ! read -r -t 30 -u "$lg_out" line || [ "$line" != "ready round=$r" ]; then
			note "$sys wake: loadgen said '${line:-nothing}' at round $r"
			ok=0
			break
		fi
		if ! wait_pool_zero; then
			note "$sys wake: handlers still running after $WAKE_WAIT s"
			ok=0
			break
		fi
		echo >&"$lg_in"
		read -r -t 30 -u "$lg_out" line
	done
	if [ "$ok" = 1 ] && read -r -t 30 -u "$lg_out" line &&
	    [ "$(field errors "$line")" = 0 ]; then
		note "  $sys wake: p50_us=$(field p50_us "$line") p99_us=$(field p99_us "$line") max_us=$(field max_us "$line")"
		record "$sys" wake_p50 "$(field p50_us "$line")"
		record "$sys" wake_p99 "$(field p99_us "$line")"
	else
		tail -n 3 "$TMP/loadgen.log" >&2
		FAILED=1
	fi
	exec {lg_out}<&- {lg_in}>&-
	stop_pid "$lg"
	stop_server
}

# --- the table ---------------------------------------------------------------

# median SYSTEM FIGURE: of the samples, or nothing.
median() {
	awk -v s="$1" -v f="$2" '$1 == s && $2 == f { print $3 }' "$TMP/samples" |
	    sort -g | awk '{ v[NR] = $1 }
	    END { if (NR == 0) exit
	          if (NR % 2) print v[(NR + 1) / 2]
	          else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# quotient A B [DECIMALS]: A / B (2 decimals), or nothing when either is
# missing or B is 0.
quotient() {
	awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN {
	    if (a != "" && b != "" && b + 0 != 0) printf "%." d "f", a / b }'
}

# print_row LABEL BASELINE TORPOR RATIO DECIMALS: "-" for what is missing.
print_row() {
	awk -v l="$1" -v b="$2" -v t="$3" -v r="$4" -v d="$5" 'BEGIN {
	    fb = b == "" ? "-" : sprintf("%." d "f", b)
	    ft = t == "" ? "-" : sprintf("%." d "f", t)
	    printf "| %-44s | %10s | %10s | %7s |\n", l, fb, ft,
	        r == "" ? "-" : r }'
}

# row LABEL FIGURE DECIMALS [BASELINE_FIGURE]: the medians and torpor /
# baseline. The baseline column shows BASELINE_FIGURE when given: the
# storage workload has no baseline of its own and is set against the bare
# echo server at c=100.
row() {
	local b t
	b=$(median baseline "${4:-$2}")
	t=$(median torpor "$2")
	print_row "$1" "$b" "$t" "$(quotient "$t" "$b")" "$3"
}

# ratio_row LABEL FIGURE OVER: median FIGURE / median OVER, per system.
ratio_row() {
	print_row "$1" \
	    "$(quotient "$(median baseline "$2")" "$(median baseline "$3")")" \
	    "$(quotient "$(median torpor "$2")" "$(median torpor "$3")")" "" 2
}

print_table() {
	local d
	printf '| %-44s | %10s | %10s | %7s |\n' figure baseline torpor ratio
	printf '| %s | %s | %s | %s |\n' "$(printf -- '-%.0s' {1..44})" \
	    "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..10})" \
	    "$(printf -- '-%.0s' {1..7})"
	row "c=1 messages/s" c1_rate 0
	row "c=1 latency p50 (us)" c1_p50 1
	row "c=1 latency p99 (us)" c1_p99 1
	row "c=100 messages/s" c100_rate 0
	row "c=100 latency p50 (us)" c100_p50 0
	row "c=100 latency p99 (us)" c100_p99 0
	row "c=1000 messages/s" c1000_rate 0
	row "c=1000 latency p50 (us)" c1000_p50 0
	row "c=1000 latency p99 (us)" c1000_p99 0
	row "connects/s ($CONNECT_PARALLEL in parallel)" connect_rate 0
	row "RSS per idle conn at 1,000 (B, +handlers)" rss1000 0
	row "RSS per idle conn at 10,000 (B, +handlers)" rss10000 0
	row "RSS per idle conn at 1,000 (B, server only)" rssgw1000 0
	row "RSS per idle conn at 10,000 (B, server only)" rssgw10000 0
	row "c=100 messages/s, 10,000 idle open" c100idle_rate 0
	row "c=100 p99 (us), 10,000 idle open" c100idle_p99 0
	ratio_row "c=100 msg/s, 10,000 idle open / alone" c100idle_rate \
	    c100_rate
	row "wake from zero handlers p50 (us)" wake_p50 0
	row "wake from zero handlers p99 (us)" wake_p99 0
	for d in $DURABILITIES; do
		row "storage c=100, $d: messages/s" "store_${d}_rate" 0 \
		    c100_rate
		row "storage c=100, $d: latency p50 (us)" "store_${d}_p50" 0 \
		    c100_p50
		row "storage c=100, $d: latency p99 (us)" "store_${d}_p99" 0 \
		    c100_p99
	done
	ratio_row "storage c=100 msg/s, group / none" store_group_rate \
	    store_none_rate
	ratio_row "storage c=100 msg/s, full / none" store_full_rate \
	    store_none_rate
}

# target LABEL VALUE OP LIMIT SHOWN FORMAT: one row of the targets table,
# VALUE (nothing if not measured) against OP (>= or <=) LIMIT.
target() {
	awk -v l="$1" -v v="$2" -v op="$3" -v lim="$4" -v shown="$5" \
	    -v f="$6" 'BEGIN {
	    if (v == "") { m = "-"; verdict = "not measured" }
	    else {
	        m = sprintf(f, v)
	        ok = op == ">=" ? v + 0 >= lim + 0 : v + 0 <= lim + 0
	        verdict = ok ? "met" : "not met"
	    }
	    printf "| %-46s | %10s | %-18s | %-12s |\n", l, m, shown, verdict }'
}

# tratio FIGURE SYSTEM OVER: torpor's median FIGURE / SYSTEM's median OVER,
# to 4 decimals, so a verdict is not decided by rounding.
tratio() {
	quotient "$(median torpor "$1")" "$(median "$2" "$3")" 4
}

# Issue 6's targets, each with the figure it is judged on.
print_targets() {
	printf '| %-46s | %10s | %-18s | %-12s |\n' "target (issue 6)" \
	    measured target verdict
	printf '| %s | %s | %s | %s |\n' "$(printf -- '-%.0s' {1..46})" \
	    "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..18})" \
	    "$(printf -- '-%.0s' {1..12})"
	target "c=100 messages/s, torpor / baseline" \
	    "$(tratio c100_rate baseline c100_rate)" ">=" 0.5 ">= 0.5" "%.2f"
	target "c=1000 messages/s, torpor / baseline" \
	    "$(tratio c1000_rate baseline c1000_rate)" ">=" 0.5 ">= 0.5" "%.2f"
	target "c=1 latency p50, torpor / baseline" \
	    "$(tratio c1_p50 baseline c1_p50)" "<=" 2 "<= 2" "%.2f"
	target "RSS per idle conn at 10,000, +handlers (B)" \
	    "$(median torpor rss10000)" "<=" 3072 "<= 3 kB (3072 B)" "%.0f"
	target "wake from zero handlers p50 (us)" \
	    "$(median torpor wake_p50)" "<=" 5000 "<= 5000 us" "%.0f"
	target "c=100 msg/s, 10,000 idle open / alone" \
	    "$(tratio c100idle_rate torpor c100_rate)" ">=" 0.9 ">= 0.9" "%.2f"
	target "storage c=100, none: msg/s / baseline c=100" \
	    "$(tratio store_none_rate baseline c100_rate)" ">=" 0.35 ">= 0.35" \
	    "%.2f"
	target "storage c=100 msg/s, group / none" \
	    "$(tratio store_group_rate torpor store_none_rate)" ">=" 0.8 \
	    ">= 0.8" "%.2f"
}

# --- main ----------------------------------------------------------------------

for f in "$LOADGEN" "$BASELINE" "$GATEWAY" "$PINGPONG" "$STOREHANDLER"; do
	[ -x "$f" ] || die "$f not built (run from the build directory, or set BUILDDIR)"
done
"$LOADGEN" --self-test >/dev/null || die "loadgen --self-test failed"
# A gateway that limits the sockets of one client address (1,000 by
# default) must let the one loadgen hold 10,000; older ones lack the option.
if "$GATEWAY" --help 2>&1 | grep -q -e '--max-connections-per-ip'; then
	GATEWAY_OPTS+=(--max-connections-per-ip 20000)
fi
# and all of them may be handshaking at once
if "$GATEWAY" --help 2>&1 | grep -q -e '--max-handshakes'; then
	GATEWAY_OPTS+=(--max-handshakes 20000)
fi
# the servers hold 10,000 sockets too: give them the hard limit
ulimit -n "$(ulimit -Hn)" 2>/dev/null
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 10100 ] ||
	die "descriptor limit $(ulimit -n) is below 10,100: raise the hard limit"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/torpor-bench.XXXXXX") || die "mktemp failed"
: >"$TMP/samples"

model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "machine: nproc=$(nproc) cpu=\"${model:-unknown}\" kernel=$(uname -r)"
echo "gateway: $GATEWAY ${GATEWAY_OPTS[*]}"
echo "handler: $HANDLER"
echo "storage workload: $STOREHANDLER, --route '/rooms/*'," \
    "c=100 over $STORE_OBJECTS objects, durability $DURABILITIES"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
echo "run: rounds=$ROUNDS duration=${DURATION}s warmup=${WARMUP}s wake_rounds=$WAKE_ROUNDS connect_parallel=$CONNECT_PARALLEL date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
start=$SECONDS
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	for sys in baseline torpor; do
		note "round $ROUND/$ROUNDS: $sys"
		run_traffic "$sys"
		for n in $IDLE_COUNTS; do
			run_idle "$sys" "$n"
		done
		[ "$sys" = torpor ] && run_wake "$sys"
	done
	note "round $ROUND/$ROUNDS: storage workload"
	for d in $(store_order); do
		run_store "$d"
	done
done
echo "medians of $ROUNDS rounds; ratio = torpor / baseline (storage rows: / baseline c=100); took $((SECONDS - start)) s; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
print_table
echo
targets=$(print_targets)
echo "$targets"
echo "targets met: $(grep -c '| met ' <<<"$targets")" \
    "of $(($(wc -l <<<"$targets") - 2))"
# warnings and errors of every gateway run, either log format
pattern=' (WARN|ERROR) |level=(warn|error) '
n=$(cat "$TMP"/torpor-*/gateway.log "$TMP"/store-*/gateway.log 2>/dev/null |
    grep -c -E "$pattern")
echo "gateway log: $n warning/error lines"
cat "$TMP"/torpor-*/gateway.log "$TMP"/store-*/gateway.log 2>/dev/null |
    grep -E "$pattern" |
    sed -E 's/^(ts=)?[^ ]+ //; s/[0-9]+/N/g' | sort | uniq -c | sort -rn |
    head -n 5
exit "$FAILED"
