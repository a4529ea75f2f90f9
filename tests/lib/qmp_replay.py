#!/usr/bin/env python3
"""qmp_replay.py - serve recorded QEMU monitor transcripts to real QMP clients.

Stands in for QEMU where the real thing cannot run (COLO needs KVM): each
--serve socket behaves like one QEMU -qmp unix:SOCKET,server=on,wait=off
monitor, and plays back the events a real QEMU sent on it, on the recorded
time line, to whatever client connects (hvtrail-forwarder's in_qmp).

Usage:
    qmp_replay.py [--speed F] [--start all|first|signal|now] [--report FILE]
                  --serve SOCKET TRANSCRIPT [--answers FILE]... [--changes-from FILE]...
                          [--answer CMD=JSON]...
                  [--serve SOCKET TRANSCRIPT ...]...

  --serve SOCKET TRANSCRIPT
        listen on the unix socket SOCKET (created; it must not exist) and
        replay the monitor recorded in TRANSCRIPT: its greeting, then its
        events.  The options after it, up to the next --serve, are its own:
  --answers FILE
        also take answers to commands from FILE, another monitor of the same
        QEMU process (e.g. the driver's monitor next to a "-mon2" file).
        TRANSCRIPT's own commands are always used.
  --changes-from FILE
        FILE's commands and notes change this QEMU's state (see ANSWERS)
        but its answers are not this QEMU's (e.g. the other side of a COLO
        pair, whose x-colo-lost-heartbeat ends COLO here too).
  --answer CMD=JSON
        when the recording has no valid answer to CMD (any arguments),
        answer {"return": JSON}.  For what the recording lacks but the
        scenario knows: query-name='{"name": "web01"}'.
  --speed F
        play the time line F times faster (default 1).  QEMU's event
        timestamps are rewritten to the moment each event is sent, so the
        recorded intervals, divided by F, are kept exactly.
  --start all|first|signal|now
        the time line starts when every socket has a negotiated client that
        has sent nothing for 0.5 s (all, the default: nobody misses the
        start, and the clients' first questions are about the start), when
        one has (first), on SIGUSR1 (signal: a test starts it once it saw
        the clients settled, e.g. their vm.started indexed), or at once
        (now).  Events due while a socket has no negotiated client are
        lost, as with QEMU, and counted.
  --report FILE
        keep FILE (JSON, replaced atomically on every change) up to date:
        per socket the connections, events sent / missed / total, the
        commands answered and those that were not; "finished" once every
        recording has played to its end.  Tests wait on it.

Exit: 0 on SIGTERM/SIGINT (the socket files are removed), 64 on bad usage,
66 for an unreadable or unusable transcript.

TRANSCRIPTS (tests/fixtures/qmp/*.jsonl) hold one JSON object per line:
"t" seconds since the scenario started (shared by every file of a
scenario), "ts" the wall clock, "dir" recv (QEMU to the recorder), send
(recorder to QEMU), note (something the recorder did, e.g. killed the peer),
eof (QEMU closed the monitor: it exited) or close (the recorder hung up);
"raw" the exact line and "msg" it parsed.  Events go out as their recorded
bytes with only QEMU's timestamp changed; replies as recorded with only the
id changed to the client's.

PROTOCOL.  Like QEMU 7.2: the greeting, capabilities negotiation (other
commands are refused until qmp_capabilities), one client at a time (a
second connection waits, greeted only when the first leaves), events only
to a negotiated client.  The client may send any commands in any order
with any ids; one JSON object per line.  At a recorded eof the connection
is closed and the socket left stale (nobody listens), as a QEMU that exited;
after a recorded close, or the last event, the socket stays served.

ANSWERS.  A command is answered with a reply QEMU gave in the recording to
the same command with the same arguments - not the one at the same position,
since a client's order and ids are its own.  Which one: the client asks
about what it has seen, so the question is dated at the scenario time of the
last event sent on its connection (or of its greeting); that date does not
depend on how fast the client is, so a slow build gets the same answers.  A
recorded answer is valid for that date when nothing that may change it lies
between the two: no command other than a query (and not refused) sent on a
monitor of the recording, no note, and no event that changes what this
command reports (EVENT_CHANGES below: STOP and RESUME change query-status,
not query-colo-status; any event changes what is not listed).  Of the valid
answers the first at or after the date wins (the recorder asked right after
the event, as the client does), else the last before it.  Identity queries
(query-name, query-uuid, ...) are valid at any time.  No valid answer:
--answer's, else an error reply naming the command and the date - the
honest answer where the recorder never asked about that moment.
"""

