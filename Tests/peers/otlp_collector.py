"""A minimal OTLP/HTTP JSON collector for TracingTests: appends each POST /v1/traces body as
one line to FILE. Creates FILE.ready once listening.

    python3 otlp_collector.py PORT FILE
"""
import http.server
import signal
import sys

# Never outlive the test that started it by much, whatever happens to that test.
signal.alarm(600)

out = open(sys.argv[2], "a")


class Collector(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        out.write(body.decode() + "\n")
        out.flush()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Collector)
open(sys.argv[2] + ".ready", "w").close()
server.serve_forever()
