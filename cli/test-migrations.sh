#!/bin/bash
# test-migrations.sh - `hvtrail migrations` against an index filled through
# idx_sqlite with linked migration records (as the collector links them):
# one row per link, from -> to, each outcome, the source's figures, the
# filters, -n/-r, and the table, json and csv formats.
# Needs HVTRAIL (the binary), MKINDEX (test_mkindex) and HVTRAIL_PLUGIN_PATH.
set -u
: "${HVTRAIL:?}" "${MKINDEX:?}" "${HVTRAIL_PLUGIN_PATH:?}"
export TZ=UTC NO_COLOR=1
dir=$(mktemp -d "${TMPDIR:-/tmp}/hvt-cli-mig-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 99
fails=0

ok()  { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }
expect_rc() {    # WANT DESCRIPTION CMD...
	local want=$1 what=$2; shift 2
	"$@" > out 2> err; local rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$what (exit $rc)"; else bad "$what: exit $rc, want $want"; cat err; fi
}
expect_out() {   # DESCRIPTION WANT: the last command's stdout
	if [ "$(cat out)" = "$2" ]; then ok "$1"; else bad "$1"; echo "--- got:"; cat out; echo "--- want:"; echo "$2"; fi
}

U1=11111111-1111-4111-8111-111111111111 U2=22222222-2222-4222-8222-222222222222
S1=00000000000000a1 S2=00000000000000a2 S3=00000000000000a3
seqs=()
# ev LINK HOST TYPE VM UUID TS [DATA [late]]: one stored event line
ev() {
	local link=$1 host=$2 type=$3 vm=$4 uuid=$5 ts=$6 data=${7:-} late=${8:-} stream seq
	case $host in hv1) stream=$S1 ;; hv2) stream=$S2 ;; *) stream=$S3 ;; esac
	seqs[${#seqs[@]}]=x
	seq=${#seqs[@]}
	[ -n "$link" ] && printf '#link %s ' "$link"
	printf '{"v":1,"id":"%s-%s","host":"%s","stream":"%s","seq":%s,"prev":"","source":"qmp","type":"%s","severity":"info","vm":{"name":"%s","uuid":"%s"},"ts":"%s"' \
		"$stream" "$seq" "$host" "$stream" "$seq" "$type" "$vm" "$uuid" "$ts"
	[ -n "$late" ] && printf ',"late":true'
	printf ',"msg":"%s on %s"' "$type" "$host"
	[ -n "$data" ] && printf ',"data":%s' "$data"
	printf '}\n'
}
{
	# a completed migration, both sides, the source's figures
	ev mig-a hv1 migration.started web1 $U1 2026-11-22T10:05:00Z '{"role":"source"}'
	ev mig-a hv2 migration.incoming.started web1 $U1 2026-11-22T10:05:00.2Z '{"role":"incoming"}'
	ev mig-a hv1 migration.completed web1 $U1 2026-11-22T10:05:01.119Z \
		'{"role":"source","total_time_ms":1119,"downtime_ms":16,"setup_time_ms":6,"passes":7,"ram":{"transferred":181289452,"total":277413888}}'
	ev mig-a hv2 migration.incoming.completed web1 $U1 2026-11-22T10:05:01.2Z '{"role":"incoming","duration_ms":1000.5}'
	# cancelled: the target then fails (it is "cancelled", not "failed")
	ev mig-b hv1 migration.started web1 $U1 2026-11-22T10:10:00Z
	ev mig-b hv2 migration.incoming.started web1 $U1 2026-11-22T10:10:00.1Z
	ev mig-b hv1 migration.cancelled web1 $U1 2026-11-22T10:10:03Z '{"role":"source","passes":2}'
	ev mig-b hv2 migration.incoming.failed web1 $U1 2026-11-22T10:10:03.1Z '{"role":"incoming"}'
	# failed: the target died; the error has a comma (csv quoting)
	ev mig-c hv1 migration.started web1 $U1 2026-11-22T10:15:00Z
	ev mig-c hv3 migration.incoming.started web1 $U1 2026-11-22T10:15:00.1Z
	ev mig-c hv1 migration.failed web1 $U1 2026-11-22T10:15:02Z \
		'{"role":"source","passes":3,"error":"Unable to write to socket, peer gone"}'
	# a migration that set up a COLO pair
	ev mig-d hv2 migration.started db1 $U2 2026-11-22T10:20:00Z
	ev mig-d hv3 migration.incoming.started db1 $U2 2026-11-22T10:20:00.1Z
	ev mig-d hv2 colo.entered db1 $U2 2026-11-22T10:20:00.5Z '{"mode":"primary"}'
	ev mig-d hv3 colo.entered db1 $U2 2026-11-22T10:20:00.5Z '{"mode":"secondary"}'
	# only the source's start, seen late after a reconnect: no end yet
	ev mig-e hv3 migration.started db1 $U2 2026-11-22T10:30:00Z '{"role":"source","observed":"resync"}' late
	# not linked (stored before the collector linked): not a migration row
	ev "" hv1 migration.started old1 "" 2026-11-22T09:00:00Z
	# another type with a link of its own is no migration record
	ev "" hv1 vm.started web1 $U1 2026-11-22T09:59:00Z
} > events.jsonl
"$MKINDEX" trail.db < events.jsonl 2> mk.err || { echo "FAIL - cannot build the test index"; cat mk.err; exit 1; }
DB=(--db "$dir/trail.db")

echo "# one row per migration"
expect_rc 0 "migrations (table)" "$HVTRAIL" migrations "${DB[@]}"
expect_out "the table: start, VM, from -> to, outcome, figures, error" \
"STARTED (UTC)         VM    FROM -> TO  OUTCOME        TOTAL  DOWNTIME  PASSES        RAM  ERROR
2026-11-22T10:05:00Z  web1  hv1 -> hv2  completed    1.119 s     16 ms       7  172.9 MiB
2026-11-22T10:10:00Z  web1  hv1 -> hv2  cancelled          -         -       2          -
2026-11-22T10:15:00Z  web1  hv1 -> hv3  failed             -         -       3          -  Unable to write to socket, peer gone
2026-11-22T10:20:00Z  db1   hv2 -> hv3  colo               -         -       -          -
2026-11-22T10:30:00Z  db1   hv3 -> ?    in-progress        -         -       -          -"
expect_rc 1 "no migration matches: exit 1" "$HVTRAIL" migrations "${DB[@]}" --vm nosuchvm
expect_out "no migration matches: journalctl's words" "-- No entries --"

expect_rc 0 "migrations -o json" "$HVTRAIL" migrations "${DB[@]}" -o json
expect_out "json: one object per migration, link and figures included" \
'{"link":"mig-a","vm":{"name":"web1","uuid":"11111111-1111-4111-8111-111111111111"},"from":"hv1","to":"hv2","started":"2026-11-22T10:05:00.000000Z","ended":"2026-11-22T10:05:01.200000Z","outcome":"completed","total_time_ms":1119,"downtime_ms":16,"setup_time_ms":6,"passes":7,"ram_transferred":181289452,"late":false,"events":4}
{"link":"mig-b","vm":{"name":"web1","uuid":"11111111-1111-4111-8111-111111111111"},"from":"hv1","to":"hv2","started":"2026-11-22T10:10:00.000000Z","ended":"2026-11-22T10:10:03.100000Z","outcome":"cancelled","passes":2,"late":false,"events":4}
{"link":"mig-c","vm":{"name":"web1","uuid":"11111111-1111-4111-8111-111111111111"},"from":"hv1","to":"hv3","started":"2026-11-22T10:15:00.000000Z","ended":"2026-11-22T10:15:02.000000Z","outcome":"failed","passes":3,"error":"Unable to write to socket, peer gone","late":false,"events":3}
{"link":"mig-d","vm":{"name":"db1","uuid":"22222222-2222-4222-8222-222222222222"},"from":"hv2","to":"hv3","started":"2026-11-22T10:20:00.000000Z","ended":"2026-11-22T10:20:00.500000Z","outcome":"colo","late":false,"events":4}
{"link":"mig-e","vm":{"name":"db1","uuid":"22222222-2222-4222-8222-222222222222"},"from":"hv3","started":"2026-11-22T10:30:00.000000Z","outcome":"in-progress","late":true,"events":1}'

expect_rc 0 "migrations -o csv --link mig-c" "$HVTRAIL" migrations "${DB[@]}" -o csv --link mig-c
expect_out "csv: header and a quoted error" \
'started,link,vm_name,vm_uuid,from,to,outcome,ended,total_time_ms,downtime_ms,setup_time_ms,passes,ram_transferred,error
2026-11-22T10:15:00.000000Z,mig-c,web1,11111111-1111-4111-8111-111111111111,hv1,hv3,failed,2026-11-22T10:15:02.000000Z,,,,3,,"Unable to write to socket, peer gone"'

echo "# filters"
links() { "$HVTRAIL" migrations "${DB[@]}" -o csv "$@" | tail -n +2 | cut -d, -f2 | tr '\n' ' '; }
[ "$(links --host hv3)" = "mig-c mig-d mig-e " ] && ok "--host matches either side" || bad "--host hv3: $(links --host hv3)"
[ "$(links --vm db1)" = "mig-d mig-e " ] && ok "--vm by name" || bad "--vm db1: $(links --vm db1)"
[ "$(links --vm $U1)" = "mig-a mig-b mig-c " ] && ok "--vm by UUID" || bad "--vm U1: $(links --vm $U1)"
[ "$(links -S '2026-11-22 10:09' -U '2026-11-22 10:16')" = "mig-b mig-c " ] &&
	ok "--since/--until select by start time" || bad "window: $(links -S '2026-11-22 10:09' -U '2026-11-22 10:16')"
# a migration that started before --since is left out whole, not cut in half
[ "$(links -S '2026-11-22T10:05:01Z' -U '2026-11-22T10:12:00Z')" = "mig-b " ] &&
	ok "a migration started before --since is not shown" || bad "window 2: $(links -S '2026-11-22T10:05:01Z' -U '2026-11-22T10:12:00Z')"
[ "$(links -n 2)" = "mig-d mig-e " ] && ok "-n 2: the newest two, oldest first" || bad "-n 2: $(links -n 2)"
[ "$(links -n 2 -r)" = "mig-e mig-d " ] && ok "-n 2 -r: newest first" || bad "-n 2 -r: $(links -n 2 -r)"
[ "$(links --link nosuch)" = "" ] && ok "an unknown link: no rows" || bad "--link nosuch: $(links --link nosuch)"

echo "# usage"
expect_rc 0 "migrations --help" "$HVTRAIL" migrations --help
expect_rc 2 "bad -o" "$HVTRAIL" migrations "${DB[@]}" -o xml
expect_rc 2 "bad -n" "$HVTRAIL" migrations "${DB[@]}" -n 0
expect_rc 2 "--since after --until" "$HVTRAIL" migrations "${DB[@]}" -S 2026-11-23 -U 2026-11-22
expect_rc 3 "missing database" "$HVTRAIL" migrations --db "$dir/none.db"

echo "# $fails failure(s)"
[ "$fails" -eq 0 ]