import asyncio
import json
import os
import re
import signal
import socket
import sys
import time

# Answers that do not change while the process lives.
CONSTANT = {"query-name", "query-uuid", "query-version", "query-commands", "query-qmp-schema",
            "query-target", "query-kvm"}
# The events after which a query's answer may differ; any event, for a
# command not listed.
_JOB_EVENTS = {"JOB_STATUS_CHANGE", "BLOCK_JOB_COMPLETED", "BLOCK_JOB_CANCELLED",
               "BLOCK_JOB_ERROR", "BLOCK_JOB_READY", "BLOCK_JOB_PENDING"}
EVENT_CHANGES = {
    "query-status": {"STOP", "RESUME", "SHUTDOWN", "RESET", "SUSPEND", "SUSPEND_DISK", "WAKEUP",
                     "GUEST_PANICKED", "GUEST_CRASHLOADED", "MIGRATION", "COLO_EXIT"},
    "query-migrate": {"MIGRATION", "MIGRATION_PASS", "COLO_EXIT"},
    "query-colo-status": {"MIGRATION", "COLO_EXIT"},
    "query-jobs": _JOB_EVENTS,
    "query-block-jobs": _JOB_EVENTS,
}
# Commands that change nothing a query reports.
READ_ONLY_PREFIXES = ("query-",)
READ_ONLY = {"qmp_capabilities", "migrate-set-capabilities", "migrate-set-parameters"}
HMP_READ_ONLY = ("info ", "xp ", "x ")   # human-monitor-command lines that only read

MAX_LINE = 1 << 20
SETTLE = 0.5            # s of silence after which a client is done with its first questions


def usage(msg=None):
    if msg:
        sys.stderr.write("qmp_replay.py: %s\n" % msg)
    sys.stderr.write(__doc__.split("\nExit:")[0] + "\n")
    sys.exit(64)


def die(code, msg):
    sys.stderr.write("qmp_replay.py: %s\n" % msg)
    sys.exit(code)


# ---- transcripts --------------------------------------------------------------

def load(path):
    recs = []
    try:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                except ValueError as e:
                    die(66, "%s:%d: not JSON: %s" % (path, n, e))
                if not isinstance(r, dict) or "dir" not in r or "t" not in r:
                    die(66, "%s:%d: not a transcript record (no dir/t)" % (path, n))
                r["file"] = os.path.basename(path)
                recs.append(r)
    except OSError as e:
        die(66, "cannot read %s: %s" % (path, e))
    return recs


def event_time(r):
    """The scenario time QEMU stamped the event with (its clock, the same
    for every monitor of the scenario), else when the recorder read it."""
    ts = r.get("msg", {}).get("timestamp")
    if isinstance(ts, dict) and "ts" in r:
        try:
            return ts["seconds"] + ts["microseconds"] / 1e6 - (r["ts"] - r["t"])
        except (KeyError, TypeError):
            pass
    return r["t"]


def changes_state(msg):
    """Would QEMU's answers to queries differ after this command?"""
    if not isinstance(msg, dict) or not isinstance(msg.get("execute"), str):
        return True   # raw bytes: who knows
    cmd = msg["execute"]
    if cmd.startswith(READ_ONLY_PREFIXES) or cmd in READ_ONLY:
        return False
    if cmd == "human-monitor-command":
        line = (msg.get("arguments") or {}).get("command-line", "")
        return not (isinstance(line, str) and line.startswith(HMP_READ_ONLY))
    return True


def canon(args):
    return json.dumps(args or {}, sort_keys=True, separators=(",", ":"))


class Answer:
    def __init__(self, t, file, raw, msg):
        self.t, self.file, self.raw, self.msg = t, file, raw, msg


