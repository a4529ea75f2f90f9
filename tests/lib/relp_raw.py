#!/usr/bin/python3
"""relp_raw.py - a RELP client written from scratch on Python's ssl module
(OpenSSL), for the TLS tests.

Unlike a GnuTLS client (librelp, hvtrail-forwarder), OpenSSL sends its
certificate whatever CA names the server asks for, so this is how a
certificate from another CA or a self-signed one actually reaches the
collector.  It also speaks plaintext RELP to a TLS port.

    relp_raw.py --port P [--cert F --key F] [--ca F] [--plain | --tls-version 1.1] MESSAGE

Opens a session, sends MESSAGE in one syslog frame, and prints
"accepted" (exit 0) when the collector answered it with 200, or
"refused: WHY" (exit 2) when the handshake or the session was refused.
"""
import argparse
import os
import socket
import ssl
import sys
import warnings

OPEN = b"relp_version=0\nrelp_software=relp_raw.py,1,-\ncommands=syslog"


def frame(txnr, cmd, data):
    return b"%d %s %d %s\n" % (txnr, cmd, len(data), data)


def read_rsp(sock, txnr):
    """The first line of the answer to txnr, e.g. "1 rsp 92 200 OK"."""
    buf = b""
    while b"\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the collector closed the session")
        buf += chunk
    head = buf.split(b"\n", 1)[0].decode("utf-8", "replace")
    if head.startswith("0 serverclose"):
        raise ConnectionError("the collector sent serverclose")
    if not head.startswith("%d rsp" % txnr):
        raise ConnectionError("unexpected answer %r" % head)
    return head


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--server-name", default="collector.test")
    ap.add_argument("--plain", action="store_true")
    ap.add_argument("--tls-version", choices=["1.0", "1.1"],
                    help="offer only this old TLS version (a legacy client)")
    ap.add_argument("message")
    a = ap.parse_args()

    raw = socket.create_connection((a.host, a.port), timeout=10 * float(os.environ.get("HVT_TIMEOUT_FACTOR") or 1))
    try:
        if a.plain:
            s = raw
        else:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            ctx.load_verify_locations(a.ca)
            if a.tls_version:
                v = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1}[a.tls_version]
                ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)
                    ctx.minimum_version = ctx.maximum_version = v
            if a.cert:
                ctx.load_cert_chain(a.cert, a.key)
            s = ctx.wrap_socket(raw, server_hostname=a.server_name)
        s.sendall(frame(1, b"open", OPEN))
        head = read_rsp(s, 1)
        if " 200 " not in head:
            print("refused: open answered %r" % head)
            return 2
        s.sendall(frame(2, b"syslog", a.message.encode()))
        head = read_rsp(s, 2)
        if " 200 " not in head:
            print("refused: syslog answered %r" % head)
            return 2
        print("accepted")
        return 0
    except (OSError, ssl.SSLError, ConnectionError) as e:
        print("refused: %s" % e)
        return 2
    finally:
        raw.close()


if __name__ == "__main__":
    sys.exit(main())
