#!/bin/sh
# fuzz-run.sh SECONDS HARNESS... - run each libFuzzer harness for SECONDS
# (from the fuzz/ build directory) on seeds made by make-corpus.py plus
# the corpus earlier runs grew (corpus/NAME), and print its exec count and
# coverage.  A crash, leak, sanitizer report or timeout fails the run; the
# input is kept as artifacts/NAME-crash-... and the tail of the log shown.
# FUZZ_JOBS=N runs N harnesses at a time (default 1: the machine is shared).
set -u
secs=$1
shift
srcdir=${srcdir:-$(dirname "$0")}
python3 "$srcdir/make-corpus.py" "$srcdir/.." seeds >/dev/null || exit 1
mkdir -p artifacts
status=0
for h in "$@"; do
	name=$(basename "$h")
	if [ ! -x "$h" ]; then
		echo "$name: not built (skipped)"
		continue
	fi
	mkdir -p "corpus/$name"
	seeds=seeds/$name
	[ -d "$seeds" ] || seeds=
	max_len=16384
	[ "$name" = fuzz_conf ] && max_len=4096
	if "$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
		-print_final_stats=1 -artifact_prefix="artifacts/$name-" "corpus/$name" $seeds \
		>"$name.log" 2>&1; then
		rc=ok
	else
		rc=FAIL
		status=1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$name.log")
	cov=$(grep -E '^#[0-9]+' "$name.log" | tail -1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\).*corp: \([0-9]*\).*/cov \1, features \2, corpus \3/p')
	printf '%-18s %-4s %ss, %s execs, %s\n' "$name" "$rc" "$secs" "${execs:-?}" "${cov:-?}"
	[ "$rc" = ok ] || { tail -40 "$name.log"; ls artifacts/ | grep "^$name-" | sed 's/^/  artifact: /'; }
done
exit $status
