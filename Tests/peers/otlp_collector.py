"""A minimal OTLP/HTTP JSON collector for TracingTests and OTLPTracerTests: appends each
POST /v1/traces body it takes as one line to FILE. Creates FILE.ready once listening. With
REFUSE, answers the first REFUSE requests 503 (Retry-After: 0), as a collector that is
overloaded or restarting, and writes a line to FILE.refused for each.

With DELAY, waits DELAY seconds after taking a body before answering (a slow collector).
With REJECT, answers 200 with a partialSuccess rejecting REJECT spans. With TRICKLE, answers
200 one byte every TRICKLE seconds, for ever (a collector or proxy that never finishes).

    python3 otlp_collector.py PORT FILE [REFUSE] [DELAY] [REJECT] [TRICKLE]
"""
import http.server
import signal
import sys
import time

# Never outlive the test that started it by much, whatever happens to that test.
signal.alarm(600)

out = open(sys.argv[2], "a")
refuse = int(sys.argv[3]) if len(sys.argv) > 3 else 0
delay = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
reject = int(sys.argv[5]) if len(sys.argv) > 5 else 0
trickle = float(sys.argv[6]) if len(sys.argv) > 6 else 0.0


class Collector(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global refuse
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if refuse > 0:
            refuse -= 1
            with open(sys.argv[2] + ".refused", "a") as refused:
                refused.write("503\n")
            self.send_response(503)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        out.write(body.decode() + "\n")
        out.flush()
        if delay > 0:
            time.sleep(delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if trickle > 0:
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(trickle)
            except OSError:
                return
        if reject > 0:
            answer = ('{"partialSuccess":{"rejectedSpans":"%d","errorMessage":"span name too long"}}' % reject).encode()
        else:
            answer = b"{}"
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Collector)
open(sys.argv[2] + ".ready", "w").close()
server.serve_forever()
