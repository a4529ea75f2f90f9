#!/usr/bin/env python3
"""notify_listen.py SOCKET OUT: receive sd_notify datagrams on SOCKET (as
systemd does) and append each message's lines to OUT, one per line."""
import socket, sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode(errors="replace")
        for line in msg.splitlines():
            out.write(line + "\n")
