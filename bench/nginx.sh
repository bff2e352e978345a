#!/bin/bash
# bench/nginx.sh: the reference app's messages per second through nginx
# versus direct, in one table (issue 5, "Figures for the closing note").
#
# Builds nothing. Per round, twice (direct and through nginx, the order
# alternating from round to round so that drifting load hits both alike):
# a fresh torpor-gateway with the reference app (--handlers 0:2
# --durability none, the real pingpong binary) on a private loopback port
# with temporary run and store directories; for the nginx leg also a fresh
# Debian nginx in front of it, in the foreground with its own prefix,
# configured with examples/nginx/torpor.conf itself, its listen and
# upstream lines rewritten to private loopback ports by the very function
# tests/e2e/test_nginx.py uses (example_config(), imported, not copied).
# Against each, bench/loadgen closed loop at c=1 and c=100 (WARMUP s, then
# DURATION s measured). Prints the medians over the rounds: messages/s and
# p50/p99 latency, direct, through nginx, and nginx / direct. Progress and
# per-round samples go to stderr, the table to stdout.
#
# Environment: BUILDDIR (default: the current directory, a build tree),
# ROUNDS (3), DURATION (5), WARMUP (1), NGINX (nginx on PATH, else
# /usr/sbin/nginx), NGINX_WORKERS (1), KEEP=1 keeps the logs. Linux only
# (/proc); loopback only; python3 for the config rewrite.
# Exit status: 0, or 1 if a figure could not be measured or a run had errors.

if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -u

BUILDDIR=${BUILDDIR:-$PWD}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5}
WARMUP=${WARMUP:-1}
NGINX_WORKERS=${NGINX_WORKERS:-1}
KEEP=${KEEP:-0}
CONNS="1 100"
SRCDIR=$(cd "$(dirname "$0")/.." && pwd) || exit 1
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

LOADGEN=$BUILDDIR/bench/loadgen
GATEWAY=$BUILDDIR/gateway/torpor-gateway

FAILED=0
# shellcheck disable=SC2034  # PROG and LEFTOVER are read by bench/lib.sh
PROG=nginx.sh
LEFTOVER='pingpong|nginx|loadgen'
# sets HANDLER: the real pingpong binary of the build tree (bench/lib.sh)
. "$SRCDIR/bench/lib.sh" || exit 1
GATEWAY_OPTS=(--handlers 0:2 --durability none --handler "$HANDLER")

# --- servers -----------------------------------------------------------------

# start_gateway DIR: sets GW_PID and GW_PORT.
start_gateway() {
	local dir=$1
	mkdir -p "$dir/run" "$dir/store"
	for _ in 1 2 3; do
		GW_PORT=$(pick_port) || die "no free port"
		"$GATEWAY" --listen "127.0.0.1:$GW_PORT" --run-dir "$dir/run" \
		    --store "$dir/store" "${GATEWAY_OPTS[@]}" \
		    >>"$dir/gateway.log" 2>&1 &
		GW_PID=$!
		PIDS+=("$GW_PID")
		wait_port "$GW_PORT" "$GW_PID" && return 0
		stop_pid "$GW_PID"	# lost a race for the port: retry
	done
	die "the gateway did not start (see $dir/gateway.log)"
}

# examples/nginx/torpor.conf with its listen line on 127.0.0.1:$1 and its
# upstream on 127.0.0.1:$2, rewritten by tests/e2e/test_nginx.py's
# example_config(): one rule for the test and the benchmark, and the same
# check that each rewritten line is there exactly once.
example_config() {
	TORPOR_SRCDIR=$SRCDIR python3 -B -c '
import sys
sys.path.insert(0, sys.argv[1])
import test_nginx
sys.stdout.write(test_nginx.example_config(int(sys.argv[2]),
                                           ("tcp", int(sys.argv[3]))))
' "$SRCDIR/tests/e2e" "$1" "$2"
}

