# tests/lib/journald.sh - helpers for the in_journald tests (bash; source
# after common.sh and hvtrail.sh).
#
#   jd_require                   skip without systemd-journal-remote/sqlite3
#   jd_append DIR FROM COUNT     COUNT generated entries (journald_gen.py)
#                                appended to DIR/remote.journal with
#                                systemd-journal-remote, as a real journal file
#   jd_expected FROM TO          the TEST_SEQs the default matches select
#   jd_sql NAME SQL              sqlite3 on collector NAME's index
#   jd_seqs NAME                 TEST_SEQ of every journald event indexed, sorted
#   jd_count NAME [TYPE]         journald events indexed (of TYPE)
#   jd_in_namespace "$@"         re-run this test in a private mount namespace
#                                (call before sourcing common.sh)
#   jd_start_journald CONF       a real systemd-journald on tmpfs in it
#   jd_rotate                    journald rotates its files (SIGUSR2)
#   jd_stop NAME                 stop a forwarder, insist on a clean exit
# shellcheck shell=bash

JOURNAL_REMOTE=${JOURNAL_REMOTE:-/lib/systemd/systemd-journal-remote}
JOURNALD=${JOURNALD:-/lib/systemd/systemd-journald}

jd_require() {
	[ -x "$JOURNAL_REMOTE" ] || skip "$JOURNAL_REMOTE is not installed (package systemd-journal-remote)"
	require_cmd sqlite3 "$PYTHON" certtool
	require_bin "$FORWARDER" "$COLLECTOR"
}

jd_append() {
	mkdir -p "$1"
	"$PYTHON" "$HVT_TESTLIB/journald_gen.py" "$2" "$3" |
		timeout "$(scaled 60)" "$JOURNAL_REMOTE" --output="$1/remote.journal" - 2>>"$WORK/journal-remote.log"
}

# Kinds 0-5 and 7 of journald_gen.py match the plugin's default matches.
jd_expected() {
	awk -v a="$1" -v b="$2" 'BEGIN { for (i = a; i < b; i++) if (i % 10 <= 5 || i % 10 == 7) print i }'
}

jd_sql() {
	local name=$1; shift
	sqlite3 -cmd ".timeout 5000" "${COL_DB[$name]}" "$@"
}

jd_seqs() {
	jd_sql "$1" "select json_extract(raw, '\$.data.fields.TEST_SEQ') from trail
		where json_extract(raw, '\$.source') = 'journald'
		and json_extract(raw, '\$.data.fields.TEST_SEQ') is not null" | sort -n
}

jd_count() {
	[ -f "${COL_DB[$1]}" ] || { echo 0; return; }
	jd_sql "$1" "select count(*) from trail where json_extract(raw, '\$.source') = 'journald'
		${2:+and type = '$2'}"
}

# jd_has NAME N [TYPE]: at least N journald events (of TYPE) are indexed.
jd_has() { [ "$(jd_count "$1" "${3:-}")" -ge "$2" ]; }

# jd_log_has NAME TEXT: a process's log (start_bg) contains TEXT.
jd_log_has() { grep -q -- "$2" "$WORK/$1.log"; }

# Run the calling test again inside a private mount namespace (bounded in
# time), so tmpfs mounts for a private journald touch nothing outside.
jd_in_namespace() {
	[ -n "${JD_IN_NS:-}" ] && return 0
	if ! unshare --mount --propagation private true 2>/dev/null; then
		echo "$(basename "$0" .test): SKIP: cannot make a private mount namespace (unshare --mount)" >&2
		exit 77
	fi
	# (common.sh is not sourced yet: its scaled() by hand)
	local t
	t=$(awk -v t="${JD_TIMEOUT:-300}" -v f="${HVT_TIMEOUT_FACTOR:-1}" 'BEGIN { printf "%d", t * f }')
	JD_IN_NS=1 exec timeout "$t" unshare --mount --propagation private bash "$0" "$@"
}

