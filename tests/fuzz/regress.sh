#!/bin/sh
# regress.sh: the fuzz corpora as regression tests, for "make check" (TAP).
# Runs every file of tests/fuzz/corpus/TARGET/ and tests/fuzz/regress/TARGET/
# once through tests/fuzz/fuzz_TARGET, one process and one ok line per
# file. In a plain build that program is the target with driver.c's
# main(); with --enable-fuzzing it is the libFuzzer binary, which runs
# file arguments once too. A file fails when the program exits non-zero
# (a broken FUZZ_EXPECT, a sanitizer report, a leak); its output follows
# as TAP comments.
#
# TORPOR_SRCDIR, TORPOR_BUILDDIR: set by AM_TESTS_ENVIRONMENT; default to
# this script's tree and the current directory.

src=${TORPOR_SRCDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${TORPOR_BUILDDIR:-.}

n=0
for f in "$src"/tests/fuzz/corpus/*/* "$src"/tests/fuzz/regress/*/*; do
	[ -f "$f" ] && n=$((n + 1))
done
if [ "$n" -eq 0 ]; then
	echo "1..0 # SKIP no corpus files under $src/tests/fuzz"
	exit 0
fi
echo "1..$n"

i=0
for f in "$src"/tests/fuzz/corpus/*/* "$src"/tests/fuzz/regress/*/*; do
	[ -f "$f" ] || continue
	i=$((i + 1))
	target=$(basename "$(dirname "$f")")
	kind=$(basename "$(dirname "$(dirname "$f")")")
	name="$kind/$target/$(basename "$f")"
	prog=$build/tests/fuzz/fuzz_$target
	if [ ! -x "$prog" ]; then
		echo "not ok $i - $name: no program $prog"
		continue
	fi
	# The braces: the shell's own "Aborted" goes into out too.
	out=$( { "$prog" "$f"; } 2>&1 )
	rc=$?
	if [ "$rc" -eq 0 ]; then
		echo "ok $i - $name"
	else
		echo "not ok $i - $name: exit $rc"
		printf '%s\n' "$out" | sed 's/^/# /'
	fi
done
