"""A static file server that counts what a site sees: every request's arrival, the most
requests in flight at once, and the smallest gap between two arrivals.

    python bench/counting_server.py ROOT PORT [--delay SECONDS]

GET /__stats returns them as JSON (with each path's hit count); GET /__reset clears them.
A request is in flight from its arrival until its response has been written. `--delay`
holds every response that long (a slow server, where politeness limits bind).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


class Counting(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, port: int, root: str, delay: float) -> None:
        super().__init__(("127.0.0.1", port), partial(_Handler, directory=root))
        self.delay = delay
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.arrivals: list[float] = []
            self.in_flight = 0
            self.max_in_flight = 0
            self.hits: Counter[str] = Counter()

    def stats(self) -> dict:
        with self.lock:
            times = sorted(self.arrivals)
            gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
            return {
                "requests": len(times),
                "max_in_flight": self.max_in_flight,
                "min_gap_ms": round(min(gaps) * 1000, 2) if gaps else None,
                "p5_gap_ms": round(sorted(gaps)[len(gaps) // 20] * 1000, 2) if gaps else None,
                "hits": dict(self.hits),
            }


class _Handler(SimpleHTTPRequestHandler):
    server: Counting

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path in ("/__stats", "/__reset"):
            if self.path == "/__reset":
                self.server.reset()
            body = json.dumps(self.server.stats()).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        server = self.server
        with server.lock:
            server.arrivals.append(time.monotonic())
            server.hits[self.path.split("?", 1)[0]] += 1
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        try:
            if server.delay:
                time.sleep(server.delay)
            super().do_GET()
        finally:
            with server.lock:
                server.in_flight -= 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("root")
    parser.add_argument("port", type=int)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()
    Counting(args.port, args.root, args.delay).serve_forever()


if __name__ == "__main__":
    main()
