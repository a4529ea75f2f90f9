# tests/lib/rsyslog.sh - private rsyslogd processes for the interop tests
# (bash; source after common.sh and hvtrail.sh).
#
# A private rsyslogd must never touch the system's: each gets its own -f
# config, -i pidfile and workDirectory (queue files), listens on 127.0.0.1
# only, and has processInternalMessages="on" so its own messages go to
# $WORK/NAME-rsyslog.log (with whatever else the default ruleset sees)
# instead of /dev/log.  It runs in the foreground
# (-n) under start_bg, so cleanup stops it by PID like any other process.
#
#   rsyslog_cert NAME CN         a certificate NAME.pem/.key for CN from the test CA
#   start_rsyslogd NAME BODY     write $WORK/NAME.rsyslog.conf (a private
#                                header + the text BODY), check it with -N1,
#                                start it; restart with the same NAME reuses it
# shellcheck shell=bash

RSYSLOGD=${RSYSLOGD:-/usr/sbin/rsyslogd}

# require_rsyslog_modules MOD...: skip unless rsyslog has these modules
# (imrelp/omrelp come with the rsyslog-relp package).
require_rsyslog_modules() {
	local m dir
	[ -x "$RSYSLOGD" ] || skip "rsyslogd is not installed"
	for dir in /usr/lib/*/rsyslog /usr/lib/rsyslog /usr/lib64/rsyslog; do
		[ -f "$dir/imuxsock.so" ] && break
	done
	for m in "$@"; do
		[ -f "$dir/$m.so" ] || skip "rsyslog module $m is not installed (rsyslog-relp?)"
	done
}

rsyslog_cert() {
	hvt_pki
	[ -f "$PKI/$1.pem" ] && return 0
	# make_pki's helpers, in a subshell that is not under set -e (they end
	# with a test that may be false) and with private keys 0600
	(umask 077; _pki_leaf "$PKI" "$1" "$2" ca) >>"$PKI/certtool.log" 2>&1 ||
		hard_error "certtool could not make a certificate for $2"
}

start_rsyslogd() {
	local name=$1 body=$2 conf=$WORK/$1.rsyslog.conf
	mkdir -p "$WORK/$name.rsyslog.d"
	{
		printf 'global(workDirectory="%s" processInternalMessages="on")\n' "$WORK/$name.rsyslog.d"
		printf '%s\n' "$body"
		# the default ruleset: rsyslog's own messages (and inputs bound to none)
		printf '*.* action(type="omfile" file="%s")\n' "$WORK/$name-rsyslog.log"
	} >"$conf"
	"$RSYSLOGD" -N1 -f "$conf" >"$WORK/$name.check.out" 2>&1 ||
		fail "rsyslogd -N1 refuses $conf: $(cat "$WORK/$name.check.out")"
	start_bg "$name" "$RSYSLOGD" -n -f "$conf" -i "$WORK/$name.rsyslog.d/pid"
}
