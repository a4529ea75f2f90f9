#!/usr/bin/env python3
"""forge.py DB HOST - insert a forged event at the end of HOST's stream,
chained correctly (prev = SHA-256 of the last stored event), as someone with
write access to the index could.  Prints its seq."""
import hashlib, json, sqlite3, sys

db, host = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db)
sid, stream = c.execute("SELECT id, stream FROM streams WHERE host = ? AND stream != 'syslog'"
                         " ORDER BY count DESC LIMIT 1", (host,)).fetchone()
seq, raw, ts = c.execute("SELECT seq, raw, ts_us FROM events WHERE stream_id = ? ORDER BY seq DESC LIMIT 1",
                         (sid,)).fetchone()
e = json.loads(raw)
forged = {"v": 1, "id": "%s-%d" % (stream, seq + 1), "host": host, "stream": stream, "seq": seq + 1,
          "prev": hashlib.sha256(raw.encode()).hexdigest(), "source": "local", "type": "vm.started",
          "severity": "info", "vm": {"name": "ghost"}, "ts": e["ts"], "msg": "forged"}
text = json.dumps(forged, separators=(",", ":"))
c.execute("INSERT INTO events (stream_id, seq, ts_us, type, severity, indexed_us, verdict, raw)"
          " VALUES (?, ?, ?, 'vm.started', 6, ?, 0, ?)", (sid, seq + 1, ts + 1, ts + 1, text))
c.execute("UPDATE streams SET max_seq = ?, count = count + 1 WHERE id = ?", (seq + 1, sid))
c.commit()
print(seq + 1)
