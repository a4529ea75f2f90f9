#!/usr/bin/env python3
"""journald_send.py KIND FROM COUNT - write entries to a running journald (the
socket in $JD_SOCKET, default /run/systemd/journal/socket) the
way libvirt does: raw native-protocol datagrams to /run/systemd/journal/socket
(libvirt sets no SYSLOG_IDENTIFIER), from a process named libvirtd
(prctl PR_SET_NAME), so journald itself records _COMM=libvirtd, _PID, _UID.

KIND: taint     libvirtd warnings naming a VM (journal.message), TEST_SEQ=i
      story     one VM's lifecycle as libvirt logs it at info level:
                audit copies (conf.domain_audit) start/stop, a migration error
      machined  "New machine" from a process calling itself systemd-machined
      noise     a process named sshd (must not match)"""
import ctypes
import os
import socket
import subprocess
import sys
import time

SOCK = os.environ.get("JD_SOCKET", "/run/systemd/journal/socket")   # a namespace has its own
# (set JD_NAMESPACE too, to wait for the namespace's journal)
UUID = "5f0c3c56-3d6e-4f3a-9d0e-2a51c4b0e7a1"


def rename(comm):
    ctypes.CDLL(None).prctl(15, comm.encode(), 0, 0, 0)      # PR_SET_NAME


def datagram(fields):
    return "".join(f"{k}={v}\n" for k, v in fields).encode()


def libvirt(prio, source, func, msg, seq):
    return [("MESSAGE", msg), ("PRIORITY", str(prio)), ("SYSLOG_FACILITY", "3"), ("LIBVIRT_SOURCE", source),
            ("CODE_FILE", "../src/x.c"), ("CODE_LINE", "1"), ("CODE_FUNC", func), ("TEST_SEQ", str(seq))]


def story(first):
    vm = f'vm="vm-live" uuid={UUID}'
    return [
        libvirt(6, "conf.domain_audit", "virDomainAuditLifecycle",
                f"success=yes virt=qemu op=start reason=booted {vm} vm-pid=4242", first),
        libvirt(3, "util.error", "qemuMigrationJobCheckStatus",
                "operation failed: job 'migration out' failed: Unable to write to socket: Broken pipe", first + 1),
        libvirt(6, "conf.domain_audit", "virDomainAuditLifecycle",
                f"success=yes virt=qemu op=stop reason=migrated {vm} vm-pid=0", first + 2),
    ]


def main():
    kind, first, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if kind == "taint":
        rename("libvirtd")
        msgs = [libvirt(4, "qemu.qemu_domain", "qemuDomainObjTaintMsg",
                        f"Domain id=1 name='vm-live' uuid={UUID} is tainted: custom-monitor (seq {i})", i)
                for i in range(first, first + count)]
    elif kind == "story":
        rename("libvirtd")
        msgs = story(first)
    elif kind == "machined":
        rename("systemd-machine")
        msgs = [[("MESSAGE", "New machine qemu-1-vm-live."), ("PRIORITY", "6"),
                 ("SYSLOG_IDENTIFIER", "systemd-machined"), ("MESSAGE_ID", "24d8d4452573402496068381a6312df2"),
                 ("NAME", "qemu-1-vm-live"), ("LEADER", "4242"), ("TEST_SEQ", str(first))]]
    else:
        rename("sshd")
        msgs = [[("MESSAGE", f"Accepted publickey (seq {i})"), ("SYSLOG_IDENTIFIER", "sshd"),
                 ("TEST_SEQ", str(i))] for i in range(first, first + count)]
    for m in msgs:
        s.sendto(datagram(m), SOCK)
    if not os.environ.get("JD_NOWAIT"):
        wait_written(msgs[-1])


def wait_written(last):
    """journald reads _COMM, _PID and _UID of a datagram's sender from /proc
    when it gets to the datagram: stay alive until it has written the last
    one (bounded), or a busy journald records them without _COMM.  JD_NOWAIT
    skips it (a sender that may not read the journal; _UID never needs /proc)."""
    seq = dict(last)["TEST_SEQ"]
    ns = os.environ.get("JD_NAMESPACE")
    cmd = ["journalctl", "-q", "-o", "cat", f"TEST_SEQ={seq}"] + ([f"--namespace={ns}"] if ns else [])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if subprocess.run(cmd, capture_output=True).stdout.strip():
            return
        time.sleep(0.05)
    sys.exit("journald_send.py: journald did not write TEST_SEQ=%s within 20 s" % seq)


if __name__ == "__main__":
    main()
