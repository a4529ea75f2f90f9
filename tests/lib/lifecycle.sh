# tests/lib/lifecycle.sh - assertions on the lifecycle events a collector
# indexed, for the e2e-*.test scripts (bash; source after hvtrail.sh and
# qemu.sh).
#
#   types_of NAME [QUERY OPTIONS]       the event types, in order, one line
#   expect_types NAME WANT [OPTS]       ... must be exactly WANT
#   the_event NAME [QUERY OPTIONS]      exactly one event matches: its JSON
#   check_event JSON PYEXPR WHAT        PYEXPR (e = the event, d = its data)
#                                       must be true
#   expect_exit NAME                    the background process NAME is about
#                                       to exit by itself (not a failure)
#   mig_rows NAME [OPTS]                `hvtrail migrations -o json`
# shellcheck shell=bash

types_of() {
	trail "$@" | json_field 'e["type"]' | paste -sd ' ' -
}

expect_types() {
	local name=$1 want=$2 got; shift 2
	got=$(types_of "$name" "$@")
	[ "$got" = "$want" ] || fail "events ($*): got '$got', want '$want'"
}

the_event() {
	local out n
	out=$(trail "$@" || true)   # nothing matched: exit 1, and the count below says so
	n=$(printf '%s' "$out" | grep -c . || true)
	[ "$n" -eq 1 ] || fail "want exactly one event for ($*), found $n: $out"
	printf '%s\n' "$out"
}

check_event() {
	"$PYTHON" -c '
import json, sys
e = json.loads(sys.argv[1])
d = e.get("data", {})
sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2" || fail "$3: not ($2) in $1"
}

# a field of one event's JSON: ev_field JSON PYEXPR
ev_field() {
	"$PYTHON" -c '
import json, sys
e = json.loads(sys.argv[1])
d = e.get("data", {})
print(eval(sys.argv[2]))' "$1" "$2"
}

expect_exit() { unset "_HVT_WATCH[$1]"; }

# has_exited NAME: the process is gone (condition for wait_until)
has_exited() { ! is_running "$1"; }

mig_rows() {
	local name=$1; shift
	"$HVTRAIL" migrations --db "${COL_DB[$name]}" -o json "$@"
}

# COLO: a failover that finds the VM paused mid-checkpoint reports it paused
# (service_here false); completing the failover resumes it, reported as a
# vm.resumed with data.after "colo.failover" and service_here true.  Which
# of the two happens depends on when the peer died.
#   colo_types NAME [OPTS]        types_of without such a vm.resumed
#   colo_serves NAME HOST         the failover on HOST ended with the VM
#                                 running there (at once, or after that resume)
colo_types() {
	trail "$@" | "$PYTHON" -c '
import json, sys
out = []
for line in sys.stdin:
    e = json.loads(line)
    if e["type"] == "vm.resumed" and e.get("data", {}).get("after") == "colo.failover":
        continue
    out.append(e["type"])
print(" ".join(out))'
}

colo_serves() {
	trail "$1" --host "$2" | "$PYTHON" -c '
import json, sys
failover = resumed = None
for line in sys.stdin:
    e = json.loads(line)
    d = e.get("data", {})
    if e["type"] == "colo.failover":
        failover = d
    elif failover is not None and e["type"] == "vm.resumed" and d.get("after") == "colo.failover":
        resumed = d
ok = failover is not None and (failover.get("service_here") is True or
                               (resumed is not None and resumed.get("service_here") is True))
print("at once" if failover and failover.get("service_here") else "after resuming")
sys.exit(0 if ok else 1)'
}

# migration_status_is NAME STATUS: condition for wait_until (query-migrate)
migration_status_is() { [ "$(migration_status "$1")" = "$2" ]; }
