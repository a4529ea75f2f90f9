#!/bin/bash
# test-cli-escapes.sh - every string the CLI prints from the index is the
# index's, not the terminal's (#15).  A permitted peer (or whoever edited the
# index) chooses host names, stream ids, stats report keys and values, seal
# hosts and event text; they hold ESC sequences, C1 controls (U+009B CSI),
# quotes and spreadsheet formulas here.  Asserted for stats (table, --streams,
# json), verify (table and json), gaps (table and json) and query (csv, and
# json on a terminal): no raw control byte reaches the output, JSON is built
# by a JSON writer (it parses and carries the strings unchanged), and a CSV
# field a spreadsheet would run as a formula starts with a quote.
# Needs HVTRAIL, MKINDEX, HVTRAIL_PLUGIN_PATH (cli/Makefile.am), sqlite3.
set -u
: "${HVTRAIL:?}" "${MKINDEX:?}" "${HVTRAIL_PLUGIN_PATH:?}"
export TZ=UTC NO_COLOR=1
PYTHON=${PYTHON:-/usr/bin/python3}
command -v sqlite3 >/dev/null || { echo "SKIP: sqlite3 is not installed"; exit 77; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/hvt-cli-esc-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 99
fails=0
ok()  { echo "ok   - $1"; }
bad() { echo "FAIL - $1"; fails=$((fails + 1)); }

# clean FILE WHAT: no C0 control but LF, no DEL, no C1 (UTF-8 C2 80..C2 9F)
clean() {
	if "$PYTHON" - "$1" <<'PY'; then ok "$2: no raw control character"; else bad "$2"; cat -v "$1"; fi
import sys
b = open(sys.argv[1], "rb").read()
bad = [i for i, c in enumerate(b) if (c < 0x20 and c != 0x0a) or c == 0x7f or
       (c == 0xc2 and i + 1 < len(b) and 0x80 <= b[i + 1] <= 0x9f)]
sys.exit(1 if bad else 0)
PY
}
# json_lines FILE WHAT PY-EXPR: every line parses; EXPR (over the list `rows`) holds
json_lines() {
	if "$PYTHON" - "$1" "$3" <<'PY'; then ok "$2"; else bad "$2"; cat -v "$1"; fi
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

S1=00000000000000aa
ESC_STREAM='\u001b[2J\u009b31m\"x'       # as JSON text: ESC [2J, CSI 31m, a quote
{
	printf '{"v":1,"id":"%s-1","host":"hv1","stream":"%s","seq":1,"prev":"","source":"qmp","type":"vm.started","severity":"info","ts":"2026-11-22T10:00:00Z","msg":"=HYPERLINK(\\"http://x\\",\\"y\\")"}\n' $S1 $S1
	printf '{"v":1,"id":"%s-1","host":"hv9","stream":"%s","seq":1,"prev":"","source":"qmp","type":"vm.started","severity":"info","ts":"2026-11-22T10:00:00Z","msg":"-2+3"}\n' "$ESC_STREAM" "$ESC_STREAM"
	printf '{"v":1,"id":"%s-3","host":"hv9","stream":"%s","seq":3,"prev":"","source":"qmp","type":"vm.stopped","severity":"info","ts":"2026-11-22T10:01:00Z","msg":"\302\2332J gone"}\n' "$ESC_STREAM" "$ESC_STREAM"
	for n in 1 3; do
		printf '{"v":1,"id":"00000000000000cc-%s","host":"hv\\u001b[2K\\"q","stream":"00000000000000cc","seq":%s,"prev":"","source":"qmp","type":"vm.started","severity":"info","ts":"2026-11-22T10:00:0%sZ"}\n' $n $n $n
	done
	printf '#stats hv1 {"\\u001b]0;pwned\\u0007":1,"spool":{"\\u009b2Jdepth":"\\u001b[31mred"}}\n'
} > events.jsonl
"$MKINDEX" trail.db < events.jsonl 2> mk.err || { echo "FAIL - cannot build the test index"; cat mk.err; exit 1; }
# a seal stored for hv1's stream that speaks of another host, whose name
# would erase the line verify prints about it
seal='{"host":"hv1\u001b[2K\r","stream":"'$S1'","seq":1,"hash":"00","time":"2026-11-22T10:00:00Z","final":false,"cert":"","sig":""}'
sqlite3 trail.db "INSERT INTO seals (stream_id, seq, hash, time_us, final, valid, note, peer, received_us, json)
	SELECT id, 1, '00', 1795350000000000, 0, 0, 'invalid', 'x', 1795350000000000, '$seal'
	FROM streams WHERE host = 'hv1'" || { echo "FAIL - cannot add the seal"; exit 1; }
DB=(--db "$dir/trail.db")

"$HVTRAIL" stats "${DB[@]}" --streams > stats.txt 2>&1
clean stats.txt "stats --streams (report keys and values, stream ids)"
grep -q 'forwarder.*: \\x1b\]0;pwned\\x07=1 spool.\\u009b2Jdepth=\\x1b\[31mred' stats.txt &&
	ok "stats shows the report's hostile key escaped" || { bad "stats report line"; cat -v stats.txt; }
"$HVTRAIL" stats "${DB[@]}" --streams -o json > stats.json 2>&1
json_lines stats.json "stats -o json parses and keeps the stream id as stored" \
	'any(s["stream"] == "\x1b[2J\x9b31m\"x" for r in rows for s in r.get("stream_list", []))'

"$HVTRAIL" verify "${DB[@]}" > verify.txt 2>&1
clean verify.txt "verify (seal host, stream ids, details)"
grep -q 'the seal is about host hv1\\x1b\[2K\\x0d stream' verify.txt &&
	ok "verify names the seal's host, escaped" || { bad "verify detail"; cat -v verify.txt; }
"$HVTRAIL" verify "${DB[@]}" -o json > verify.json 2>&1
json_lines verify.json "verify -o json is JSON (a quote in a stream id no longer breaks it)" \
	'any(r["stream"] == "\x1b[2J\x9b31m\"x" for r in rows) and any("hv1\x1b[2K\r" in r.get("detail", "") for r in rows)'

"$HVTRAIL" gaps "${DB[@]}" > gaps.txt 2>&1
clean gaps.txt "gaps"
"$HVTRAIL" gaps "${DB[@]}" -o json > gaps.json 2>&1
json_lines gaps.json "gaps -o json is JSON with the host and stream as stored" \
	'rows == [{"host": "hv\x1b[2K\"q", "stream": "00000000000000cc", "from": 2, "to": 2, "missing": 1}]'

"$HVTRAIL" query "${DB[@]}" -o csv > q.csv 2>&1
grep -q "^2026-11-22T10:00:00.000000Z,hv1,$S1-1,info,vm.started,,,\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"$" q.csv &&
	ok "csv: a formula gets a leading quote" || { bad "csv formula"; cat q.csv; }
grep -q ",'-2+3$" q.csv && ok "csv: so does an expression that starts with a minus" || { bad "csv -2+3"; cat q.csv; }

# -o json on a terminal: C1 controls as \u escapes (the same JSON)
"$PYTHON" - "$HVTRAIL" "$dir/trail.db" "${HVT_TIMEOUT_FACTOR:-1}" > tty.out <<'PY'
import os, pty, select, signal, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "query", "--no-pager", "--db", sys.argv[2], "-o", "json",
                           "--host", "hv9"])
out = b""
deadline = time.monotonic() + 10 * float(sys.argv[3])
while time.monotonic() < deadline:
    if not select.select([fd], [], [], 0.1)[0]:
        continue
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
else:
    os.kill(pid, signal.SIGKILL)
os.waitpid(pid, 0)
sys.stdout.buffer.write(out.replace(b"\r\n", b"\n"))
PY
clean tty.out "query -o json on a terminal"
json_lines tty.out "query -o json on a terminal is the same JSON" \
	'len(rows) == 2 and rows[1]["msg"] == "\x9b2J gone"'

[ "$fails" -eq 0 ] || { echo "$fails check(s) failed"; exit 1; }
echo "all checks passed"