# start_nginx DIR UPSTREAM_PORT: nginx -p DIR/ in the foreground with the
# example included in http {}, as test_nginx.py's Nginx class runs it; sets
# NGX_PID and NGX_PORT.
start_nginx() {
	local p=$1 up=$2 k temp=
	mkdir -p "$p/tmp"
	for k in client_body proxy fastcgi uwsgi scgi; do
		temp+="    ${k}_temp_path $p/tmp/$k;"$'\n'
	done
	for _ in 1 2 3; do
		NGX_PORT=$(pick_port) || die "no free port"
		example_config "$NGX_PORT" "$up" >"$p/torpor.conf" ||
		    die "rewriting examples/nginx/torpor.conf failed"
		{
			# as root the workers would run as nobody, who cannot
			# enter the 0700 temporary directories
			[ "$(id -u)" = 0 ] && echo "user root;"
			echo "worker_processes $NGINX_WORKERS;"
			echo "events { worker_connections 1024; }"
			echo "http {"
			echo "    access_log $p/access.log;"
			printf '%s' "$temp"
			echo "    include $p/torpor.conf;"
			echo "}"
		} >"$p/nginx.conf"
		"$NGINX" -p "$p/" -c "$p/nginx.conf" -e "$p/error.log" \
		    -g "daemon off; pid $p/nginx.pid;" </dev/null \
		    >>"$p/stderr" 2>&1 &
		NGX_PID=$!
		PIDS+=("$NGX_PID")
		wait_port "$NGX_PORT" "$NGX_PID" && return 0
		stop_pid "$NGX_PID"
		grep -q 'in use' "$p/error.log" "$p/stderr" 2>/dev/null ||
		    break
	done
	cat "$p/stderr" "$p/error.log" >&2 2>/dev/null
	die "nginx did not start (see $p/error.log)"
}

# --- measuring ---------------------------------------------------------------

record() {
	echo "$1 $2 $3" >>"$TMP/samples"
}

# closed PATH CONNS URL: one closed-loop run, figures c<CONNS>_*.
closed() {
	local path=$1 c=$2 url=$3 bound lg line rc
	bound=$(awk -v d="$DURATION" -v w="$WARMUP" 'BEGIN { print int(d + w + 60) }')
	timeout "$bound" "$LOADGEN" --mode closed --url "$url" --conns "$c" \
	    --duration "$DURATION" --warmup "$WARMUP" \
	    >"$TMP/loadgen.out" 2>>"$TMP/loadgen.log" &
	lg=$!
	PIDS+=("$lg")
	wait "$lg"
	rc=$?
	forget_pid "$lg"
	line=$(grep '^mode=' "$TMP/loadgen.out")
	if [ -z "$line" ]; then
		note "loadgen c=$c $path failed (status $rc):"
		tail -n 3 "$TMP/loadgen.log" >&2
		FAILED=1
		return
	fi
	if [ "$(field errors "$line")" != 0 ]; then
		note "loadgen c=$c $path: $(field errors "$line") errors"
		FAILED=1
	fi
	if [ "$(field close_timeouts "$line")$(field unsolicited "$line")" != 00 ]; then
		note "loadgen c=$c $path: close_timeouts=$(field close_timeouts "$line") unsolicited=$(field unsolicited "$line")"
	fi
	note "  $path c=$c: rate=$(field rate "$line") p50_us=$(field p50_us "$line") p99_us=$(field p99_us "$line")"
	record "$path" "c${c}_rate" "$(field rate "$line")"
	record "$path" "c${c}_p50" "$(field p50_us "$line")"
	record "$path" "c${c}_p99" "$(field p99_us "$line")"
}

# run_leg direct|nginx: a fresh gateway (and nginx), c=1 then c=100.
run_leg() {
	local path=$1 dir=$TMP/r$ROUND-$1 port c
	start_gateway "$dir"
	port=$GW_PORT
	if [ "$path" = nginx ]; then
		start_nginx "$dir/nginx" "$GW_PORT"
		port=$NGX_PORT
	fi
	for c in $CONNS; do
		closed "$path" "$c" "ws://127.0.0.1:$port/websocket"
	done
	[ "$path" = nginx ] && stop_pid "$NGX_PID"
	stop_pid "$GW_PID"
}

