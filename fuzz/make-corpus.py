#!/usr/bin/python3
"""make-corpus.py SRCDIR OUTDIR - seed corpora for the libFuzzer harnesses.

One directory per harness under OUTDIR, made from what the project has:
  fuzz_qmp_parse    the bytes QEMU sent in the recorded QMP transcripts
                    (tests/fixtures/qmp), plus the oddities measured in the
                    lab: id-less error bursts, an over-long line, invalid UTF-8
  fuzz_event        sample events of every source and their data shapes
  fuzz_ingest       RFC 5424 frames carrying those events, batched as the
                    forwarder sends them, plain RFC 5424/3164 syslog lines as a
                    stock rsyslog sends them, and control messages
  fuzz_conf         conf/*.conf and the configurations the tests write
  fuzz_journal_map  the journal export fixtures (tests/fixtures/journal), one
                    entry per seed, as the NAME=value lines the harness reads
  fuzz_lv_snapxml   the snapshot XML libvirtd wrote (tests/fixtures/libvirt)
Each harness's first input byte(s) choose options (see its header); seeds
carry a plausible choice.  Inputs that once found a bug are kept in
fuzz/regress/HARNESS/ and always seeded.
"""
import glob
import hashlib
import json
import os
import struct
import sys

src, out = sys.argv[1], sys.argv[2]
MAX = 16384          # keep seeds under the smoke run's -max_len


def put(harness, data):
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    data = data[:MAX]
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


# ---- QMP ---------------------------------------------------------------
def qmp_seeds():
    for path in sorted(glob.glob(os.path.join(src, "tests/fixtures/qmp/*.jsonl"))):
        stream = b""
        for line in open(path, encoding="utf-8"):
            rec = json.loads(line)
            if rec.get("dir") == "recv" and "raw" in rec:
                stream += rec["raw"].encode("utf-8", "surrogateescape")
        if stream:
            put("fuzz_qmp_parse", b"\x0f\xff" + stream)          # 16-byte reads, ~9.5K lines
            put("fuzz_qmp_parse", b"\x3f\x04" + stream[:4096])   # 64-byte reads, 212-byte lines
    burst = b"".join(b'{"error": {"class": "GenericError", "desc": "x%d"}}\r\n' % i for i in range(40))
    put("fuzz_qmp_parse", b"\x07\x10" + burst)
    put("fuzz_qmp_parse", b"\x3f\x00" + b'{"event": "X", "data": {"s": "' + b"A" * 8000 + b'"}}\r\n'
        + b'{"return": {}, "id": 1}\r\n')
    put("fuzz_qmp_parse", b"\x01\x20" + b'{"event": "STOP", "data": {"n": "\xff\xfe\xc3\x28"},'
        b' "timestamp": {"seconds": 1, "microseconds": 2}}\r\n')
    put("fuzz_qmp_parse", b"\x05\x20" + b'{"QMP": {"version": {}, "capabilities": []}}\r\n'
        b'{"return": [], "id": 7}\r\n{"return": {}}\r\n{"error": {"class": "X"}}\r\n'
        b'[1, 2]\r\n\r\nnot json\r\n{"event": 5}\r\n{"id": "s", "return": 1}\r\n')


# ---- events ------------------------------------------------------------
STREAM = "0123456789abcdef"


def event(seq, type_, source="qmp", **more):
    e = {"v": 1, "id": "%s-%d" % (STREAM, seq), "host": "hv1.example.org", "stream": STREAM,
         "seq": seq, "prev": "ab" * 32, "source": source, "type": type_, "severity": "info",
         "vm": {"name": "vm%d" % seq, "uuid": "2c3c1d4a-9a0e-4c1e-8f55-0d1c8d6e6f%02d" % (seq % 100)},
         "ts": "2026-11-22T10:00:%02d.123456Z" % (seq % 60),
         "received": "2026-11-22T10:00:%02d.223456Z" % (seq % 60), "msg": "%s of vm%d" % (type_, seq)}
    e.update(more)
    return e


EVENTS = [
    event(1, "vm.started", data={"socket": "/run/hvtrail/qmp/vm1.sock", "qemu_version": "7.2.22",
                                  "status": "running", "running": True}),
    event(2, "migration.completed", data={"total_time_ms": 5123, "downtime_ms": 41, "setup_time_ms": 12,
                                          "ram": {"transferred": 1 << 30, "dirty_pages_rate": 12,
                                                  "mbps": 943.7}, "passes": 3}),
    event(3, "snapshot.created", data={"name": "before-upgrade", "duration_ms": 820, "kind": "internal"}),
    event(4, "colo.failover", severity="crit", data={"mode": "primary", "reason": "request"}),
    event(5, "vm.stopped", late=True, data={"qmp": {"event": "SHUTDOWN", "data": {"guest": True,
                                                                                  "reason": "guest-shutdown"}}}),
    event(6, "journal.gap", source="journald", data={"missing_from": "s=abc;i=1", "entries": 1200}),
    event(7, "vm.resource", source="journald", truncated=True, data={"fields": {"_COMM": "libvirtd"}}),
    {"type": "test.local", "msg": "from hvtrail emit", "data": {"k": [1, 2.5, None, "x", {"y": False}]}},
    event(8, "syslog.message", source="syslog", msg="caf\u00e9 \u2603 \U0001F600"),
]


def event_seeds():
    for e in EVENTS:
        text = json.dumps(e, separators=(",", ":"), ensure_ascii=False).encode()
        put("fuzz_event", b"\x8f" + text)     # depth 17, fields 144, identity required
        put("fuzz_event", b"\xee" + json.dumps(e, indent=1).encode())


