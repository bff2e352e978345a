#!/bin/sh
# run.sh: "make fuzz" for one target. Fuzzes tests/fuzz/fuzz_TARGET for
# FUZZ_SECONDS (default 30) over a corpus in the build directory,
# tests/fuzz/work/TARGET/corpus, first filled with the committed seeds
# and regression files; the source tree is only read. What libFuzzer adds
# stays there for the next run ("make clean" removes it). Prints one
# summary line; on a crash, the tail of the log and the input that
# crashed (tests/fuzz/README.md says how it becomes a regression test)
# and exits 1.
#
# Usage: run.sh TARGET, from the top build directory.
# FUZZ_SECONDS: seconds of fuzzing. FUZZ_FLAGS: more libFuzzer options.

target=${1:?usage: run.sh TARGET}
src=$(cd "$(dirname "$0")/../.." && pwd) || exit 1
secs=${FUZZ_SECONDS:-30}
prog=tests/fuzz/fuzz_$target
work=tests/fuzz/work/$target
log=$work/fuzz.log

[ -x "$prog" ] || { echo "fuzz $target: no $prog (configure --enable-fuzzing CC=clang)" >&2; exit 1; }
mkdir -p "$work/corpus" "$work/artifacts" || exit 1
for f in "$src/tests/fuzz/corpus/$target"/* "$src/tests/fuzz/regress/$target"/*; do
	[ -f "$f" ] && cp "$f" "$work/corpus/"
done
dict=
[ -f "$src/tests/fuzz/$target.dict" ] && dict="-dict=$src/tests/fuzz/$target.dict"

# -timeout: an input that takes 10 s is a hang, reported like a crash.
# UBSan aborts (-fno-sanitize-recover), so it counts as a crash too.
# shellcheck disable=SC2086
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
"$prog" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$work/artifacts/" $dict $FUZZ_FLAGS \
	"$work/corpus" >"$log" 2>&1
rc=$?

# The last status line ("#N DONE cov: C ft: F corp: ...") and exec/s.
last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
runs=$(printf '%s\n' "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
cov=$(printf '%s\n' "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
ft=$(printf '%s\n' "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
corp=$(printf '%s\n' "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log")
if [ "$rc" -eq 0 ]; then
	echo "fuzz $target: ok, ${took:-?} s, ${runs:-?} runs, ${eps:-?} exec/s, cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?} files ($log)"
	exit 0
fi
echo "fuzz $target: FAILED (exit $rc) after ${runs:-?} runs; log $log" >&2
tail -n 40 "$log" | sed 's/^/  /' >&2
sed -n 's/.*Test unit written to \(.*\)$/fuzz '"$target"': input: \1/p' "$log" >&2
exit 1
