# tests/lib/alert.sh - helpers for the alert tests (bash; source after
# common.sh, pki.sh and hvtrail.sh).
#
#   start_webhook NAME PORT [--status CODE]
#                               an HTTP endpoint on 127.0.0.1:PORT recording
#                               every request in $WORK/NAME.jsonl
#   stop_webhook NAME           take it down (the port refuses connections)
#   posts NAME                  how many requests it recorded
#   has_posts NAME N            at least N (for wait_until)
#   emit NAME TYPE [ARGS...]    hvtrail emit through forwarder NAME's in_local
#                               socket ($WORK/NAME.sock)
#   alert_events COL TYPE       the collector's alert.* events of TYPE (JSON lines)
#   has_alert_events COL N TYPE at least N of them (for wait_until)
#   local_forwarder NAME CERT TARGET [OUT_RELP LINES...]
#                               a forwarder whose only input is in_local; extra
#                               lines are keys of its [out_relp] section
#   deliveries_settled COL      no delivery of COL is pending (for wait_until):
#                               once an alert is delivered and nothing is pending,
#                               no further attempt (so no second request) is made
#   paging_rules                the shipped rules of conf/collector.conf in
#                               the array SHIPPED, paging [act_exec:page],
#                               which files each alert document it gets in
#                               $WORK/pages (append "${SHIPPED[@]}" to a
#                               collector's configuration)
#   pages RULE [TRANSITION]     the documents paged for RULE (JSON lines,
#                               oldest first), of one transition (opened,
#                               updated, resolved, acknowledged) if given
#   npages RULE [TRANSITION] / has_pages RULE N [TRANSITION]
#                               how many / at least N (for wait_until)
# shellcheck shell=bash

start_webhook() {
	local name=$1 port=$2; shift 2
	start_bg "$name" "$PYTHON" "$HVT_TESTLIB/alert_http.py" "$port" "$WORK/$name.jsonl" "$@"
	wait_until 10 "webhook endpoint $name listens on $port" port_open "$port"
}

stop_webhook() { stop_bg "$1" TERM 5 || true; }

posts() { if [ -f "$WORK/$1.jsonl" ]; then wc -l <"$WORK/$1.jsonl"; else echo 0; fi; }
has_posts() { [ "$(posts "$1")" -ge "$2" ]; }

emit() {
	local name=$1 type=$2; shift 2
	"$HVTRAIL" emit --socket "$WORK/$name.sock" -t "$type" "$@" >/dev/null
}

local_forwarder() {
	local name=$1 cert=$2 target=$3; shift 3
	start_forwarder "$name" "$cert" "$target" "$@" "[in_local]" "socket = $WORK/$name.sock"
	wait_until 10 "forwarder $name's local socket exists" test -S "$WORK/$name.sock"
}

deliveries_settled() {
	local n
	n=$(sqlite3 -cmd ".timeout 5000" "$WORK/$1/alerts.db" "SELECT count(*) FROM deliveries WHERE state = 'pending'") &&
		[ "$n" -eq 0 ]
}

alert_events() { trail "$1" --host '(collector)' --type "$2"; }
has_alert_events() { [ -f "${COL_DB[$1]}" ] && [ "$(alert_events "$1" "$3" | wc -l)" -ge "$2" ]; }

# restart_collector NAME [SIGNAL]: stop it (TERM, or e.g. KILL) and start it
# again with the same configuration, port and state.
restart_collector() {
	local name=$1 sig=${2:-TERM}
	stop_bg "$name" "$sig" 10 || true
	start_bg "$name" "$COLLECTOR" -c "$WORK/$name.conf"
	wait_until 10 "collector $name listens again on port ${COL_PORT[$name]}" port_open "${COL_PORT[$name]}"
}

# start_syslog NAME: a unix datagram socket at $WORK/NAME.sock whose
# messages are appended, one per line, to $WORK/NAME.lines.
start_syslog() {
	local name=$1
	start_bg "$name" "$PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536).replace(b"\n", b" ") + b"\n")' "$WORK/$name.sock" "$WORK/$name.lines"
	wait_until 10 "syslog socket $name exists" test -S "$WORK/$name.sock"
}

paging_rules() {
	mkdir -p "$WORK/pages"
	cat >"$WORK/page.sh" <<SH
#!/bin/sh
cat >"$WORK/pages/\$HVT_ALERT_ID.json"
SH
	chmod +x "$WORK/page.sh"
	sed -n '/^# ---- alerting/,/^\[include\]/p' "$HVT_SRCDIR/conf/collector.conf" | sed '$d' |
		sed 's/^actions = act_syslog$/actions = exec:page/' | grep -v '^\[act_syslog\]' >"$WORK/shipped.conf"
	grep -q '^\[alert:colo_split_brain\]' "$WORK/shipped.conf" || hard_error "no incident rules in conf/collector.conf"
	echo "[act_exec:page]" >>"$WORK/shipped.conf"
	echo "command = $WORK/page.sh" >>"$WORK/shipped.conf"
	echo "timeout = 5s" >>"$WORK/shipped.conf"
	mapfile -t SHIPPED <"$WORK/shipped.conf"
}

pages() {
	"$PYTHON" - "$WORK/pages" "$1" "${2:-}" <<'PY'
import glob, json, sys
docs = [json.load(open(f)) for f in glob.glob(sys.argv[1] + "/*.json")]
for d in sorted(docs, key=lambda d: d["fired"]):
    if d["rule"] == sys.argv[2] and (not sys.argv[3] or d.get("transition", "opened") == sys.argv[3]):
        print(json.dumps(d))
PY
}
npages() { pages "$1" "${2:-}" | wc -l; }
has_pages() { [ "$(npages "$1" "${3:-}")" -ge "$2" ]; }
