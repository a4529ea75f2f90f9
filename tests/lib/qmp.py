#!/usr/bin/env python3
"""qmp.py - a small QMP (QEMU Machine Protocol) client for the tests.

As a library:
    with QMP("/path/vm.sock") as q:
        q.cmd("migrate-set-capabilities", {"capabilities": [...]})
        ev = q.wait_event("MIGRATION", timeout=30, data={"status": "completed"})

From the shell (prints the reply's "return" value as compact JSON):
    qmp.py SOCK CMD [JSON-ARGS]
    qmp.py SOCK --wait-event NAME [--data KEY=VALUE]... [--timeout S]
    qmp.py SOCK CMD [JSON-ARGS] --wait-event NAME ...   (command, then wait, one session)
Exit status: 0 ok, 1 QMP error reply, 2 timeout or connection problem, 64 usage.
"""

import os
import json
import socket
import sys
import time


class QMPError(Exception):
    """The command was answered with an error."""


def scaled(seconds):
    """A bound times the tests' one timeout knob (tests/lib/common.sh)."""
    return seconds * float(os.environ.get("HVT_TIMEOUT_FACTOR") or 1)


class QMPTimeout(Exception):
    """Nothing suitable arrived in time."""


class QMP:
    def __init__(self, path, timeout=10.0):
        """Connect (retrying while the socket is not there yet, up to
        timeout seconds), read the greeting and leave negotiation mode."""
        self.path = path
        self.events = []        # received, not yet consumed by wait_event
        self._buf = b""
        self._next_id = 0
        timeout = scaled(timeout)
        deadline = time.monotonic() + timeout
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.sock.connect(path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                self.sock.close()
                if time.monotonic() >= deadline:
                    raise QMPTimeout("cannot connect to %s within %.1fs" % (path, timeout))
                time.sleep(0.05)
        greeting = self._read(deadline)
        if "QMP" not in greeting:
            raise QMPError("no QMP greeting from %s: %r" % (path, greeting))
        self.greeting = greeting["QMP"]
        self.cmd("qmp_capabilities", timeout=max(deadline - time.monotonic(), 1.0))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def _read(self, deadline):
        """One message (a JSON object on one line)."""
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise QMPTimeout("no message from %s in time" % self.path)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise QMPTimeout("no message from %s in time" % self.path) from None
            if not chunk:
                raise ConnectionError("%s closed the connection" % self.path)
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def cmd(self, name, args=None, timeout=30.0):
        """Run a command and return its "return" value; events that arrive
        meanwhile are kept for wait_event."""
        self._next_id += 1
        cid = "hvt-%d" % self._next_id
        msg = {"execute": name, "id": cid}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\r\n")
        deadline = time.monotonic() + scaled(timeout)
        while True:
            m = self._read(deadline)
            if "event" in m:
                self.events.append(m)
            elif m.get("id") == cid:
                if "error" in m:
                    raise QMPError("%s: %s" % (name, m["error"].get("desc", m["error"])))
                return m.get("return")

    def wait_event(self, name, timeout=30.0, data=None):
        """The first event NAME (whose data contains every key/value of
        `data`), received before or after this call."""
        def same(have, want):      # want as typed in a shell: "completed", "true", "3"
            return str(want) in (str(have), json.dumps(have))

        def matches(ev):
            if ev.get("event") != name:
                return False
            d = ev.get("data", {})
            return all(same(d.get(k), v) for k, v in (data or {}).items())

        deadline = time.monotonic() + scaled(timeout)
        while True:
            for i, ev in enumerate(self.events):
                if matches(ev):
                    del self.events[: i + 1]
                    return ev
            self.events.clear()
            try:
                m = self._read(deadline)
            except QMPTimeout:
                raise QMPTimeout("no event %s%s from %s within %.1fs"
                                 % (name, " %s" % data if data else "", self.path, timeout)) from None
            if "event" in m:
                self.events.append(m)


def _usage():
    sys.stderr.write(__doc__)
    sys.exit(64)


def main(argv):
    if len(argv) < 3:
        _usage()
    path, rest = argv[1], argv[2:]
    command = args = event = None
    data = {}
    timeout = 30.0
    if not rest[0].startswith("--"):
        command = rest.pop(0)
        if rest and not rest[0].startswith("--"):
            try:
                args = json.loads(rest.pop(0))
            except ValueError as e:
                sys.stderr.write("qmp.py: the arguments are not JSON: %s\n" % e)
                return 64
    while rest:
        opt = rest.pop(0)
        if not rest:
            _usage()
        val = rest.pop(0)
        if opt == "--wait-event":
            event = val
        elif opt == "--data" and "=" in val:
            k, v = val.split("=", 1)
            data[k] = v
        elif opt == "--timeout" and val.replace(".", "", 1).isdigit():
            timeout = float(val)
        else:
            _usage()
    if command is None and event is None:
        _usage()
    try:
        with QMP(path, timeout=min(timeout, 10.0)) as q:
            if command is not None:
                ret = q.cmd(command, args, timeout=timeout)
                if event is None:
                    print(json.dumps(ret, separators=(",", ":")))
            if event is not None:
                print(json.dumps(q.wait_event(event, timeout, data), separators=(",", ":")))
    except QMPError as e:
        sys.stderr.write("qmp.py: %s\n" % e)
        return 1
    except (QMPTimeout, OSError) as e:
        sys.stderr.write("qmp.py: %s\n" % e)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
