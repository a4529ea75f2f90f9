#!/bin/bash
# pipeline.sh BUILDDIR - issue 9's throughput comparison, side by side.
#
# In one run, interleaved and repeated (RUNS, default 3), with N events of
# ~300 bytes of JSON (default 200000):
#   hvtrail   hvtrail emit -> in_local -> forwarder -> RELP/TLS -> collector
#             -> SQLite, timed until the last event is stored; loss and
#             duplicate check.
#   rsyslog   the same JSON as syslog lines: imptcp -> omrelp (TLS, window
#             4096) -> imrelp (TLS) -> omfile, timed until the last line is
#             written; loss and duplicate check.
#   ceiling   the rows hvtrail stored, decoded first, then only store()
#             into a fresh index in 10,000-row batches (bench/index_ceiling).
# Prints each run, then medians (min-max), the ratios hvtrail/rsyslog and
# hvtrail/ceiling, CPU seconds and peak RSS of each process.  Benchmarks
# print; they never fail on a number.  Needs rsyslog + rsyslog-relp,
# certtool, sqlite3 (scripts/install-deps.sh).
set -euo pipefail
B=$(cd "${1:?usage: pipeline.sh BUILDDIR}" && pwd)
SRC=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-200000}
RUNS=${RUNS:-3}
PY=/usr/bin/python3
export HVTRAIL_PLUGIN_PATH=$(ls -d "$B"/plugins/*/.libs | tr '\n' ':')
D=$(mktemp -d /tmp/hvt-bench.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	[ "${KEEP:-0}" = 1 ] && echo "kept $D" || rm -rf "$D"
}
trap cleanup EXIT

source "$SRC/tests/lib/pki.sh"
make_pki "$D/pki" >/dev/null
PKI=$D/pki

free_port() { $PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { for _ in $(seq 200); do port_open "$1" && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }
now() { date +%s.%N; }
cpu_s() { awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$1/stat"; }
hwm_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# The events: the same JSON bodies for both pipelines (data.n numbers them).
$PY - "$N" "$D/events.jsonl" "$D/syslog.txt" <<'PYEOF'
import sys
n = int(sys.argv[1])
with open(sys.argv[2], "w") as ev, open(sys.argv[3], "w") as sl:
    for i in range(n):
        body = ('{"type":"bench.event","vm":{"name":"vm-%04d","uuid":"00000000-0000-4000-8000-%012d"},'
                '"msg":"bench event %d","data":{"n":%d,"pad":"%s"}}' % (i % 2000, i % 2000, i, i, "x" * 120))
        ev.write(body + "\n")
        sl.write("<134>Nov 22 10:00:00 hv1 hvbench: %s\n" % body)
PYEOF

run_hvtrail() {
	local r=$1 dir=$D/hvt$r port
	port=$(free_port)
	mkdir -p "$dir"
	cat >"$dir/col.conf" <<-CONF
	[collector]
	state_dir = $dir/col
	[listen]
	address = 127.0.0.1
	port = $port
	tls_ca = $PKI/ca.pem
	tls_cert = $PKI/collector.pem
	tls_key = $PKI/collector.key
	permitted_peers = hv1.test
	[idx_sqlite]
	path = $dir/col/trail.db
	CONF
	cat >"$dir/fwd.conf" <<-CONF
	[forwarder]
	host = hv1.test
	state_dir = $dir/fwd
	[in_local]
	socket = $dir/local.sock
	[out_relp]
	target = 127.0.0.1:$port
	permitted_peers = collector.test
	tls_ca = $PKI/ca.pem
	tls_cert = $PKI/hv1.pem
	tls_key = $PKI/hv1.key
	CONF
	"$B/collector/hvtrail-collector" -c "$dir/col.conf" >"$dir/col.log" 2>&1 & local cp=$!
	PIDS+=("$cp")
	wait_port "$port"
	"$B/forwarder/hvtrail-forwarder" -c "$dir/fwd.conf" >"$dir/fwd.log" 2>&1 & local fp=$!
	PIDS+=("$fp")
	for _ in $(seq 200); do [ -S "$dir/local.sock" ] && break; sleep 0.05; done
	local f0 c0 t0 t1
	f0=$(cpu_s "$fp"); c0=$(cpu_s "$cp")
	t0=$(now)
	"$B/cli/hvtrail" emit --socket "$dir/local.sock" --stdin <"$D/events.jsonl" 2>"$dir/emit.log" ||
		{ echo "emit failed: $(cat "$dir/emit.log")" >&2; exit 1; }
	local count=0
	for _ in $(seq 3000); do
		count=$(sqlite3 "$dir/col/trail.db" "select count(*) from events where type = 'bench.event'" 2>/dev/null || echo 0)
		[ "$count" -ge "$N" ] && break
		sleep 0.1
	done
	# the end is when the last event was stored, not when we noticed
	t1=$(sqlite3 "$dir/col/trail.db" "select max(indexed_us) / 1e6 from events")
	local distinct
	distinct=$(sqlite3 "$dir/col/trail.db" "select count(distinct json_extract(raw, '$.data.n')) from events where type = 'bench.event'")
	printf 'hvtrail %d %.0f %s %s %s %s %d %d\n' "$r" "$(echo "$N / ($t1 - $t0)" | bc -l)" \
		"$(echo "$(cpu_s "$fp") - $f0" | bc)" "$(echo "$(cpu_s "$cp") - $c0" | bc)" \
		"$(hwm_mb "$fp")" "$(hwm_mb "$cp")" "$((N - distinct))" "$((count - distinct))"
	"$B/cli/hvtrail" query --db "$dir/col/trail.db" -t bench.event -o json >"$D/rows.jsonl"
	stop "$fp"; stop "$cp"
}

run_rsyslog() {
	local r=$1 dir=$D/rsy$r in_port relp_port
	in_port=$(free_port); relp_port=$(free_port)
	mkdir -p "$dir/fw" "$dir/cw"
	cat >"$dir/col.conf" <<-CONF
	global(workDirectory="$dir/cw" processInternalMessages="on")
	module(load="imrelp")
	input(type="imrelp" address="127.0.0.1" port="$relp_port" ruleset="col" tls="on"
	      tls.caCert="$PKI/ca.pem" tls.myCert="$PKI/collector.pem" tls.myPrivKey="$PKI/collector.key"
	      tls.authMode="name" tls.permittedPeer=["hv1.test"])
	template(name="msgonly" type="string" string="%msg:2:\$%\n")
	ruleset(name="col" queue.type="LinkedList" queue.size="100000" queue.dequeueBatchSize="1024"
	        queue.timeoutEnqueue="600000") {
	  action(type="omfile" file="$dir/out.log" template="msgonly" ioBufferSize="256k")
	}
	CONF
	cat >"$dir/fwd.conf" <<-CONF
	global(workDirectory="$dir/fw" processInternalMessages="on")
	module(load="imptcp")
	module(load="omrelp")
	input(type="imptcp" address="127.0.0.1" port="$in_port" ruleset="fwd")
	ruleset(name="fwd" queue.type="LinkedList" queue.size="100000" queue.dequeueBatchSize="1024"
	        queue.timeoutEnqueue="600000") {
	  action(type="omrelp" target="127.0.0.1" port="$relp_port" tls="on"
	         tls.caCert="$PKI/ca.pem" tls.myCert="$PKI/hv1.pem" tls.myPrivKey="$PKI/hv1.key"
	         tls.authMode="name" tls.permittedPeer=["collector.test"] windowSize="4096"
	         queue.type="LinkedList" queue.size="100000" queue.dequeueBatchSize="1024"
	         queue.timeoutEnqueue="600000")
	}
	CONF
	rsyslogd -n -f "$dir/col.conf" -i "$dir/col.pid" >"$dir/col.log" 2>&1 & local cp=$!
	PIDS+=("$cp")
	wait_port "$relp_port"
	rsyslogd -n -f "$dir/fwd.conf" -i "$dir/fwd.pid" >"$dir/fwd.log" 2>&1 & local fp=$!
	PIDS+=("$fp")
	wait_port "$in_port"
	local f0 c0 t0 t1 lines=0
	f0=$(cpu_s "$fp"); c0=$(cpu_s "$cp")
	t0=$(now)
	cat "$D/syslog.txt" >"/dev/tcp/127.0.0.1/$in_port"
	for _ in $(seq 3000); do
		lines=$(wc -l <"$dir/out.log" 2>/dev/null || echo 0)
		[ "$lines" -ge "$N" ] && break
		sleep 0.1
	done
	t1=$(stat -c %.9Y "$dir/out.log")
	local distinct
	distinct=$($PY -c 'import json, sys; print(len({json.loads(l)["data"]["n"] for l in open(sys.argv[1])}))' "$dir/out.log")
	printf 'rsyslog %d %.0f %s %s %s %s %d %d\n' "$r" "$(echo "$N / ($t1 - $t0)" | bc -l)" \
		"$(echo "$(cpu_s "$fp") - $f0" | bc)" "$(echo "$(cpu_s "$cp") - $c0" | bc)" \
		"$(hwm_mb "$fp")" "$(hwm_mb "$cp")" "$((N - distinct))" "$((lines - distinct))"
	stop "$fp"; stop "$cp"
}

run_ceiling() {
	local r=$1 out
	rm -f "$D/ceiling.db"*
	out=$("$B/bench/index_ceiling" idx_sqlite "[idx_sqlite]\\npath = $D/ceiling.db" "$D/rows.jsonl")
	printf 'ceiling %d %.0f - - - - 0 0\n' "$r" "$(echo "$out" | awk '{ print $3 }')"
}

echo "N=$N events of ~300 bytes, $RUNS interleaved runs, $(nproc) cores, $(uname -r)"
printf '%-8s %3s %10s %8s %8s %8s %8s %6s %6s\n' variant run "events/s" "fwd cpu" "col cpu" "fwd MiB" "col MiB" lost dup
for r in $(seq "$RUNS"); do
	run_hvtrail "$r" | tee -a "$D/results"
	run_rsyslog "$r" | tee -a "$D/results"
	run_ceiling "$r" | tee -a "$D/results"
done | awk '{ printf "%-8s %3s %10s %8s %8s %8s %8s %6s %6s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }'
$PY - "$D/results" "$N" <<'PYEOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
n = int(sys.argv[2])
def col(v, i):
    return [float(r[i]) for r in rows if r[0] == v and r[i] != "-"]
med = {}
print("\nmedians (min-max):")
for v in ("hvtrail", "rsyslog", "ceiling"):
    rate = col(v, 2)
    med[v] = statistics.median(rate)
    extra = ""
    if v != "ceiling":
        extra = ("  cpu fwd %.2f s (%.1f us/event), col %.2f s (%.1f us/event), peak RSS fwd %.1f MiB, col %.1f MiB"
                 % (statistics.median(col(v, 3)), statistics.median(col(v, 3)) / n * 1e6,
                    statistics.median(col(v, 4)), statistics.median(col(v, 4)) / n * 1e6,
                    max(col(v, 5)), max(col(v, 6))))
    print("  %-8s %9.0f events/s (%.0f-%.0f)%s" % (v, med[v], min(rate), max(rate), extra))
print("\nratios: hvtrail/rsyslog = %.2f (target >= 2.0), hvtrail/ceiling = %.2f (target >= 0.8)"
      % (med["hvtrail"] / med["rsyslog"], med["hvtrail"] / med["ceiling"]))
lost = sum(int(r[7]) for r in rows if r[0] != "ceiling")
dup = sum(int(r[8]) for r in rows if r[0] != "ceiling")
print("loss/duplicates over all runs: %d lost, %d duplicated" % (lost, dup))
PYEOF
