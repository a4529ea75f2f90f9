#!/bin/bash
# test-cli.sh - the hvtrail CLI against an index filled through idx_sqlite:
# output formats, every filter, -n/-r, follow mode (new rows, SIGINT, a
# closed pipe), stats, gaps and the documented exit codes.
# Needs HVTRAIL (the binary), MKINDEX (test_mkindex) and HVTRAIL_PLUGIN_PATH.
set -u
: "${HVTRAIL:?}" "${MKINDEX:?}" "${HVTRAIL_PLUGIN_PATH:?}"
export TZ=UTC NO_COLOR=1
dir=$(mktemp -d "${TMPDIR:-/tmp}/hvt-cli-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 99
fails=0

ok()   { echo "ok   - $1"; }
bad()  { echo "FAIL - $1"; fails=$((fails + 1)); }
# expect_rc WANT DESCRIPTION CMD... : run CMD (output in out/err), check its exit code
expect_rc() {
	local want=$1 what=$2; shift 2
	"$@" > out 2> err; local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what (exit $rc)"; else bad "$what: exit $rc, want $want"; cat err; fi
}
# expect_out DESCRIPTION WANT : compare the last command's stdout
expect_out() {
	if [ "$(cat out)" = "$2" ]; then ok "$1"; else bad "$1"; echo "--- got:"; cat out; echo "--- want:"; echo "$2"; fi
}
# wait_lines FILE N: until FILE has N lines (at most 10 s; no fixed sleeps that a slow build would miss)
wait_lines() {
	for _ in $(seq 100); do
		[ "$(wc -l < "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
expect_grep() {   # DESCRIPTION FILE PATTERN
	if grep -q -- "$3" "$2"; then ok "$1"; else bad "$1: no '$3' in $2"; cat "$2"; fi
}

S1=00000000000000aa S2=00000000000000bb U1=11111111-1111-4111-8111-111111111111
SL=syslog-3141592653589793
ev() { # host stream seq type vm_name vm_uuid ts severity msg
	printf '{"v":1,"id":"%s-%s","host":"%s","stream":"%s","seq":%s,"prev":"","source":"qmp","type":"%s","severity":"%s"' \
		"$2" "$3" "$1" "$2" "$3" "$4" "$8"
	if [ -n "$5$6" ]; then printf ',"vm":{"name":"%s","uuid":"%s"}' "$5" "$6"; fi
	printf ',"ts":"%s","msg":"%s"}\n' "$7" "$9"
}
{
	ev hv1 $S1 1 vm.started web1 $U1 2026-11-22T10:00:00Z info "VM started"
	ev hv1 $S1 2 migration.started web1 $U1 2026-11-22T10:05:00Z info "migration to hv2"
	ev hv1 $S1 3 migration.completed web1 $U1 2026-11-22T10:05:09.5Z notice "done, downtime 45 ms"
	ev hv2 $S2 1 vm.started db1 "" 2026-11-22T09:00:00Z info "VM started"
	ev hv2 $S2 4 colo.failover db1 "" 2026-11-22T11:00:00Z err 'failover \u001b[31mred'
	# a plain syslog line as the collector files it: stream "syslog", a hash for seq
	ev hv3 syslog 3141592653589793 syslog.message "" "" 2026-11-22T08:00:00Z notice "sshd: accepted"
	echo '#stats hv1 {"spool":{"depth":3},"out":{"acked":3}}'
} > events.jsonl
"$MKINDEX" trail.db < events.jsonl 2> mk.err || { echo "FAIL - cannot build the test index"; cat mk.err; exit 1; }
DB=(--db "$dir/trail.db")

echo "# usage and exit codes"
expect_rc 0 "--help" "$HVTRAIL" --help
expect_grep "--help documents the exit codes" out "3  the index cannot be opened"
expect_rc 0 "--version" "$HVTRAIL" --version
expect_rc 2 "no command" "$HVTRAIL"
expect_rc 2 "unknown command" "$HVTRAIL" frobnicate
expect_rc 0 "query --help" "$HVTRAIL" query --help
expect_rc 0 "help gaps" "$HVTRAIL" help gaps
expect_rc 2 "unknown option" "$HVTRAIL" query "${DB[@]}" --bogus
expect_grep "getopt errors name the command" err "hvtrail query: unrecognized option"
expect_rc 2 "bad --since" "$HVTRAIL" query "${DB[@]}" --since "next blue moon"
expect_grep "a bad time says what a time looks like" err "1 hour ago"
expect_rc 2 "--since after --until" "$HVTRAIL" query "${DB[@]}" -S 2026-11-23 -U 2026-11-22
expect_rc 2 "bad -n" "$HVTRAIL" query "${DB[@]}" -n -3
expect_rc 2 "bad -o" "$HVTRAIL" query "${DB[@]}" -o xml
expect_rc 2 "-f with -r" "$HVTRAIL" query "${DB[@]}" -f -r
expect_rc 2 "--db and -c together" "$HVTRAIL" query "${DB[@]}" -c /dev/null
expect_rc 3 "missing database" "$HVTRAIL" query --db "$dir/none.db"
[ -e "$dir/none.db" ] && bad "a read-only open created none.db" || ok "a read-only open creates no file"
expect_grep "the missing database is named" err "none.db does not exist"
expect_rc 3 "unreadable config" "$HVTRAIL" stats -c "$dir/none.conf"
printf '[collector]\nbatch_size = 5\n' > noidx.conf
expect_rc 3 "config without [idx_*]" "$HVTRAIL" gaps -c noidx.conf
expect_grep "says the section is missing" err "no \[idx_\*\] section"
printf '[idx_sqlite]\npath = %s/trail.db\nsynchronus = full\n' "$dir" > typo.conf
expect_rc 3 "config with a typo" "$HVTRAIL" gaps -c typo.conf
expect_grep "the typo is pointed out" err "did you mean 'synchronous'"

echo "# query output"
expect_rc 0 "table" "$HVTRAIL" query "${DB[@]}"
expect_out "table, oldest first, columns as wide as their widest cell, control characters escaped" \
"TIME (UTC)            HOST  VM    TYPE                 MESSAGE
2026-11-22T08:00:00Z  hv3   -     syslog.message       sshd: accepted
2026-11-22T09:00:00Z  hv2   db1   vm.started           VM started
2026-11-22T10:00:00Z  hv1   web1  vm.started           VM started
2026-11-22T10:05:00Z  hv1   web1  migration.started    migration to hv2
2026-11-22T10:05:09Z  hv1   web1  migration.completed  done, downtime 45 ms
2026-11-22T11:00:00Z  hv2   db1   colo.failover        failover \\x1b[31mred"
expect_rc 0 "json" "$HVTRAIL" query "${DB[@]}" -o json
sort out > got.sorted; sort events.jsonl | grep -v '^#' > want.sorted
cmp -s got.sorted want.sorted && ok "-o json prints the stored JSON byte for byte" || bad "-o json differs from what was stored"
expect_rc 0 "csv" "$HVTRAIL" query "${DB[@]}" -o csv --vm web1 -n 1
expect_out "csv quotes a field with a comma" \
"time,host,id,severity,type,vm_name,vm_uuid,message
2026-11-22T10:05:09.500000Z,hv1,$S1-3,notice,migration.completed,web1,$U1,\"done, downtime 45 ms\""

echo "# filters"
ids() { "$HVTRAIL" query "${DB[@]}" -o json "$@" | sed 's/.*"id":"\([^"]*\)".*/\1/' | tr '\n' ' '; }
check_ids() { local what=$1 want=$2; shift 2; local got; got=$(ids "$@")
	[ "$got" = "$want" ] && ok "$what" || bad "$what: got '$got', want '$want'"; }
check_ids "--vm by name" "$S1-1 $S1-2 $S1-3 " --vm web1
check_ids "--vm by uuid" "$S1-1 $S1-2 $S1-3 " --vm $U1
check_ids "--host" "$S2-1 $S2-4 " --host hv2
check_ids "--type glob" "$S1-2 $S1-3 " --type 'migration.*'
check_ids "--type with a negated set" "$SL $S2-1 $S1-1 $S2-4 " -t '[!m]*'
check_ids "--since/--until (UTC, inclusive)" "$S1-1 $S1-2 " -S "2026-11-22 10:00" -U 2026-11-22T10:05:00Z
check_ids "--id" "$S2-4 " --id $S2-4
check_ids "-n: the newest, oldest first" "$S1-3 $S2-4 " -n 2
check_ids "-n -r: the newest, newest first" "$S2-4 $S1-3 " -n 2 -r
check_ids "-r: all, newest first" "$S2-4 $S1-3 $S1-2 $S1-1 $S2-1 $SL " -r
check_ids "no match prints no JSON" "" --vm nosuchvm
expect_rc 1 "no match: exit 1 (a mistyped --vm is not a quiet trail)" "$HVTRAIL" query "${DB[@]}" --vm nosuchvm
expect_out "no match: journalctl's words" "-- No entries --"
expect_rc 1 "no match in json: exit 1, nothing printed" "$HVTRAIL" query "${DB[@]}" --vm nosuchvm -o json
expect_out "no match in json: nothing on stdout" ""
check_ids "-p NAME: that severity and more important" "$S2-4 " -p err
check_ids "-p NUMBER" "$SL $S1-3 $S2-4 " -p 5
check_ids "-p FROM..TO, either order" "$SL $S1-3 " -p notice..notice
check_ids "-p a range" "$S2-4 " -p warning..err
check_ids "-p a wider range" "$SL $S1-3 $S2-4 " -p err..notice
check_ids "-g: a lowercase pattern ignores case" "$S2-1 $S1-1 " -g 'vm start'
check_ids "-g: a capital makes it case-sensitive" "" -g 'vm Start'
check_ids "-g --case-sensitive" "" -g 'vm start' --case-sensitive
check_ids "-g --case-sensitive=no" "$S2-1 $S1-1 " -g 'vm Start' --case-sensitive=no
check_ids "-g: an extended regular expression, anchors and all" "$S1-2 $S1-3 " -g '^(migration|done),? [a-z]'
check_ids "-g with -p and --host" "$S1-3 " -g 'down' -p notice --host hv1
expect_rc 2 "-g with a bad pattern" "$HVTRAIL" query "${DB[@]}" -g 'a(b'
expect_grep "a bad pattern says why" err "is no extended regular expression"
expect_rc 2 "-p with a bad priority" "$HVTRAIL" query "${DB[@]}" -p urgent
expect_grep "a bad priority lists the names" err "emerg, alert, crit, err, warning, notice, info, debug"
expect_rc 2 "--case-sensitive=maybe" "$HVTRAIL" query "${DB[@]}" -g x --case-sensitive=maybe

echo "# follow"
"$HVTRAIL" query "${DB[@]}" -f --vm web1 -n 1 -o json > follow.out 2> follow.err &
fpid=$!
wait_lines follow.out 1 || bad "follow mode printed nothing"
{
	ev hv1 $S1 4 vm.stopped web1 "" 2026-11-22T12:00:00Z warning "stopped"
	ev hv2 $S2 5 vm.stopped db1 "" 2026-11-22T12:00:01Z info "another VM"
	ev hv1 $S1 5 vm.started web1 "" 2026-11-22T08:00:00Z info "late, with an old time"
} | "$MKINDEX" trail.db 2>> mk.err
wait_lines follow.out 3 || bad "follow mode did not print the new events"
sleep 0.3   # room for a wrong extra line to show up
kill -INT $fpid; wait $fpid; rc=$?
[ $rc -eq 0 ] && ok "SIGINT ends follow mode cleanly (exit 0)" || bad "follow exit $rc after SIGINT"
got=$(sed 's/.*"id":"\([^"]*\)".*/\1/' follow.out | tr '\n' ' ')
[ "$got" = "$S1-3 $S1-5 $S1-4 " ] && ok "-f prints the last line, then new matching events (late ones too)" \
	|| bad "follow printed '$got'"
timeout 10 "$HVTRAIL" query "${DB[@]}" -f | head -n 2 > /dev/null
rc=${PIPESTATUS[0]}
[ $rc -eq 0 ] && ok "-f ends quietly when the reader closes the pipe, even while idle" || bad "follow | head: exit $rc"

echo "# stats and gaps"
expect_rc 0 "stats" "$HVTRAIL" stats "${DB[@]}"
expect_grep "stats shows the forwarder's report and its age" out "forwarder, reported [0-9][0-9]*s ago: spool.depth=3 out.acked=3"
expect_grep "stats counts events and missing ones" out "^hv2  *3  *1  *2 "
expect_grep "the syslog stream misses nothing" out "^hv3  *1  *1  *0 "
expect_rc 0 "stats -o json --streams" "$HVTRAIL" stats "${DB[@]}" -o json --streams --host hv1
expect_grep "stats json per host" out '"host":"hv1","events":5,"streams":1,"missing":0'
expect_rc 1 "gaps found: exit 1" "$HVTRAIL" gaps "${DB[@]}"
expect_grep "gaps lists the missing range" out "^hv2  *$S2  *2  *3  *2$"
expect_rc 0 "gaps of a complete host: exit 0" "$HVTRAIL" gaps "${DB[@]}" --host hv1
expect_grep "says it is complete" out "No gaps: 1 stream of 1 host complete."
expect_rc 1 "gaps -o json" "$HVTRAIL" gaps "${DB[@]}" -o json
expect_out "gaps json" "{\"host\":\"hv2\",\"stream\":\"$S2\",\"from\":2,\"to\":3,\"missing\":2}"
printf '[collector]\nbatch_size = 5\n[idx_sqlite]\npath = %s/trail.db\n' "$dir" > collector.conf
expect_rc 1 "-c finds the index in the collector's config" "$HVTRAIL" gaps -c collector.conf

echo "# the collector's row and its health file"
printf '#stats (collector) {"frames":7,"events":5}\n' | "$MKINDEX" trail.db 2>> mk.err
expect_rc 0 "stats with the collector's own row" "$HVTRAIL" stats "${DB[@]}"
expect_grep "the collector's row is named as such, not 'forwarder'" out "this collector's receiver, reported [0-9][0-9]*s ago: frames=7 events=5"
# what collector/health.c writes when the disk is full (the file sits beside trail.db)
since=$(( $(date +%s) - 125 ))000000
printf '{"pid":1,"updated_us":%s,"storing":false,"problems":[{"part":"inbox","since_us":%s,"why":"inbox: cannot store a received event: No space left on device"}]}\n' \
	"$since" "$since" > health
expect_rc 1 "stats while the collector cannot store: exit 1" "$HVTRAIL" stats "${DB[@]}"
expect_grep "says it plainly, since when and why" out "^COLLECTOR CANNOT STORE since .*Z (2m0[5-9]s ago): inbox: cannot store a received event: No space left on device"
expect_grep "and that the collector is not running" out "the collector is not running now"
expect_rc 1 "stats -o json while it cannot store: exit 1" "$HVTRAIL" stats "${DB[@]}" -o json
expect_grep "json says so too, in the collector's row" out '"collector_health":{"storing":false,"running":false,"problems":\[{"part":"inbox"'
printf '{"pid":1,"updated_us":1,"storing":true,"problems":[]}\n' > health
expect_rc 0 "stats when the collector stores again: exit 0" "$HVTRAIL" stats "${DB[@]}"
rm -f health

echo "# columns, pager"
{
	ev hv1.example.org $S1 1 migration.incoming.completed web-frontend-01 "" 2026-11-22T10:00:00Z info "arrived"
	ev hv2 $S2 1 vm.started db1 "" 2026-11-22T10:00:01Z info "a rather long message that does not fit on a narrow terminal at all"
	ev hv2 $S2 2 migration.incoming.failed web-frontend-01 "" 2026-11-22T10:00:02Z warning "failed"
} | "$MKINDEX" cols.db 2>> mk.err
expect_rc 0 "a table of long types, piped" "$HVTRAIL" query --db cols.db
# the MESSAGE column starts at the same place on every line
col=$(head -1 out | awk '{ print index($0, "MESSAGE") }')
awk -v c="$col" 'substr($0, c - 2, 2) != "  " || substr($0, c, 1) == " " { exit 1 }' out &&
	ok "piped: every row's columns line up with the header" || { bad "piped columns break"; cat out; }
grep -q "migration.incoming.completed" out && grep -q "migration.incoming.failed" out &&
	ok "piped: long types are whole" || bad "piped: a type was cut: $(cat out)"
if command -v script >/dev/null; then
	# on a terminal of 120 columns, without the pager: names and types whole, only the message cut
	script -qec "stty cols 120; PAGER= $HVTRAIL query --db cols.db --no-pager" /dev/null | tr -d '\r' > tty.out
	grep -q "migration.incoming.completed" tty.out && grep -q "migration.incoming.failed" tty.out &&
		grep -q "web-frontend-01" tty.out && ok "terminal: types and names are never cut" ||
		bad "terminal: a type or name was cut: $(cat tty.out)"
	sed 's/…/./g' tty.out | awk 'length($0) > 120 { exit 1 }' && grep -q "a rather long.*…$" tty.out &&
		ok "terminal: the message is cut at the screen's edge with an ellipsis" ||
		bad "terminal: lines wider than the screen or no ellipsis: $(cat tty.out)"
	# the pager: $PAGER gets the table, with less's options as journalctl sets them
	script -qec "PAGER='cat > $dir/paged.out; echo \"LESS=\$LESS\" > $dir/pager.env' $HVTRAIL query --db cols.db" \
		/dev/null > /dev/null
	grep -q "migration.incoming.failed" paged.out && ok "on a terminal the output goes through \$PAGER" ||
		bad "nothing reached the pager: $(cat paged.out 2>&1)"
	grep -q "^LESS=FRSXMK$" pager.env && ok "the pager gets LESS=FRSXMK" || bad "pager env: $(cat pager.env 2>&1)"
	grep -q "a rather long message that does not fit on a narrow terminal at all$" paged.out &&
		ok "through the pager (less -S) the message is whole" || bad "paged message cut: $(cat paged.out)"
	rm -f paged.out
	script -qec "PAGER='cat > $dir/paged.out' $HVTRAIL query --db cols.db --no-pager" /dev/null > tty.out
	[ ! -e paged.out ] && grep -q "migration.incoming.failed" tty.out && ok "--no-pager prints straight to the terminal" ||
		bad "--no-pager still paged"
	"$HVTRAIL" query --db cols.db > piped.out
	[ ! -e paged.out ] && ok "piped output is never paged" || bad "piped output went to the pager"
else
	echo "skip - no 'script' (util-linux) for the terminal checks"
fi

[ $fails -eq 0 ] && echo "all CLI checks passed" || echo "$fails CLI check(s) failed"
[ $fails -eq 0 ]