# ---- frames ------------------------------------------------------------
def rfc5424(e):
    body = json.dumps(e, separators=(",", ":"), ensure_ascii=False).encode()
    return b"<30>1 %s %s hvtrail - %s - @cee:" % (e.get("ts", "-").encode(), e.get("host", "-").encode(),
                                                   e["type"].encode()) + body


def ingest_seeds():
    msgs = [rfc5424(e) for e in EVENTS if "id" in e]
    for m in msgs:
        put("fuzz_ingest", m)
    put("fuzz_ingest", b"\n".join(msgs))
    put("fuzz_ingest", b"<30>1 2026-11-22T10:00:00Z hv1.example.org hvtrail - hvtrail.sync - @cee:{}")
    put("fuzz_ingest", b"<30>1 2026-11-22T10:00:00Z hv1.example.org hvtrail - hvtrail.stats - @cee:"
        b'{"stream":"0123456789abcdef","spool_depth":3,"connected_to":"c:2514","last_error":""}')
    put("fuzz_ingest", b"<13>1 2026-11-22T10:00:00.5+01:00 host1 libvirtd 1187 ID47 "
        b'[exampleSDID@32473 iut="3" eventSource="App"] \xef\xbb\xbfBOM and SD\n'
        b"<14>Nov 22 10:00:00 host2 virtqemud[812]: classic RFC 3164 line\r\n"
        b"<191>2026-11-22T10:00:00Z host3 tag: 3164 with an RFC 3339 stamp\n"
        b"<0>1 - - - - - - all nil")
    put("fuzz_ingest", msgs[0] + b"\nnot syslog\n" + msgs[1].replace(b"hv1.example.org", b"hv2", 1)
        + b"\n" + msgs[2])
    seal = {"host": "hv1.example.org", "stream": STREAM, "seq": 2, "hash": "ab" * 32,
            "time": "2026-11-22T10:00:03.000000Z", "final": False,
            "cert": "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n",
            "sig": "MEUCIQDk" + "A" * 80 + "=="}
    seal_msg = (b"<30>1 2026-11-22T10:00:03Z hv1.example.org hvtrail - hvtrail.seal - @cee:"
                + json.dumps(seal, separators=(",", ":")).encode())
    put("fuzz_ingest", seal_msg)
    put("fuzz_ingest", seal_msg + b"\n" + b"\n".join(msgs[:3]))


# ---- configurations ----------------------------------------------------
def conf_seeds():
    for path in sorted(glob.glob(os.path.join(src, "conf/*.conf"))):
        put("fuzz_conf", open(path, "rb").read())
    put("fuzz_conf", b"[collector]\nstate_dir = /tmp/c\nbatch_delay = 5ms\nmax_message_size = 8K\n"
        b"[listen]\naddress = 127.0.0.1\nport = 2514\npermitted_peers = hv1.test, *.hv.example.org\n"
        b"permitted_peers = SHA256:AB:CD\nauth_mode = fingerprint\nmax_frame_size = 1M\n"
        b"[listen:b]\ntls = no\n[inbox]\nfsync = interval\nfsync_interval = 250ms\n[idx_sqlite]\npath = x\n")
    put("fuzz_conf", b"[forwarder]\nhost = hv1.test\nstate_dir = /tmp/f\nuser = hvtrail\n[spool]\n"
        b"full_policy = drop-oldest\nmax_size = 2G\n; comment\n# comment\n[every]\ns = v\np = /x\ni = -3\n"
        b"b = yes\nz = 1T\nd = 2h\ne = c-d\nl = a, b , c\nr = set\n[in_qmp]\n")


# ---- journal -------------------------------------------------------------
def journal_entries(path):
    """Entries of a journal export file as lists of (name, value) bytes."""
    data = open(path, "rb").read()
    i, entry = 0, []
    while i < len(data):
        nl = data.find(b"\n", i)
        if nl < 0:
            nl = len(data)
        line = data[i:nl]
        if not line:
            if entry:
                yield entry
            entry, i = [], nl + 1
            continue
        if b"=" in line:
            k, v = line.split(b"=", 1)
            entry.append((k, v))
            i = nl + 1
        else:   # binary field: NAME\n<le64 size><data>\n
            size = struct.unpack("<Q", data[nl + 1:nl + 9])[0]
            entry.append((line, data[nl + 9:nl + 9 + size]))
            i = nl + 9 + size + 1
    if entry:
        yield entry


def journal_seeds():
    for path in sorted(glob.glob(os.path.join(src, "tests/fixtures/journal/*.export"))):
        for entry in journal_entries(path):
            put("fuzz_journal_map", b"\n".join(k + b"=" + v.replace(b"\n", b" ") for k, v in entry))


def snapxml_seeds():
    for path in sorted(glob.glob(os.path.join(src, "tests/fixtures/libvirt/*.xml"))):
        put("fuzz_lv_snapxml", open(path, "rb").read())


def regression_seeds():
    """Inputs that once found a bug (fuzz/regress/HARNESS/NAME): always run."""
    for path in sorted(glob.glob(os.path.join(src, "fuzz/regress/*/*"))):
        put(os.path.basename(os.path.dirname(path)), open(path, "rb").read())


for f in (qmp_seeds, event_seeds, ingest_seeds, conf_seeds, journal_seeds, snapxml_seeds,
          regression_seeds):
    f()
for d in sorted(os.listdir(out)):
    print("%s: %d seeds" % (d, len(os.listdir(os.path.join(out, d)))))
