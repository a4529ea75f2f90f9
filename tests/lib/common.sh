# tests/lib/common.sh - shared helpers for the integration tests (bash).
#
# Source it first from a tests/*.test script:
#     . "${HVT_SRCDIR:-$(dirname "$0")/..}/tests/lib/common.sh"
# It turns on `set -eu`, makes a private work dir $WORK (removed at exit;
# KEEP_WORK=1 keeps it), and installs a trap that stops only the processes
# started with start_bg, by PID.  Exit status follows automake's simple
# protocol: 0 pass, 1 fail, 77 skip, 99 hard error.
# shellcheck shell=bash

set -eu
export LC_ALL=C     # "." in $EPOCHREALTIME; stable tool output
[ -n "${EPOCHREALTIME:-}" ] || { echo "tests/lib/common.sh needs bash 5" >&2; exit 99; }

HVT_SRCDIR=${HVT_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
HVT_BUILDDIR=${HVT_BUILDDIR:-$HVT_SRCDIR}
export HVT_SRCDIR HVT_BUILDDIR
# shellcheck disable=SC2034  # used by the scripts that source this file
HVT_TESTLIB=$HVT_SRCDIR/tests/lib
# shellcheck disable=SC2034
{
	FORWARDER=$HVT_BUILDDIR/forwarder/hvtrail-forwarder
	COLLECTOR=$HVT_BUILDDIR/collector/hvtrail-collector
	HVTRAIL=$HVT_BUILDDIR/cli/hvtrail
}
# The system python: a version-manager shim costs ~75 ms a call, and the
# QMP helpers call it often.
if [ -z "${PYTHON:-}" ]; then
	if [ -x /usr/bin/python3 ]; then PYTHON=/usr/bin/python3; else PYTHON=python3; fi
fi
TEST_NAME=$(basename "$0" .test)

# HVT_TIMEOUT_FACTOR: the one knob for slow builds and busy machines.  Every
# bound a test waits under (wait_until, stop_bg, cleanup, and any other bound
# passed through `scaled`) is multiplied by it.  tests/Makefile.am sets it
# from configure (3 in a sanitizer build); the environment can raise it.
# Bounds are upper limits only: a passing test never waits them out.
HVT_TIMEOUT_FACTOR=${HVT_TIMEOUT_FACTOR:-1}
case $HVT_TIMEOUT_FACTOR in
''|*[!0-9.]*|*.*.*) echo "tests/lib/common.sh: HVT_TIMEOUT_FACTOR '$HVT_TIMEOUT_FACTOR' is not a number" >&2; exit 99 ;;
esac
export HVT_TIMEOUT_FACTOR

# for_events N [BASE_S]: a bound (seconds) for work that moves N events
# through the pipeline: BASE_S (default 30) plus N at 200 events/s.  Every
# build moves thousands a second on a quiet machine, so this leaves room for
# a busy one; wait_until scales it further by HVT_TIMEOUT_FACTOR.
for_events() { echo $(( ${2:-30} + $1 / 200 )); }

# scaled SECONDS: SECONDS times HVT_TIMEOUT_FACTOR (for bounds given to other
# programs, e.g. `timeout "$(scaled 30)" ...` or a helper's --timeout).
scaled() { awk -v t="$1" -v f="$HVT_TIMEOUT_FACTOR" 'BEGIN { printf "%g", t * f }'; }
# scaled_ms MS: the same as a config duration in whole milliseconds ("4000ms")
scaled_ms() { awk -v t="$1" -v f="$HVT_TIMEOUT_FACTOR" 'BEGIN { printf "%.0fms", t * f }'; }

# Messages go to the original stderr (fd 9), even from inside a polled
# condition whose output wait_until redirects.
exec 9>&2

WORK=$(mktemp -d "${TMPDIR:-/tmp}/hvt-$TEST_NAME.XXXXXX")
_HVT_T0=$EPOCHREALTIME
declare -A _HVT_PID=()         # name -> pid, for every process start_bg made
declare -A _HVT_WATCH=()       # names whose unexpected exit fails wait_until