# --- the table ---------------------------------------------------------------

median() {
	awk -v s="$1" -v f="$2" '$1 == s && $2 == f { print $3 }' "$TMP/samples" |
	    sort -g | awk '{ v[NR] = $1 }
	    END { if (NR == 0) exit
	          if (NR % 2) print v[(NR + 1) / 2]
	          else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# row LABEL FIGURE DECIMALS: medians, and nginx / direct.
row() {
	awk -v l="$1" -v a="$(median direct "$2")" -v b="$(median nginx "$2")" \
	    -v d="$3" 'BEGIN {
	    fa = a == "" ? "-" : sprintf("%." d "f", a)
	    fb = b == "" ? "-" : sprintf("%." d "f", b)
	    r = (a == "" || b == "" || a + 0 == 0) ? "-" : sprintf("%.2f", b / a)
	    printf "| %-24s | %10s | %10s | %13s |\n", l, fa, fb, r }'
}

print_table() {
	printf '| %-24s | %10s | %10s | %13s |\n' figure direct "via nginx" \
	    "nginx/direct"
	printf '| %s | %s | %s | %s |\n' "$(printf -- '-%.0s' {1..24})" \
	    "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..10})" \
	    "$(printf -- '-%.0s' {1..13})"
	row "c=100 messages/s" c100_rate 0
	row "c=100 latency p50 (us)" c100_p50 0
	row "c=100 latency p99 (us)" c100_p99 0
	row "c=1 messages/s" c1_rate 0
	row "c=1 latency p50 (us)" c1_p50 1
	row "c=1 latency p99 (us)" c1_p99 1
}

# --- main --------------------------------------------------------------------

for f in "$LOADGEN" "$GATEWAY" "$HANDLER"; do
	[ -x "$f" ] || die "$f not built (run from the build directory, or set BUILDDIR)"
done
[ -x "$NGINX" ] || die "nginx not found (Debian package nginx; or set NGINX)"
command -v python3 >/dev/null || die "python3 is needed to rewrite examples/nginx/torpor.conf"
[ -r "$SRCDIR/tests/e2e/test_nginx.py" ] || die "$SRCDIR/tests/e2e/test_nginx.py missing"
"$LOADGEN" --self-test >/dev/null || die "loadgen --self-test failed"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/torpor-ngxbench.XXXXXX") || die "mktemp failed"
: >"$TMP/samples"

model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
echo "machine: nproc=$(nproc) cpu=\"${model:-unknown}\" kernel=$(uname -r)"
echo "command: BUILDDIR=$BUILDDIR ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP NGINX_WORKERS=$NGINX_WORKERS $SRCDIR/bench/nginx.sh"
echo "gateway: $GATEWAY ${GATEWAY_OPTS[*]}"
echo "nginx: $NGINX ($("$NGINX" -v 2>&1 | sed 's/^nginx version: //')), worker_processes $NGINX_WORKERS, examples/nginx/torpor.conf (TCP upstream)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
echo "run: rounds=$ROUNDS duration=${DURATION}s warmup=${WARMUP}s closed loop c=${CONNS// /,} date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
start=$SECONDS
for ((ROUND = 1; ROUND <= ROUNDS; ROUND++)); do
	if ((ROUND % 2)); then order="direct nginx"; else order="nginx direct"; fi
	for path in $order; do
		note "round $ROUND/$ROUNDS: $path"
		run_leg "$path"
	done
done
echo "medians of $ROUNDS rounds; took $((SECONDS - start)) s; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
print_table
pattern=' (WARN|ERROR) |level=(warn|error) '
n=$(cat "$TMP"/r*/gateway.log 2>/dev/null | grep -c -E "$pattern")
m=$(cat "$TMP"/r*/nginx/error.log 2>/dev/null | grep -c -E '\[(warn|error|crit|alert|emerg)\]')
echo "gateway log: $n warning/error lines; nginx error.log: $m warn-or-worse lines"
exit "$FAILED"
