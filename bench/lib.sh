# shellcheck shell=bash disable=SC2034  # sets variables for the caller
# bench/lib.sh: what run.sh, nginx.sh and ab.sh share, sourced by each:
# the real pingpong binary of a build tree, the bookkeeping that stops
# every process they start by PID, loopback ports, and reading loadgen's
# machine line. The caller sets PROG (for
# messages), BUILDDIR, KEEP, and LEFTOVER (an extended regexp of command
# lines of a stopped server's children that may be killed by name).

PIDS=()		# processes started and not yet stopped
TMP=

die() {
	echo "$PROG: $*" >&2
	exit 1
}

note() {
	echo "$PROG: $*" >&2
}

# In a build tree pingpong is libtool's wrapper, a bash script that sets
# LD_LIBRARY_PATH and execs .libs/pingpong: every handler spawn would start
# bash first (about 10 ms), which an installed handler does not pay. Run
# the real binary, with the wrapper's library path.
PINGPONG=$BUILDDIR/examples/pingpong/pingpong
HANDLER=$PINGPONG
if [ "$(head -c 2 "$PINGPONG" 2>/dev/null)" = "#!" ] &&
    [ -x "$BUILDDIR/examples/pingpong/.libs/pingpong" ]; then
	HANDLER=$BUILDDIR/examples/pingpong/.libs/pingpong
	export LD_LIBRARY_PATH="$BUILDDIR/handler/.libs${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi

# --- processes ---------------------------------------------------------------

# Children of $1, from /proc; with a second argument, zombies too.
children_of() {
	local parent=$1 zombies=${2:-} f line fields
	for f in /proc/[0-9]*/stat; do
		read -r line 2>/dev/null <"$f" || continue
		# comm may hold blanks and parentheses: skip past the last ')'
		read -r -a fields <<<"${line##*) }"
		if [ "${fields[1]}" = "$parent" ] &&
		    { [ -n "$zombies" ] || [ "${fields[0]}" != Z ]; }; then
			f=${f#/proc/}
			echo "${f%/stat}"
		fi
	done
}

forget_pid() {
	local p keep=()
	for p in "${PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	PIDS=("${keep[@]}")
}

# Whether $1 runs (a zombie does not).
alive() {
	local line
	read -r line 2>/dev/null <"/proc/$1/stat" || return 1
	line=${line##*) }
	[ "${line%% *}" != Z ]
}

# Stops $1 (TERM, then KILL after 5 s) and any child it leaves behind.
stop_pid() {
	local pid=$1 kids c i
	kids=$(children_of "$pid")
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			alive "$pid" || break
			sleep 0.05
		done
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	for c in $kids; do
		# children it left behind belong to init now: checked by name
		if alive "$c" && grep -q -E "$LEFTOVER" "/proc/$c/cmdline" \
		    2>/dev/null; then
			kill -KILL "$c" 2>/dev/null
		fi
	done
	forget_pid "$pid"
}

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		stop_pid "$p"
	done
	if [ -n "$TMP" ]; then
		if [ "$KEEP" = 1 ]; then
			note "logs kept in $TMP"
		else
			rm -rf "$TMP"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- loadgen ----------------------------------------------------------------

# The value of KEY in a loadgen machine line.
field() {
	local kv
	for kv in $2; do
		if [ "${kv%%=*}" = "$1" ]; then
			echo "${kv#*=}"
			return
		fi
	done
}

# --- ports -------------------------------------------------------------------

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A port below the ephemeral range, so no client socket can hold it.
pick_port() {
	local p i
	for ((i = 0; i < 50; i++)); do
		p=$((20000 + RANDOM % 12000))
		if port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# Waits up to 10 s for 127.0.0.1:$1 to accept, while $2 lives.
wait_port() {
	local i
	for ((i = 0; i < 200; i++)); do
		port_free "$1" || return 0
		alive "$2" || return 1
		sleep 0.05
	done
	return 1
}
