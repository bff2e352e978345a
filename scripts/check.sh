#!/usr/bin/env bash
# check.sh: installs the build dependencies if missing, builds torpor in the
# source tree and runs "make check" (unit and end-to-end tests). Prints the
# logs of failing tests, then as its last line "N passed, N failed[, N
# skipped]". Exits non-zero when the build or any test failed.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

summary() {
	# summary PASSED FAILED SKIPPED
	if [ "$3" -gt 0 ]; then
		echo "$1 passed, $2 failed, $3 skipped"
	else
		echo "$1 passed, $2 failed"
	fi
}

build_failed() {
	echo "check.sh: $1 failed" >&2
	summary 0 1 0
	exit 1
}

./scripts/install-deps.sh || build_failed "installing the dependencies"
./autogen.sh || build_failed "autogen.sh"
./configure || build_failed "configure"
make -j2 || build_failed "make"

# Results of an earlier run must not be counted.
rm -f test-suite.log
make -j2 check
check_status=$?

# "# PASS:  N" and friends from an automake summary.
count() {
	local n
	n=$(sed -n "s/^# $2: *\([0-9][0-9]*\).*/\1/p" "$1" 2>/dev/null |
	    head -n 1)
	echo "${n:-0}"
}

passed=0
failed=0
skipped=0
add_counts() {
	[ -f "$1" ] || return 0
	passed=$(( passed + $(count "$1" PASS) + $(count "$1" XFAIL) ))
	failed=$(( failed + $(count "$1" FAIL) + $(count "$1" ERROR) +
	    $(count "$1" XPASS) ))
	skipped=$(( skipped + $(count "$1" SKIP) ))
}
add_counts test-suite.log

# The whole suite once more under AddressSanitizer and UBSan, built from
# the distribution tree (so it also checks that the tarball is complete),
# unless SANITIZERS=no.
san_status=0
if [ "${SANITIZERS:-yes}" != no ]; then
	rm -rf _san
	mkdir -p _san
	if make distdir distdir=_san/src >/dev/null &&
	    mkdir -p _san/build && (cd _san/build &&
	    ../src/configure --enable-sanitizers >/dev/null &&
	    make -j2 >/dev/null); then
		(cd _san/build && make -j2 check)
		san_status=$?
		add_counts _san/build/test-suite.log
		echo "check.sh: sanitizer pass (ASan+UBSan) exit status $san_status"
	else
		echo "check.sh: the sanitizer build failed" >&2
		failed=$(( failed + 1 ))
	fi
fi

# Tail of each failing test's log (the .trs next to it has the verdict).
while IFS= read -r trs; do
	if grep -Eq '^:global-test-result: (FAIL|ERROR|XPASS)' "$trs"; then
		log="${trs%.trs}.log"
		echo "=== ${log} (last 60 lines) ==="
		tail -n 60 "$log" 2>/dev/null
	fi
done < <(find . -name '*.trs' -not -path './.git/*' 2>/dev/null | sort)

if [ "$check_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "check.sh: make check exited with status $check_status" >&2
	failed=1
fi
if [ "$san_status" -ne 0 ] && [ "$failed" -eq 0 ]; then
	echo "check.sh: the sanitizer make check exited with status" \
	    "$san_status" >&2
	failed=1
fi

summary "$passed" "$failed" "$skipped"
[ "$failed" -eq 0 ]
