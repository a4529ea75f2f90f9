# tests/lib/colo_replay.sh - COLO end to end without KVM: the transcripts of
# a real COLO pair (QEMU 7.2 under KVM, tests/fixtures/qmp/colo-*) served by
# qmp_replay.py, one monitor socket per side, into real forwarders ("hv1"
# watches the primary's socket in $WORK/qmp1, "hv2" the secondary's in
# $WORK/qmp2) and a real collector (bash; source after common.sh, pki.sh,
# hvtrail.sh, lifecycle.sh and alert.sh).
#
# What it proves and what not: docs/HACKING.md, "Replayed QEMU".
#
#   colo_replay_banner SCENARIO      say that this is the replay variant (and
#                                    which live test covers a real pair)
#   colo_replay_forwarders TARGET    forwarders fwd1 (hv1) and fwd2 (hv2)
#   colo_replay_serve SCENARIO VM UUID
#                                    the replay server "replay": both sides'
#                                    "-mon2" monitors (the one hvtrail watched),
#                                    answered from each side's transcripts, as
#                                    QEMU -name VM -uuid UUID
#   colo_replay_go COL               once COL indexed both sides' vm.started,
#                                    start the recorded time line
#   colo_replay_finish               wait until both recordings played to
#                                    their end; fail if an event was missed
#   replay_report PYEXPR             PYEXPR on the server's report (r)
#   replayed_ms FROM TO              ms between two recorded events in QEMU's
#                                    clock as the replay rewrote it (the recorded
#                                    interval / speed); FROM and TO are
#                                    SIDE:EVENT[:status], e.g. primary:COLO_EXIT
#   ts_ms_between NAME HOST1 TYPE1 HOST2 TYPE2
#                                    ms from the one TYPE1 event on HOST1 to the
#                                    one TYPE2 event on HOST2, by their ts
#   incident NAME TYPE               the one incident TYPE the collector made
#                                    for the replayed VM (host (collector))
#   has_incident NAME TYPE           there is one (for wait_until)
# Pages: tests/lib/alert.sh's paging_rules (the shipped rules, paging
# act_exec) and npages.
# COLO_REPLAY_SPEED compresses the recorded time line: 4, divided by
# HVT_TIMEOUT_FACTOR (a slow build gets the recorded gaps between events -
# the time in which a forwarder asks about one before the next is sent -
# less compressed).
# shellcheck shell=bash

COLO_REPLAY_SPEED=${COLO_REPLAY_SPEED:-$(awk -v f="$HVT_TIMEOUT_FACTOR" 'BEGIN { s = 4 / f; printf "%g", s < 1 ? 1 : s }')}
COLO_FIXTURES=$HVT_SRCDIR/tests/fixtures/qmp

colo_replay_banner() {
	local live
	case $1 in
	colo-secondary-failover) live="e2e-colo-secondary.test and alert-colo.test" ;;
	colo-primary-failover) live=e2e-colo-primary.test ;;
	*) live=e2e-colo-request.test ;;
	esac
	say "REPLAY variant: the transcripts of a real COLO pair (QEMU 7.2 under KVM, scenario $1) served by tests/lib/qmp_replay.py at ${COLO_REPLAY_SPEED}x; no QEMU runs here ($live run a live pair where KVM is usable; $(if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then echo "/dev/kvm is here"; else echo "there is no usable /dev/kvm here"; fi))"
}

colo_replay_forwarders() {
	mkdir -p "$WORK/qmp1" "$WORK/qmp2"
	start_forwarder fwd1 hv1 "$1" "[in_qmp]" "socket_dir = $WORK/qmp1"
	start_forwarder fwd2 hv2 "$1" "[in_qmp]" "socket_dir = $WORK/qmp2"
}

# _replay_side SIDE OTHER SOCKDIR: the --serve block of one side
_replay_side() {
	local f=$COLO_FIXTURES/$COLO_REPLAY_SCENARIO
	printf '%s\n' --serve "$3/$COLO_REPLAY_VM.sock" "$f-$1-mon2.jsonl" \
		--answers "$f-$1.jsonl" --changes-from "$f-$2.jsonl" \
		--answer "query-name={\"name\": \"$COLO_REPLAY_VM\"}" \
		--answer "query-uuid={\"UUID\": \"$COLO_REPLAY_UUID\"}" \
		--answer "migrate-set-capabilities={}"
}

