#!/usr/bin/env python3
"""verify_stream.py INDEX_JSONL EMIT_REPORT N [START]

Checks a numbered event stream (hvtrail emit --count N) against what the
collector indexed (hvtrail query -o json lines): every number present,
none twice unless emit itself resent it after losing the forwarder, no id
twice.  Prints one line of figures; exit 0 when all holds."""
import collections
import json
import sys

rows, report, n = sys.argv[1], json.load(open(sys.argv[2])), int(sys.argv[3])
start = int(sys.argv[4]) if len(sys.argv) > 4 else 0
seen = collections.Counter()
ids = collections.Counter()
for line in open(rows):
    e = json.loads(line)
    ids[e["id"]] += 1
    seen[e["data"]["n"]] += 1
want = set(range(start, start + n))
missing = sorted(want - set(seen))
extra = sorted(set(seen) - want)
resent = set(report.get("resent", []))
twice = sorted(k for k, c in seen.items() if c > 1)
unexplained = [k for k in twice if k not in resent]
dup_ids = [i for i, c in ids.items() if c > 1]
print("indexed=%d distinct=%d missing=%d twice=%d (of them resent by emit: %d) dup_ids=%d acked=%d"
      % (sum(seen.values()), len(seen), len(missing), len(twice), len(twice) - len(unexplained),
         len(dup_ids), report.get("acked", -1)))
ok = True
for what, v in (("missing", missing), ("unexpected numbers", extra),
                ("stored twice without a resend", unexplained), ("ids indexed twice", dup_ids)):
    if v:
        print("%s: %s%s" % (what, v[:20], " ..." if len(v) > 20 else ""))
        ok = False
sys.exit(0 if ok else 1)