# jd_start_journald CONF_LINES...: tmpfs over /run/systemd, /run/log and
# /var/log/journal (this namespace only), our journald.conf bind-mounted,
# systemd-journald started (start_bg name "journald"), runtime journal
# flushed to /var/log/journal.  Sets JDIR, the persistent journal directory.
jd_start_journald() {
	[ -n "${JD_IN_NS:-}" ] || hard_error "jd_start_journald outside jd_in_namespace"
	[ -x "$JOURNALD" ] || skip "$JOURNALD is not installed"
	printf '[Journal]\nStorage=persistent\nReadKMsg=no\nRateLimitIntervalSec=0\nRateLimitBurst=0\n' >"$WORK/journald.conf"
	printf 'ForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\n' >>"$WORK/journald.conf"
	printf '%s\n' "$@" >>"$WORK/journald.conf"
	mount -t tmpfs tmpfs /run/systemd || skip "cannot mount tmpfs (not root?)"
	mount -t tmpfs tmpfs /run/log
	mount -t tmpfs -o size=512M tmpfs /var/log/journal
	mount --bind "$WORK/journald.conf" /etc/systemd/journald.conf
	local d
	for d in /etc/systemd/journald.conf.d /usr/lib/systemd/journald.conf.d; do
		[ -d "$d" ] && mount -t tmpfs tmpfs "$d"     # no drop-ins of the host
	done
	SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=notice start_bg journald "$JOURNALD"
	wait_until 10 "journald listens" test -S /run/systemd/journal/socket
	timeout "$(scaled 10)" journalctl --flush >/dev/null 2>&1 || true
	JDIR=/var/log/journal/$(cat /etc/machine-id)
	wait_until 10 "journald writes to $JDIR" test -f "$JDIR/system.journal"
}

# jd_hold_namespace NS: keep the journald of namespace NS running.  A
# namespace's journald exits after 30 s without clients (systemd's
# IDLE_TIMEOUT_USEC; a stdout stream counts as one, a reader of its files
# does not), and on a slow machine a test can spend that long between
# starting it and using it.  This holds one stdout stream open (process
# "journald-NS-hold") for the rest of the test.
jd_hold_namespace() {
	wait_until 10 "journald of namespace $1 takes stdout streams" test -S "/run/systemd/journal.$1/stdout"
	start_bg "journald-$1-hold" "$PYTHON" -c '
import signal, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
# identifier, unit, priority, level prefix, to syslog, kmsg, console
s.sendall(b"hvtrail-test-hold\n\n6\n0\n0\n0\n0\n")
# (journald shuts its side for writing at once, so a read would return
# straight away: hold the stream until the test stops this process)
while True:
    signal.pause()
' "/run/systemd/journal.$1/stdout"
}

jd_rotate() {
	kill -USR2 "$(pid_of journald)"
}

# jd_stop NAME: stop a forwarder (TERM) and insist it exited cleanly.  In a
# sanitizer build, LeakSanitizer's exit status 23 for leaks that are not
# in_journald's (librelp's, today) is reported and tolerated.
jd_stop() {
	local rc=0
	stop_bg "$1" || rc=$?
	[ "$rc" -eq 0 ] && return 0
	# 23: LeakSanitizer's exit status; 134: its abort (ASAN_OPTIONS=abort_on_error=1)
	if { [ "$rc" -eq 23 ] || [ "$rc" -eq 134 ]; } && grep -q "LeakSanitizer" "$WORK/$1.log" &&
		! grep -q "ERROR: AddressSanitizer\|runtime error" "$WORK/$1.log" &&
		! grep -q "plugins/in_journald/" "$WORK/$1.log"; then
		say "note: $1 exited $rc: LeakSanitizer reports leaks outside in_journald (see $1.log)"
		return 0
	fi
	fail "$1 did not stop cleanly (exit status $rc)"
}
