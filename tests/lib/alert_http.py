#!/usr/bin/env python3
"""alert_http.py PORT OUT.jsonl [--status CODE] [--tls CERT KEY] - a webhook
endpoint for the alert tests: listens on 127.0.0.1:PORT (HTTPS with --tls)
and appends every request it gets as one JSON line {"t", "method", "path",
"headers", "body"} to OUT.jsonl, flushed before it answers, so a test that
sees the line knows the POST arrived.  It answers CODE (default 200)."""
import json
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, out = int(sys.argv[1]), sys.argv[2]
status = int(sys.argv[sys.argv.index("--status") + 1]) if "--status" in sys.argv else 200


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        rec = {"t": time.time(), "method": "POST", "path": self.path,
               "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        with open(out, "a") as f:
            f.write(json.dumps(rec) + "\n")
            f.flush()
        reply = b'{"ok":true}' if status < 300 else b'{"error":"test endpoint says no"}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, fmt, *args):
        sys.stderr.write("alert_http: " + (fmt % args) + "\n")


ThreadingHTTPServer.allow_reuse_address = True
server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
if "--tls" in sys.argv:
    i = sys.argv.index("--tls")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[i + 1], sys.argv[i + 2])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
