#!/bin/bash
# alert-latency.sh - from a QEMU event's own timestamp to the start of the
# alert action, at light load (docs/alerting.md).
#
#   bench/alert-latency.sh            (from the source tree, after make)
#   HVT_BUILDDIR=DIR N=200 PACE=0.1 bench/alert-latency.sh
#
# A TCG guest is stopped and continued through its control monitor every
# PACE seconds (N QMP events: STOP, RESUME).  A real forwarder (in_qmp)
# turns them into vm.paused/vm.resumed with QEMU's timestamp as ts and
# ships them over RELP/TLS to a real collector, both with their default
# batching and fsync settings.  A rule on vm.* runs an act_exec program that
# writes its own start time (bash's $EPOCHREALTIME) next to the event's
# HVT_EVENT_TS_US.  Printed: p50/p90/p99/max of
#   ts -> action start   what the operator waits for (includes the program's
#                        spawn: /bin/sh, then bash)
#   ts -> attempt start  the collector's own view (alert.delivered latency_ms)
# Never a pass/fail on time; exit status 0 unless something broke.
. "${HVT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$HVT_TESTLIB/pki.sh"
. "$HVT_TESTLIB/qemu.sh"
. "$HVT_TESTLIB/hvtrail.sh"

N=${N:-200}
PACE=${PACE:-0.1}
ACCEL=${ACCEL:-tcg}
require_cmd as ld "$PYTHON"
bench_prologue

cat >"$WORK/stamp.sh" <<SH
#!/bin/bash
printf '%s %s\n' "\$HVT_EVENT_TS_US" "\$EPOCHREALTIME" >>"$WORK/stamps"
SH
chmod +x "$WORK/stamp.sh"

# the collector and forwarder as shipped: no test shortcuts (batch_delay,
# fsync = never)
hvt_pki
port=$(free_port)
{
	collector_conf col "$port" | sed '/^batch_delay/d'
	printf '%s\n' "[alert:lifecycle]" "type = vm.paused, vm.resumed" "actions = exec:stamp" \
		"[act_exec:stamp]" "command = $WORK/stamp.sh"
} >"$WORK/col.conf"
start_bg col "$COLLECTOR" -c "$WORK/col.conf"
COL_DB[col]=$WORK/col/trail.db
wait_until 10 "the collector listens" port_open "$port"
forwarder_conf fwd hv1 "127.0.0.1:$port" | sed '/^fsync = never/d' >"$WORK/fwd.conf"
printf '%s\n' "[in_qmp]" "socket_dir = $WORK/qmp" >>"$WORK/fwd.conf"
start_bg fwd "$FORWARDER" -c "$WORK/fwd.conf"

GUEST_IMG=$WORK/guest.img
build_guest "$GUEST_IMG" 1
start_vm bench "$WORK/qmp"
wait_guest_ready bench 30
wait_until 15 "the forwarder saw the VM" has_events col 1 --type vm.started

say "driving $N QMP events (stop/cont every ${PACE}s, $ACCEL guest) ..."
"$PYTHON" - "$(ctl_sock bench)" "$N" "$PACE" "$HVT_TESTLIB" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[4])
from qmp import QMP
sock, n, pace = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
with QMP(sock) as q:
    for i in range(n):
        q.cmd("stop" if i % 2 == 0 else "cont")
        time.sleep(pace)
PY
stamped() { [ "$(wc -l <"$WORK/stamps" 2>/dev/null || echo 0)" -ge "$N" ]; }
wait_until 60 "all $N actions ran" stamped
delivered() { [ "$(trail col --host '(collector)' --type alert.delivered | wc -l)" -ge "$N" ]; }
wait_until 30 "all $N deliveries are indexed" delivered
trail col --host '(collector)' --type alert.delivered >"$WORK/delivered.json"
trail col --host '(collector)' --type alert.fired >"$WORK/fired.json"
trail col --type 'vm.*' >"$WORK/events.json"

"$PYTHON" - "$WORK/stamps" "$WORK/delivered.json" "$N" "$PACE" "$WORK/fired.json" "$WORK/events.json" <<'PY'
import json, sys
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]
def show(name, v):
    print("  %-22s n=%d  p50 %6.1f ms  p90 %6.1f ms  p99 %6.1f ms  max %6.1f ms" %
          (name, len(v), pct(v, 50), pct(v, 90), pct(v, 99), max(v)))
stamps = [l.split() for l in open(sys.argv[1])]
start = [(float(s) * 1e6 - int(ts)) / 1000.0 for ts, s in stamps]
coll = [json.loads(l)["data"]["latency_ms"] for l in open(sys.argv[2])]
fired = [json.loads(l)["data"]["latency_ms"] for l in open(sys.argv[5])]
def us(t):      # RFC 3339 with microseconds, UTC
    import calendar, time
    return calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S")) * 1e6 + int(t[20:26])
fwd = [(us(e["received"]) - us(e["ts"])) / 1000.0 for e in map(json.loads, open(sys.argv[6]))
       if e["type"] in ("vm.paused", "vm.resumed")]
print("alert latency, QEMU event ts -> action, %s events at %.0f/s (light load):" %
      (sys.argv[3], 1 / float(sys.argv[4])))
show("ts -> action start", start)
show("ts -> attempt start", coll)
print("where the time goes:")
show("ts -> forwarder", fwd)
show("ts -> alert decision", fired)
PY
stop_bg qemu-bench
