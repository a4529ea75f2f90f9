#!/bin/bash
# qmp-idle.sh - what the forwarder costs a host where nothing happens.
#
#   bench/qmp-idle.sh                 (from the source tree, after make)
#   HVT_BUILDDIR=DIR VMS=100 IDLE_S=60 bench/qmp-idle.sh
#
# VMS real QEMU processes (-machine none, TCG: a monitor is all that is
# needed, and 100 booted guests would measure QEMU, not us) each expose one
# QMP socket in the forwarder's socket_dir.  A real forwarder connects to all
# of them (capabilities, query-name/-uuid, migration events on) and ships
# their vm.started events over RELP/TLS to a real collector.  Once every VM
# is in the trail the forwarder is left alone for IDLE_S seconds and the
# script prints its CPU share over that window and its memory:
#   RSS          resident set (what `ps` shows), shared library pages included
#   private      Private_Clean + Private_Dirty (smaps_rollup): what this
#                process alone costs the host
#   PSS          proportional set size
# next to the issue's targets (5 MiB RSS, 0.5 % CPU).  Never a pass/fail on
# a number; exit status 0 unless something broke.
. "${HVT_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests/lib/common.sh"
. "$HVT_TESTLIB/pki.sh"
. "$HVT_TESTLIB/hvtrail.sh"

VMS=${VMS:-100}
IDLE_S=${IDLE_S:-60}
QEMU=${QEMU:-qemu-system-x86_64}
bench_prologue

start_collector col
# the forwarder as shipped (spool fsync on), watching the QMP directory
{
	forwarder_conf fwd hv1 "127.0.0.1:${COL_PORT[col]}" | sed '/^fsync = never/d'
	printf '%s\n' "[in_qmp]" "socket_dir = $WORK/qmp"
} >"$WORK/fwd.conf"
start_bg fwd "$FORWARDER" -c "$WORK/fwd.conf"

mkdir -p "$WORK/qmp"
say "starting $VMS QEMU monitors (-machine none) ..."
for i in $(seq -w 1 "$VMS"); do
	start_bg "qemu-$i" "$QEMU" -name "idle-$i" -machine none -accel tcg -display none \
		-nodefaults -qmp "unix:$WORK/qmp/idle-$i.sock,server=on,wait=off"
done
wait_until 120 "all $VMS VMs are in the trail" has_events col "$VMS" --type vm.started

fwd=$(pid_of fwd)
ticks() { awk '{ print $14 + $15 }' "/proc/$fwd/stat"; }
sleep 5       # let the connect burst's allocations settle before sampling
t0=$EPOCHREALTIME c0=$(ticks)
sleep "$IDLE_S"
t1=$EPOCHREALTIME c1=$(ticks)
hz=$(getconf CLK_TCK)
conns=$(find "/proc/$fwd/fd" -lname 'socket:*' 2>/dev/null | wc -l)
threads=$(awk '/^Threads:/ { print $2 }' "/proc/$fwd/status")

"$PYTHON" - "$fwd" "$t0" "$t1" "$c0" "$c1" "$hz" "$VMS" "$conns" "$threads" <<'PY'
import sys
pid, t0, t1, c0, c1, hz, vms, conns, threads = sys.argv[1:]
cpu = (float(c1) - float(c0)) / float(hz) / (float(t1) - float(t0)) * 100
def kib(path, keys):
    out = {}
    for line in open(path):
        k, _, v = line.partition(":")
        if k in keys:
            out[k] = out.get(k, 0) + int(v.split()[0])
    return out
st = kib("/proc/%s/status" % pid, ("VmRSS", "VmHWM", "RssAnon", "RssFile"))
sm = kib("/proc/%s/smaps_rollup" % pid, ("Pss", "Private_Clean", "Private_Dirty"))
mib = lambda k: k / 1024.0
print("forwarder idle with %s QMP monitors connected (%s sockets open, %s threads), %.0f s window:"
      % (vms, conns, threads, float(t1) - float(t0)))
print("  CPU          %6.3f %%      target <= 0.5 %%   ratio %.2f" % (cpu, cpu / 0.5))
print("  RSS          %6.1f MiB    target <= 5 MiB   ratio %.2f  (anon %.1f, file %.1f)"
      % (mib(st["VmRSS"]), mib(st["VmRSS"]) / 5, mib(st["RssAnon"]), mib(st["RssFile"])))
print("  peak RSS     %6.1f MiB" % mib(st["VmHWM"]))
print("  private      %6.1f MiB    ratio %.2f  (what only this process costs)"
      % (mib(sm["Private_Clean"] + sm["Private_Dirty"]),
         mib(sm["Private_Clean"] + sm["Private_Dirty"]) / 5))
print("  PSS          %6.1f MiB" % mib(sm["Pss"]))
PY
