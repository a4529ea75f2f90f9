#!/bin/bash
# journald-read.sh - the in_journald reader benchmark (see journald_read.c).
#   bench/journald-read.sh [PATH/TO/journald_read]
# N=1000000 entries (70% matching) are written once with systemd-journal-remote
# into $BENCH_DIR (default /tmp/hvt-bench-journald; reused when it holds N
# entries; KEEP=0 removes it afterwards).  Prints rates, never fails on time.
set -eu
BIN=${1:-./journald_read}
N=${N:-1000000}
DIR=${BENCH_DIR:-/tmp/hvt-bench-journald}
JR=/lib/systemd/systemd-journal-remote
[ -x "$JR" ] || { echo "journald-read: $JR is not installed (systemd-journal-remote)"; exit 77; }
mkdir -p "$DIR"
if [ "$(cat "$DIR/.entries" 2>/dev/null)" != "$N" ]; then
	rm -f "$DIR"/*.journal "$DIR/.entries"
	echo "journald-read: writing $N entries with systemd-journal-remote into $DIR ..."
	t0=$EPOCHREALTIME
	"$BIN" gen "$N" | "$JR" --output="$DIR/remote.journal" - 2>/dev/null
	echo "$N" > "$DIR/.entries"
	echo "journald-read: written in $(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s ($(du -sh "$DIR" | cut -f1))"
fi
"$BIN" "$DIR" "${ROUNDS:-3}"
[ "${KEEP:-1}" = 1 ] || rm -rf "$DIR"
