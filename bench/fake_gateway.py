"""A fast local stand-in for the Android gateway's `POST /messages` (for benchmarks).

Threaded, keep-alive, answers 202 like the phone does and counts what it accepted.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; without this, Nagle + delayed ACK add 40 ms.
    disable_nagle_algorithm = True

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length", 0))
        payload = json.loads(self.rfile.read(length))
        with self.server.lock:
            self.server.accepted += 1
            self.server.arrivals.append(time.monotonic())
        body = json.dumps({"id": payload.get("id", "x"), "state": "Pending"}).encode()
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def start_fake_gateway(port: int) -> ThreadingHTTPServer:
    """Serve on 127.0.0.1:`port` in a daemon thread; `.accepted` counts messages, `.arrivals`
    holds when each came."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
    server.lock = threading.Lock()
    server.accepted = 0
    server.arrivals = []  # monotonic time of each accepted message (paced-rate figures)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
