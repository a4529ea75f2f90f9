#!/bin/bash
# clickhouse-ingest.sh BUILDDIR - hvtrail's ingest into ClickHouse next to
# bare ClickHouse ingest of the same rows, in one run, interleaved.
#
# Starts its own clickhouse-server on 127.0.0.1 (fresh data directory) and
# runs ROUNDS rounds of four measurements, each into a fresh database:
#   e2e     N events: hvtrail emit -> in_local -> forwarder spool -> RELP/TLS
#           -> collector inbox -> indexer -> idx_clickhouse, timed from the
#           first event emitted until all N are in ClickHouse
#   e2e-sq  the same pipeline into idx_sqlite, for context: what the path
#           before the index allows on this machine
#   store   the same events through the plugin's store() alone (idx_fill,
#           batches of BATCH): the time spent inside store()
#   bare    the rows store() wrote (exported from round 1), sent by a bare
#           libcurl client in BATCH-row JSONEachRow INSERTs over one
#           keep-alive connection into a table of the same definition
# and prints rows/s per round, the medians and the ratios to bare.
# Prints, never fails on time.  Env: N (200000), ROUNDS (5), BATCH (10000),
# SIZE (bytes of padding per event, 300), E2E (1; 0: the end-to-end runs only
# in round 1, which makes the events, for quick store()/bare comparisons).
set -u
B=$(cd "${1:?usage: clickhouse-ingest.sh BUILDDIR}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
HVTRAIL_PLUGIN_PATH=$(ls -d "$B"/plugins/*/.libs | tr '\n' ':')
export HVT_BUILDDIR=$B HVT_SRCDIR=$SRC HVTRAIL_PLUGIN_PATH
. "$SRC/tests/lib/common.sh"
. "$SRC/tests/lib/pki.sh"
. "$SRC/tests/lib/hvtrail.sh"
. "$SRC/tests/lib/clickhouse.sh"

N=${N:-200000} ROUNDS=${ROUNDS:-5} BATCH=${BATCH:-10000} SIZE=${SIZE:-300} E2E=${E2E:-1}
BARE=$B/bench/ch_bare_insert
FILL=$B/plugins/idx_clickhouse/idx_fill
COLS="host, stream, seq, ts_us, type, severity, vm_name, vm_uuid, source, indexed_us, verdict, verdict_note, peer, link, collector, cursor, raw"
require_clickhouse
require_cmd certtool
require_bin "$FORWARDER" "$COLLECTOR" "$HVTRAIL" "$BARE" "$FILL"

ch_node ch
ch_start ch
URL=$(ch_url ch)
loaded() { [ "$(ch_q ch "SELECT count() FROM $1.events WHERE type = 'load.event'")" -ge "$2" ]; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }
# poll CMD...: every 20 ms until it succeeds (finer than wait_until's 100 ms
# steps, which would show in the times); gives up after 10 minutes.
poll() {
	local deadline
	deadline=$(_deadline 600)
	until "$@"; do
		_past "$deadline" && fail "gave up waiting for: $*"
		sleep 0.02
	done
}

# Each sets its time in seconds in T (not run in $(...): the processes it
# starts must stay known to the cleanup trap of this shell).
e2e() {
	local r=$1 db=e2e_$1 t0 t1
	start_ch_collector "col$r" "$URL" "database = $db" "flush_interval = 1s" "[collector]" "batch_size = $BATCH"
	start_load_forwarder "fwd$r" hv1 "127.0.0.1:${COL_PORT[col$r]}"
	t0=$EPOCHREALTIME
	emit_load "fwd$r" "$N" --size "$SIZE"
	poll loaded "$db" "$N"
	t1=$EPOCHREALTIME
	stop_bg "emit-fwd$r" || fail "hvtrail emit failed"
	[ "$(ch_q ch "SELECT count() FROM $db.events FINAL WHERE type = 'load.event'")" -eq "$N" ] || fail "e2e: not $N events"
	stop_bg "fwd$r"
	stop_bg "col$r"
	T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

sqlite_has() {
	local n
	n=$("$HVTRAIL" stats --db "${COL_DB[$1]}" --host hv1.test -o json 2>/dev/null | json_field 'e["events"]')
	[ "${n:-0}" -ge "$2" ]
}

e2e_sqlite() {
	local r=$1 t0 t1
	start_collector "sq$r" "[collector]" "batch_size = $BATCH"
	start_load_forwarder "fsq$r" hv1 "127.0.0.1:${COL_PORT[sq$r]}"
	t0=$EPOCHREALTIME
	emit_load "fsq$r" "$N" --size "$SIZE"
	poll sqlite_has "sq$r" $((N + 1))     # + forwarder.started
	t1=$EPOCHREALTIME
	stop_bg "emit-fsq$r" || fail "hvtrail emit failed"
	stop_bg "fsq$r"
	stop_bg "sq$r"
	T=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
}

store() {
	local db=fill_$1
	printf '[idx_clickhouse]\nurl = %s\ndatabase = %s\n' "$URL" "$db" >"$WORK/$db.conf"
	"$FILL" "$WORK/$db.conf" "$BATCH" <"$WORK/events.jsonl" 2>"$WORK/$db.log" || fail "idx_fill: $(tail -3 "$WORK/$db.log")"
	T=$(sed -n 's/.*(store() \([0-9.]*\) s).*/\1/p' "$WORK/$db.log")
}

bare() {
	local db=bare_$1
	ch_q ch "CREATE DATABASE $db" && ch_q ch "CREATE TABLE $db.events AS fill_1.events" || fail "cannot create $db"
	"$BARE" "$URL" "$db.events" "$WORK/rows.jsonl" "$BATCH" >"$WORK/$db.out" || fail "bare insert failed"
	T=$(sed -n 's/.* rows in \([0-9.]*\) s/\1/p' "$WORK/$db.out")
}

say "ClickHouse $(ch_q ch 'SELECT version()'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); N=$N events of ~$((SIZE + 330)) bytes, batches of $BATCH, $ROUNDS rounds"
printf '%-6s %12s %12s %12s %12s\n' round e2e/s e2e-sq/s 'store()/s' bare/s | tee "$WORK/table" >&9
for r in $(seq "$ROUNDS"); do
	te=- tq=-
	if [ "$E2E" = 1 ] || [ "$r" = 1 ]; then
		e2e "$r"; te=$(rate "$N" "$T")
	fi
	if [ "$E2E" = 1 ]; then
		e2e_sqlite "$r"; tq=$(rate "$N" "$T")
	fi
	if [ "$r" = 1 ]; then   # the same events and rows for every later measurement
		ch_q ch "SELECT raw FROM e2e_1.events FINAL WHERE type = 'load.event' ORDER BY seq FORMAT TSVRaw" >"$WORK/events.jsonl"
	fi
	store "$r"; ts=$T
	if [ "$r" = 1 ]; then
		curl -sS "$URL?output_format_json_quote_64bit_integers=0" \
			--data-binary "SELECT $COLS FROM fill_1.events ORDER BY cursor FORMAT JSONEachRow" >"$WORK/rows.jsonl"
		say "rows: $(wc -l <"$WORK/rows.jsonl"), $(($(wc -c <"$WORK/rows.jsonl") / N)) bytes each as JSONEachRow"
	fi
	bare "$r"; tb=$T
	printf '%-6s %12s %12s %12s %12s\n' "$r" "$te" "$tq" "$(rate "$N" "$ts")" "$(rate "$N" "$tb")" |
		tee -a "$WORK/table" >&9
done
"$PYTHON" - "$WORK/table" <<'PY' >&9
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()[1:]]
med = [statistics.median(float(r[i]) for r in rows if r[i] != "-") if any(r[i] != "-" for r in rows) else 0
       for i in (1, 2, 3, 4)]
print("%-6s %12.0f %12.0f %12.0f %12.0f" % ("median", *med))
print("ratio to bare ClickHouse ingest: store() %.2f, end to end %.2f (goal >= 0.8)" % (med[2] / med[3], med[0] / med[3]))
# The load of a shared machine drifts between rounds; each round's three runs
# are back to back, so the ratio within a round is the steadier figure.
pair = statistics.median(float(r[3]) / float(r[4]) for r in rows)
print("median of the per-round ratios store()/bare: %.2f" % pair)
if med[1]:
    print("end to end into ClickHouse / into SQLite on the same path: %.2f" % (med[0] / med[1]))
PY