say() { printf '%s: %s\n' "$TEST_NAME" "$*" >&9; }

# proves "text": what this test demonstrates when it passes.
proves() { printf '%s: PROVES: %s\n' "$TEST_NAME" "$*" >&9; }

# Seconds since the test started, e.g. "3.21".
elapsed() { awk -v a="$_HVT_T0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

dump_logs() {
	local f
	for f in "$WORK"/*.log "$WORK"/*.serial; do
		[ -s "$f" ] || continue
		printf -- '----- %s (last 40 lines) -----\n' "${f#"$WORK"/}" >&9
		tail -n 40 "$f" >&9
	done
	printf -- '----- end of logs (work dir %s) -----\n' "$WORK" >&9
}

fail() { say "FAIL: $*"; dump_logs; exit 1; }
skip() { say "SKIP: $*"; exit 77; }
hard_error() { say "ERROR: $*"; dump_logs; exit 99; }

# require_cmd CMD...: skip the test when a tool it needs is not installed.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "'$c' is not installed"
	done
}

# require_bin PATH...: a binary of this build is missing -> hard error.
require_bin() {
	local b
	for b in "$@"; do
		[ -x "$b" ] || hard_error "$b is not built"
	done
}

# Is PID a live child of this shell?  Guards against signalling a reused PID.
_hvt_is_ours() {
	local stat rest
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	rest=${stat##*) }
	# shellcheck disable=SC2086
	set -- $rest
	[ "$1" != Z ] && [ "$2" = "$$" ]
}

# start_bg [--may-exit] NAME CMD...: run CMD in the background, stdout and
# stderr appended to $WORK/NAME.log; its PID is $(pid_of NAME).  Unless
# --may-exit, wait_until fails at once if it dies.  Call it from the test's
# main shell, not from $(...).
start_bg() {
	local watch=1
	if [ "$1" = --may-exit ]; then watch=; shift; fi
	local name=$1; shift
	"$@" </dev/null >>"$WORK/$name.log" 2>&1 &
	_HVT_PID[$name]=$!
	if [ -n "$watch" ]; then _HVT_WATCH[$name]=1; else unset "_HVT_WATCH[$name]"; fi
	say "started $name (pid $!): $*"
}

pid_of() { printf '%s\n' "${_HVT_PID[$1]}"; }

# is_running NAME: true while the process is alive.
is_running() { _hvt_is_ours "${_HVT_PID[$1]}"; }

# stop_bg NAME [SIGNAL] [TIMEOUT_S]: signal it (TERM by default), wait for it
# to exit (KILL after the timeout, times HVT_TIMEOUT_FACTOR), and return its
# exit status.
stop_bg() {
	local name=$1 sig=${2:-TERM} t pid rc=0
	t=$(scaled "${3:-10}")
	pid=${_HVT_PID[$name]}
	unset "_HVT_WATCH[$name]"
	if _hvt_is_ours "$pid"; then
		kill -s "$sig" "$pid" 2>/dev/null || true
		_hvt_reap "$pid" "$(_deadline "$t")" || { say "$name (pid $pid) ignored SIG$sig for ${t}s: KILL"; kill -s KILL "$pid" 2>/dev/null || true; }
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

# _deadline T: the $EPOCHREALTIME T seconds from now; _past D: is it later?
_deadline() { awk -v n="$EPOCHREALTIME" -v t="$1" 'BEGIN { printf "%.3f", n + t }'; }
_past() { awk -v n="$EPOCHREALTIME" -v d="$1" 'BEGIN { exit !(n > d) }'; }

# _hvt_reap PID DEADLINE: wait until PID has exited; 1 if it outlives DEADLINE.
_hvt_reap() {
	while _hvt_is_ours "$1"; do
		_past "$2" && return 1
		sleep 0.05
	done
	return 0
}

_hvt_check_watched() {
	local name
	for name in "${!_HVT_WATCH[@]}"; do
		_hvt_is_ours "${_HVT_PID[$name]}" && continue
		local rc=0
		wait "${_HVT_PID[$name]}" 2>/dev/null || rc=$?
		unset "_HVT_WATCH[$name]"
		fail "$name (pid ${_HVT_PID[$name]}) exited unexpectedly with status $rc"
	done
}

# wait_until TIMEOUT_S "description" CMD...: poll CMD (every 0.1 s) until it
# succeeds.  Fails the test, with the logs, after TIMEOUT_S seconds (times
# HVT_TIMEOUT_FACTOR) or as
# soon as a watched background process dies.  CMD's output goes to
# $WORK/wait.out (shown on failure).
wait_until() {
	local t what=$2 start deadline
	t=$(scaled "$1"); shift 2
	start=$EPOCHREALTIME
	deadline=$(_deadline "$t")
	while :; do
		if "$@" >"$WORK/wait.out" 2>&1; then
			say "ok after $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }')s: $what"
			return 0
		fi
		_hvt_check_watched
		if _past "$deadline"; then
			say "last output of: $*"
			cat "$WORK/wait.out" >&9
			fail "timed out after ${t}s waiting until $what"
		fi
		sleep 0.1
	done
}

# free_port: a TCP port on 127.0.0.1 that nothing uses right now.  Taken
# below the kernel's ephemeral range when it can be: a port from that range
# may become the local end of any process's connect() before the daemon
# binds it (seen: "[http] cannot listen ...: Address already in use" while
# other suites ran), one below it only by another explicit bind.
free_port() {
	"$PYTHON" -c '
import random, socket
try:
    lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
except (OSError, ValueError):
    lo = 0
for p in [random.randrange(10000, lo) for _ in range(100)] if lo > 11000 else []:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
else:
    s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])
'
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# at_exit CMD...: run CMD during cleanup, after the processes are stopped
# (unmount a filesystem, delete a network namespace), in reverse order.
_HVT_ATEXIT=()
at_exit() { _HVT_ATEXIT=("$*" "${_HVT_ATEXIT[@]}"); }

# stop_all_clean: stop every process start_bg made (TERM, as at the end of
# a test) and fail if any log holds a sanitizer report - in an ASan/UBSan
# build the daemons' leaks and undefined behaviour show only at exit.
stop_all_clean() {
	local name bad
	for name in "${!_HVT_PID[@]}"; do
		stop_bg "$name" >/dev/null 2>&1 || true
	done
	bad=$(grep -l -E "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: " "$WORK"/*.log 2>/dev/null || true)
	[ -z "$bad" ] || fail "sanitizer report in: $bad"
}

# TERM, then (bounded) KILL, only the processes this test started.
_hvt_cleanup() {
	local rc=$? name pid left deadline
	set +e
	trap - EXIT
	deadline=$(_deadline "$(scaled "${CLEANUP_TIMEOUT:-5}")")
	left=()
	for name in "${!_HVT_PID[@]}"; do
		pid=${_HVT_PID[$name]}
		if _hvt_is_ours "$pid"; then
			kill -s TERM "$pid" 2>/dev/null
			left+=("$pid")
		fi
	done
	for pid in "${left[@]}"; do
		_hvt_reap "$pid" "$deadline" || kill -s KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	local cmd
	for cmd in "${_HVT_ATEXIT[@]}"; do
		eval "$cmd" >/dev/null 2>&1
	done
	if [ "${KEEP_WORK:-0}" = 1 ]; then
		say "work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	case $rc in
	0) say "PASS in $(elapsed)s" ;;
	77) say "SKIP after $(elapsed)s" ;;
	*) say "exit status $rc after $(elapsed)s" ;;
	esac
	exit "$rc"
}
trap _hvt_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