class AnswerBook:
    """The replies a QEMU process gave, and when its state changed."""

    def __init__(self):
        self.answers = {}          # (cmd, canon(args)) -> [Answer] by time
        self.changes = []          # scenario times of commands and notes
        self.events = []           # (scenario time, name) of this QEMU's events
        self.fallback = {}         # cmd -> return value (--answer)

    def add_file(self, recs, use_answers=True):
        replies = {}
        for r in recs:
            m = r.get("msg")
            if r["dir"] == "recv" and isinstance(m, dict) and "id" in m and "event" not in m:
                replies.setdefault(json.dumps(m["id"], sort_keys=True), r)
        for r in recs:
            if r["dir"] == "note":
                self.changes.append(r["t"])
                continue
            if r["dir"] != "send":
                continue
            m = r.get("msg")
            if not isinstance(m, dict):
                self.changes.append(r["t"])   # raw bytes only: who knows
                continue
            rep = replies.get(json.dumps(m["id"], sort_keys=True)) if "id" in m else None
            refused = rep is not None and "error" in rep["msg"]
            if changes_state(m) and not refused:
                self.changes.append(r["t"])
            if use_answers and rep is not None and isinstance(m.get("execute"), str) \
                    and not rep.get("truncated") and isinstance(rep.get("msg"), dict):
                key = (m["execute"], canon(m.get("arguments")))
                self.answers.setdefault(key, []).append(
                    Answer(r["t"], r["file"], rep.get("raw"), rep["msg"]))
        self.changes.sort()
        for v in self.answers.values():
            v.sort(key=lambda a: a.t)

    def _changed(self, cmd, lo, hi, event_at_hi):
        """Did QEMU's answer to cmd change between lo and hi?  An event at
        exactly hi counts when hi is the question's date (that event is what
        the client saw last), not when hi is an answer's."""
        if any(lo < c < hi for c in self.changes):
            return True
        which = EVENT_CHANGES.get(cmd)
        return any((lo < t < hi or (event_at_hi and t == hi)) and (which is None or name in which)
                   for t, name in self.events)

    def find(self, cmd, args, when):
        """(Answer, None) or (None, fallback return value) or (None, None)."""
        cands = self.answers.get((cmd, canon(args)), [])
        if cmd in CONSTANT and cands:
            return min(cands, key=lambda a: abs(a.t - when)), None
        for a in cands:
            if a.t >= when and not self._changed(cmd, when, a.t, False):
                return a, None
        for a in reversed(cands):
            if a.t < when and not self._changed(cmd, a.t, when, True):
                return a, None
        return None, self.fallback.get(cmd)

    def recorded_times(self, cmd, args):
        return [a.t for a in self.answers.get((cmd, canon(args)), [])]


# ---- the time line --------------------------------------------------------------

class Clock:
    """Scenario time t runs at speed times the monotonic clock once started;
    before, it stands at t0 (when the recorder's monitors were connected)."""

    def __init__(self, t0, speed):
        self.t0, self.speed = t0, speed
        self.mono0 = self.wall0 = None

    @property
    def started(self):
        return self.mono0 is not None

    def start(self):
        self.mono0, self.wall0 = time.monotonic(), time.time()

    def now(self):
        return self.t0 if not self.started else self.t0 + (time.monotonic() - self.mono0) * self.speed

    def mono_of(self, t):
        return self.mono0 + (max(t, self.t0) - self.t0) / self.speed

    def wall_of(self, t):
        return self.wall0 + (max(t, self.t0) - self.t0) / self.speed


TS_RE = re.compile(r'^\{"timestamp": \{"seconds": \d+, "microseconds": \d+\}')


def with_timestamp(raw, msg, wall):
    sec, usec = int(wall), int(round((wall - int(wall)) * 1e6))
    if usec == 1000000:
        sec, usec = sec + 1, 0
    stamp = '{"timestamp": {"seconds": %d, "microseconds": %d}' % (sec, usec)
    if isinstance(raw, str) and TS_RE.match(raw):
        return TS_RE.sub(stamp, raw, count=1).rstrip("\r\n") + "\r\n"
    m = dict(msg)
    m["timestamp"] = {"seconds": sec, "microseconds": usec}
    return json.dumps(m) + "\r\n"


def with_id(a, cid, has_id):
    """The recorded reply, its id replaced by the client's (or dropped)."""
    rid = json.dumps(a.msg["id"])
    raw = a.raw if isinstance(a.raw, str) else None
    if raw is not None and raw.count('"id": ' + rid) == 1:
        if has_id:
            return raw.replace('"id": ' + rid, '"id": ' + json.dumps(cid), 1).rstrip("\r\n") + "\r\n"
        for pat in (', "id": ' + rid, '"id": ' + rid + ', '):
            if raw.count(pat) == 1:
                return raw.replace(pat, "", 1).rstrip("\r\n") + "\r\n"
    m = {k: v for k, v in a.msg.items() if k != "id"}
    if has_id:
        m["id"] = cid
    return json.dumps(m) + "\r\n"


