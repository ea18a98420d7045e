#!/usr/bin/env python3
"""otlp_sink.py: the OTLP/HTTP trace receiver of bench/run's tracing
scenario: accepts POST /v1/traces (OTLP JSON, as souk's exporters send it),
reads the whole body, answers 200 with an empty ExportTraceServiceResponse
and keeps nothing but counts. Python standard library only.

    otlp_sink.py PORT

Listens on 127.0.0.1:PORT, HTTP/1.1 with keep-alive (the exporters reuse
their connection; "Expect: 100-continue" is answered). GET /stats answers
one line:

    requests=... spans=... bytes=... rejected=...

spans counts the "spanId" keys of the bodies (one per span; the body is not
parsed, so the receiver costs little beside the stack). rejected counts
requests to any other path or method (answered 404). SIGTERM stops it and
prints the same line as "OTLP requests=...".
"""

import http.server
import signal
import sys
import threading

SPAN_KEY = b'"spanId"'


class Counts:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = self.spans = self.bytes = self.rejected = 0

    def line(self):
        with self.lock:
            return "requests=%d spans=%d bytes=%d rejected=%d" % (
                self.requests, self.spans, self.bytes, self.rejected)


COUNTS = Counts()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # no access log
        pass

    def reply(self, status, body, ctype):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        if self.path.split("?")[0] != "/v1/traces":
            with COUNTS.lock:
                COUNTS.rejected += 1
            self.reply(404, b"", "text/plain")
            return
        spans = body.count(SPAN_KEY)
        with COUNTS.lock:
            COUNTS.requests += 1
            COUNTS.spans += spans
            COUNTS.bytes += len(body)
        self.reply(200, b"{}", "application/json")

    def do_GET(self):
        if self.path == "/stats":
            self.reply(200, (COUNTS.line() + "\n").encode(), "text/plain")
        else:
            with COUNTS.lock:
                COUNTS.rejected += 1
            self.reply(404, b"", "text/plain")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    server.serve_forever(poll_interval=0.2)
    server.server_close()
    print("OTLP " + COUNTS.line(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