# The recorded time line's length (s): until the last record of any file.
_replay_span() {
	"$PYTHON" -c '
import json, sys
print(max(json.loads(l)["t"] for f in sys.argv[1:] for l in open(f) if l.strip()))' \
		"$COLO_FIXTURES/$COLO_REPLAY_SCENARIO"-*.jsonl
}

colo_replay_serve() {
	COLO_REPLAY_SCENARIO=$1 COLO_REPLAY_VM=$2 COLO_REPLAY_UUID=$3
	local f args
	for f in "$COLO_FIXTURES/$1"-{primary,secondary}{,-mon2}.jsonl; do
		[ -f "$f" ] || hard_error "no transcript $f"
	done
	mapfile -t args < <(_replay_side primary secondary "$WORK/qmp1"; _replay_side secondary primary "$WORK/qmp2")
	COLO_REPLAY_SPAN=$(_replay_span)
	start_bg replay "$PYTHON" "$HVT_TESTLIB/qmp_replay.py" --speed "$COLO_REPLAY_SPEED" \
		--start signal --report "$WORK/replay.json" "${args[@]}"
	wait_until 10 "the replayed monitors listen" test -S "$WORK/qmp2/$2.sock"
}

replay_report() {
	"$PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$WORK/replay.json" "$1"
}

colo_replay_go() {
	wait_until 20 "both forwarders met their side (vm.started indexed)" has_events "$1" 2 --type vm.started
	kill -USR1 "$(pid_of replay)"
	say "recorded time line started: ${COLO_REPLAY_SPAN}s of QEMU's at ${COLO_REPLAY_SPEED}x"
}

colo_replay_finish() {
	local bound
	bound=$(awk -v s="$COLO_REPLAY_SPAN" -v x="$COLO_REPLAY_SPEED" 'BEGIN { printf "%d", s / x + 10 }')
	wait_until "$bound" "both recordings played to their end" replay_report 'r["finished"]'
	replay_report 'all(m["events_missed"] == 0 and m["events_sent"] == m["events_total"] and m["events_unreadable"] == 0 for m in r["monitors"])' ||
		fail "the forwarders did not get every recorded event: $(cat "$WORK/replay.json")"
	say "every recorded event was sent; commands without a recorded answer: $("$PYTHON" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("; ".join("%s %s" % (m["transcript"], m["unanswered"] or "none") for m in r["monitors"]))' "$WORK/replay.json")"
}

replayed_ms() {
	"$PYTHON" -c '
import json, sys
fixture, a, b, speed = sys.argv[1:]
def when(want):
    side, name, status = (want.split(":") + [""])[:3]
    path = "%s-%s-mon2.jsonl" % (fixture, side)
    for line in open(path):
        m = json.loads(line).get("msg") or {}
        if m.get("event") == name and (not status or m.get("data", {}).get("status") == status):
            return m["timestamp"]["seconds"] + m["timestamp"]["microseconds"] / 1e6
    sys.exit("no %s in %s" % (want, path))
print("%.3f" % ((when(b) - when(a)) * 1000 / float(speed)))' \
		"$COLO_FIXTURES/$COLO_REPLAY_SCENARIO" "$1" "$2" "$COLO_REPLAY_SPEED"
}

ts_ms_between() {
	local a b
	a=$(trail "$1" --host "$2" --type "$3" | json_field 'e["ts"]')
	b=$(trail "$1" --host "$4" --type "$5" | json_field 'e["ts"]')
	"$PYTHON" -c '
import sys
from datetime import datetime
t = [datetime.strptime(x, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() for x in sys.argv[1:]]
print("%.3f" % ((t[1] - t[0]) * 1000))' "$a" "$b"
}

incident() { the_event "$1" --host '(collector)' --type "$2" --vm "$COLO_REPLAY_UUID"; }
has_incident() {
	[ -f "${COL_DB[$1]}" ] && [ "$(trail "$1" --host '(collector)' --type "$2" --vm "$COLO_REPLAY_UUID" | wc -l)" -ge 1 ]
}