def error_reply(cls, desc, cid=None, has_id=False):
    m = {"error": {"class": cls, "desc": desc}}
    if has_id:
        m["id"] = cid
    return json.dumps(m) + "\r\n"


# ---- one monitor ------------------------------------------------------------------

class Conn:
    def __init__(self, reader, writer, n):
        self.reader, self.writer, self.n = reader, writer, n
        self.negotiated = False
        self.asked_about = None     # scenario time its questions are about
        self.last_heard = time.monotonic()


class Monitor:
    def __init__(self, replay, path, transcript):
        self.replay, self.path = replay, path
        self.name = os.path.basename(path)
        recs = load(transcript)
        self.transcript = os.path.basename(transcript)
        greet = [r for r in recs if r["dir"] == "recv" and isinstance(r.get("msg"), dict)
                 and "QMP" in r["msg"]]
        if not greet:
            die(66, "%s holds no QMP greeting" % transcript)
        self.greeting = greet[0]["raw"] if isinstance(greet[0].get("raw"), str) \
            else json.dumps(greet[0]["msg"]) + "\r\n"
        self.t_conn = greet[0]["t"]
        self.events, self.skipped = [], 0
        last = None
        for r in recs:
            m = r.get("msg")
            if r["dir"] != "recv" or not isinstance(m, dict) or "event" not in m:
                continue
            if r.get("truncated"):
                self.skipped += 1   # the recorder kept only the start of the line
                continue
            t = event_time(r)
            last = t if last is None else max(last, t)   # keep the recorded order
            self.events.append((last, r.get("raw"), m))
        ends = [r for r in recs if r["dir"] in ("eof", "close")]
        self.end = ends[0] if ends else None
        self.book = AnswerBook()
        self.book.add_file(recs)
        self.book.events = [(t, m["event"]) for t, _, m in self.events]
        self.conn = None
        self.waiting = []           # connections QEMU has not accepted yet
        self.server = self.sock = self.ino = None
        self.listening = False
        self.nconn = 0
        self.sent = self.missed = 0
        self.answered, self.unanswered = {}, {}
        self.ended = False

    def log(self, fmt, *a):
        self.replay.log("%s: %s" % (self.name, fmt % a))

    # -- socket --
    async def listen(self):
        if os.path.lexists(self.path):
            die(64, "%s exists already" % self.path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(self.path)
        self.ino = os.stat(self.path).st_ino
        self.sock.listen(8)
        self.server = await asyncio.start_unix_server(self.accepted, sock=self.sock,
                                                      limit=MAX_LINE)
        self.listening = True

    def stale(self):
        """QEMU exited: nobody listens on the socket file any more."""
        if self.server is not None:
            self.server.close()
        self.listening = False
        for c in self.waiting:
            c.writer.close()
        self.waiting = []

    def remove(self):
        try:
            if os.stat(self.path).st_ino == self.ino:
                os.unlink(self.path)
        except OSError:
            pass

    async def accepted(self, reader, writer):
        self.nconn += 1
        c = Conn(reader, writer, self.nconn)
        if not self.listening:
            writer.close()
            return
        if self.conn is not None:
            self.log("connection %d waits: client %d holds the monitor", c.n, self.conn.n)
            self.waiting.append(c)
            self.replay.changed()
            return
        await self.serve(c)

    async def serve(self, c):
        self.conn = c
        c.asked_about = self.replay.clock.now()
        self.log("client %d connected (t=%.3f)", c.n, c.asked_about)
        self.replay.changed()
        try:
            c.writer.write(self.greeting.encode())
            while True:
                try:
                    line = await c.reader.readline()
                except (ValueError, asyncio.LimitOverrunError):
                    c.writer.write(error_reply("GenericError", "JSON parse error, line too long").encode())
                    break
                except (ConnectionError, OSError):
                    break
                if not line:
                    break
                self.command(c, line)
        finally:
            if self.conn is c:
                self.conn = None
            c.writer.close()
            self.log("client %d left", c.n)
            self.replay.changed()
            if self.waiting and self.listening:
                nxt = self.waiting.pop(0)
                asyncio.ensure_future(self.serve(nxt))

    def send(self, c, text):
        try:
            c.writer.write(text.encode())
        except (ConnectionError, OSError, RuntimeError):
            pass

    # -- commands --
    def command(self, c, line):
        c.last_heard = time.monotonic()
        line = line.strip()
        if not line:
            return
        try:
            m = json.loads(line)
        except ValueError:
            self.send(c, error_reply("GenericError", "JSON parse error, invalid JSON"))
            return
        if not isinstance(m, dict):
            self.send(c, error_reply("GenericError", "QMP input must be a JSON object"))
            return
        has_id, cid = "id" in m, m.get("id")
        cmd, args = m.get("execute"), m.get("arguments")
        if not isinstance(cmd, str):
            self.send(c, error_reply("GenericError", "QMP input lacks member 'execute'", cid, has_id))
            return
        if not c.negotiated:
            if cmd != "qmp_capabilities":
                self.send(c, error_reply("CommandNotFound", "Expecting capabilities negotiation "
                                         "with 'qmp_capabilities'", cid, has_id))
                return
            c.negotiated = True
            self.send(c, json.dumps({"return": {}, **({"id": cid} if has_id else {})}) + "\r\n")
            self.replay.changed()
            return
        if cmd == "qmp_capabilities":
            self.send(c, error_reply("CommandNotFound", "Capabilities negotiation is already "
                                     "complete, command ignored", cid, has_id))
            return
        when = c.asked_about
        a, fallback = self.book.find(cmd, args, when)
        if a is not None:
            self.send(c, with_id(a, cid, has_id))
            self.answered[cmd] = self.answered.get(cmd, 0) + 1
            self.log("%s answered as recorded at t=%.3f in %s (asked about t=%.3f)",
                     cmd, a.t, a.file, when)
        elif fallback is not None:
            self.send(c, json.dumps({"return": fallback, **({"id": cid} if has_id else {})}) + "\r\n")
            self.answered[cmd] = self.answered.get(cmd, 0) + 1
            self.log("%s answered from --answer (asked about t=%.3f)", cmd, when)
        else:
            times = self.book.recorded_times(cmd, args)
            args_words = (" with arguments %s" % canon(args)) if args else ""
            desc = ("qmp_replay: the recording holds no answer to %s%s valid at t=%.3f s (%s)"
                    % (cmd, args_words, when,
                       "answered at t=%s, with state changes in between"
                       % ",".join("%.3f" % t for t in times[:8]) if times else "never asked"))
            self.send(c, error_reply("GenericError", desc, cid, has_id))
            self.unanswered[cmd] = self.unanswered.get(cmd, 0) + 1
            self.log("%s", desc)
        self.replay.changed()

    # -- the time line --
    async def play(self):
        clock = self.replay.clock
        for t, raw, msg in self.events:
            delay = clock.mono_of(t) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            c = self.conn
            if c is not None and c.negotiated:
                self.send(c, with_timestamp(raw, msg, clock.wall_of(t)))
                c.asked_about = t
                self.sent += 1
                self.log("event %s (t=%.3f)", msg["event"], t)
            else:
                self.missed += 1
                self.log("event %s (t=%.3f) missed: no negotiated client", msg["event"], t)
            self.replay.changed()
        if self.end is not None:
            delay = clock.mono_of(self.end["t"]) - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.end["dir"] == "eof":
                self.log("QEMU closed the monitor (recorded eof at t=%.3f): socket left stale",
                         self.end["t"])
                c = self.conn
                self.stale()
                if c is not None:
                    c.writer.close()
        self.ended = True
        self.log("recording played to its end")
        self.replay.changed()

    def report(self):
        return {"socket": self.path, "transcript": self.transcript,
                "connections": self.nconn, "connected": self.conn is not None,
                "waiting": len(self.waiting),
                "events_sent": self.sent, "events_missed": self.missed,
                "events_total": len(self.events), "events_unreadable": self.skipped,
                "answered": self.answered, "unanswered": self.unanswered,
                "listening": self.listening, "ended": self.ended}


# ---- the whole replay -------------------------------------------------------------

class Replay:
    def __init__(self, speed, start, report):
        self.speed, self.start_mode, self.report_path = speed, start, report
        self.monitors = []
        self.clock = None
        self.started = asyncio.Event()

    def log(self, text):
        now = self.clock.now() if self.clock else 0.0
        sys.stderr.write("qmp_replay [t=%7.3f]: %s\n" % (now, text))
        sys.stderr.flush()

    async def settled(self):
        """--start all / first: the clients are negotiated and quiet."""
        while not self.clock.started:
            await asyncio.sleep(0.05)
            quiet = [m for m in self.monitors if m.conn is not None and m.conn.negotiated
                     and time.monotonic() - m.conn.last_heard >= SETTLE]
            if len(quiet) == len(self.monitors) or (quiet and self.start_mode == "first"):
                self.begin()

    def begin(self):
        if self.clock.started:
            return
        self.clock.start()
        self.log("time line started (speed %g)" % self.speed)
        self.started.set()
        self.changed()

    def changed(self):
        if not self.report_path:
            return
        doc = {"speed": self.speed, "started": self.clock.started,
               "finished": all(m.ended for m in self.monitors),
               "monitors": [m.report() for m in self.monitors]}
        tmp = self.report_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(tmp, self.report_path)

    async def run(self, stop):
        self.clock = Clock(max(m.t_conn for m in self.monitors), self.speed)
        if self.start_mode == "signal":   # before anyone can connect and see a socket
            asyncio.get_running_loop().add_signal_handler(signal.SIGUSR1, self.begin)
        for m in self.monitors:
            await m.listen()
            self.log("listening on %s for %s (%d events)" % (m.path, m.transcript, len(m.events)))
        self.changed()
        if self.start_mode == "now":
            self.begin()
        elif self.start_mode == "signal":
            self.log("the time line starts on SIGUSR1 (pid %d)" % os.getpid())
        else:
            asyncio.ensure_future(self.settled())
        waiter = asyncio.ensure_future(self.started.wait())
        await asyncio.wait([waiter, stop], return_when=asyncio.FIRST_COMPLETED)
        if self.clock.started:
            plays = [asyncio.ensure_future(m.play()) for m in self.monitors]
            await stop
            for p in plays:
                p.cancel()
        for m in self.monitors:
            m.stale()
            m.remove()
        self.changed()


def parse(argv):
    speed, start, report = 1.0, "all", None
    serves = []
    i = 0

    def arg():
        nonlocal i
        if i + 1 >= len(argv):
            usage("%s needs a value" % argv[i])
        i += 1
        return argv[i]

    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            usage()
        elif a == "--speed":
            try:
                speed = float(arg())
            except ValueError:
                usage("--speed wants a number")
            if not speed > 0:
                usage("--speed must be positive")
        elif a == "--start":
            start = arg()
            if start not in ("all", "first", "signal", "now"):
                usage("--start is all, first, signal or now")
        elif a == "--report":
            report = arg()
        elif a == "--serve":
            sock = arg()
            serves.append({"socket": sock, "transcript": arg(), "answers": [], "changes": [],
                           "answer": {}})
        elif a in ("--answers", "--changes-from", "--answer"):
            if not serves:
                usage("%s belongs to a --serve" % a)
            v = arg()
            if a == "--answers":
                serves[-1]["answers"].append(v)
            elif a == "--changes-from":
                serves[-1]["changes"].append(v)
            else:
                cmd, eq, js = v.partition("=")
                try:
                    serves[-1]["answer"][cmd] = json.loads(js)
                except ValueError:
                    usage("--answer %s: not CMD=JSON" % v)
                if not eq or not cmd:
                    usage("--answer %s: not CMD=JSON" % v)
        else:
            usage("unknown argument %s" % a)
        i += 1
    if not serves:
        usage("nothing to serve")
    return speed, start, report, serves


def main(argv):
    speed, start, report, serves = parse(argv[1:])
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    replay = Replay(speed, start, report)
    for s in serves:
        m = Monitor(replay, s["socket"], s["transcript"])
        for f in s["answers"]:
            m.book.add_file(load(f))
        for f in s["changes"]:
            m.book.add_file(load(f), use_answers=False)
        m.book.fallback.update(s["answer"])
        replay.monitors.append(m)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    try:
        loop.run_until_complete(replay.run(stop))
    finally:
        for m in replay.monitors:
            m.remove()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
