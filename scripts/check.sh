#!/bin/sh
# check.sh - the README's test command: install what is needed, build, and
# run the whole test suite on a fresh Debian 12 machine (as root).
#
#   scripts/check.sh            normal build + make check, sanitizer build +
#                               make check, make distcheck
#   CHECK_STEPS="normal asan"   run only some steps (normal asan distcheck fuzz)
#
# Build trees go to build-ci/ (ignored by git).  Exit status: 0 when every
# step passed.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
steps=${CHECK_STEPS:-normal asan fuzz distcheck}
jobs=${JOBS:-2}
t_start=$(date +%s)
summary=""

note() { printf '\n==== %s ====\n' "$*"; }
record() { summary="$summary$(printf '%-10s %-4s %4ss' "$1" "$2" "$3")\n"; }

run_step() {
	name=$1; shift
	t0=$(date +%s)
	if "$@"; then rc=ok; else rc=FAIL; fi
	record "$name" "$rc" $(( $(date +%s) - t0 ))
	[ "$rc" = ok ]
}

configure_in() {
	dir=$1; shift
	rm -rf "$dir" && mkdir -p "$dir" && cd "$dir" && "$top/configure" "$@" >configure.log 2>&1 ||
		{ tail -40 configure.log; return 1; }
}

step_normal() {
	note "normal build and test suite"
	configure_in "$top/build-ci/normal" &&
	make -j"$jobs" >make.log 2>&1 || { tail -60 make.log; return 1; }
	# -k: a failing directory does not hide the results of the others
	make -k -j"$jobs" check
}

step_asan() {
	note "AddressSanitizer + UndefinedBehaviorSanitizer build and test suite"
	configure_in "$top/build-ci/asan" --enable-sanitizers &&
	make -j"$jobs" >make.log 2>&1 || { tail -60 make.log; return 1; }
	# tests/lsan.supp: librelp's own leak at engine teardown (see the file)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions="$top/tests/lsan.supp":print_suppressions=0 \
		make -k -j"$jobs" check
}

step_fuzz() {
	note "libFuzzer harnesses (bounded runs)"
	configure_in "$top/build-ci/fuzz" CC=clang --enable-fuzzers &&
	make -j"$jobs" >make.log 2>&1 || { tail -60 make.log; return 1; }
	make fuzz-smoke
}

step_distcheck() {
	note "make distcheck"
	cd "$top/build-ci/normal" 2>/dev/null || { configure_in "$top/build-ci/normal" || return 1; }
	make -j"$jobs" distcheck
}

note "installing dependencies (Debian packages)"
"$top/scripts/install-deps.sh" all
note "autogen"
./autogen.sh >/dev/null 2>&1 || ./autogen.sh

# What failed, at the end where a CI log's tail shows it: the last lines of
# each failed test's log (integration and unit), from every step's tree.
report_failures() {
	find "$top/build-ci" -name '*.trs' 2>/dev/null |
		xargs -r grep -l '^:test-result: \(FAIL\|ERROR\)' 2>/dev/null | sort | head -n 12 |
	while read -r trs; do
		note "failed: ${trs#$top/build-ci/}"
		# the test's own verdict first (the tail is often the daemons' logs)
		grep -m 5 -E ': FAIL: |timed out|ERROR: |Assertion|runtime error' "${trs%.trs}.log"
		echo "----- last lines -----"
		tail -n 30 "${trs%.trs}.log"
	done
}

status=0
for s in $steps; do
	run_step "$s" "step_$s" || status=1
	cd "$top"
done
[ "$status" = 0 ] || report_failures
printf '\n==== summary (total %ss) ====\n' $(( $(date +%s) - t_start ))
printf "$summary"
exit $status
