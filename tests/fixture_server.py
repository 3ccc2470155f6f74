"""A real HTTP server on 127.0.0.1 serving the fixture sites, with a few scripted faults.

Every request is logged so tests can assert what was and
was not fetched.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

from loopback_server import LoopbackServer

SITES = Path(__file__).parent / "sites"


DISCOVERY_FILES = ("/robots.txt", "sitemap.xml", ".xml.gz", "/llms.txt", "/llms-full.txt")


class FixtureServer(LoopbackServer):
    def __init__(
        self,
        root: Path = SITES,
        *,
        delay: float = 0.0,
        robots: str | None = None,
        robots_status: int = 200,
        host: str = "127.0.0.1",
        throttle_after: int | None = None,
    ) -> None:
        self.root = root
        self.delay = delay  # seconds added to every response (to make crawls slow enough to kill)
        self.robots = robots  # a robots.txt to serve (with HOST replaced), else 404
        self.robots_status = robots_status
        self.throttle_after = throttle_after  # answer the request after this many with 429, Retry-After: 2, once
        self.throttled_at: float | None = None
        self.times: dict[str, list[float]] = {}  # path -> monotonic arrival times
        self.in_flight = 0
        self.max_in_flight = 0  # most requests being answered at once
        self.requests: list[str] = []  # every path requested, in arrival order
        self.log: list[tuple[str, int]] = []  # (path, status) of every response started
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        super().__init__(partial(_Handler, directory=str(root)), host=host)

    def record_request(self, path: str) -> int:
        """Log a request as it arrives; returns how many times the path was asked for before."""
        with self.lock:
            self.requests.append(path)
            self.times.setdefault(path, []).append(time.monotonic())
            self.hits[path] += 1
            return self.hits[path] - 1

    def record_response(self, path: str, status: int) -> None:
        with self.lock:
            self.log.append((path, status))

    def fetched(self) -> list[str]:
        with self.lock:
            return list(self.requests)

    def pages_fetched(self) -> list[str]:
        """Requests for pages: without the discovery files (robots.txt, sitemaps, llms.txt)."""
        return [p for p in self.fetched() if not p.endswith(DISCOVERY_FILES)]


class _Handler(SimpleHTTPRequestHandler):
    server: FixtureServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the crawler gave up on a slow response: that is the point of the test

    def send_response(self, code: int, message: str | None = None) -> None:
        self.server.record_response(self.path, code)
        self._done_in_flight()  # before a byte goes out: the client cannot send its next request earlier
        super().send_response(code, message)

    def do_GET(self) -> None:  # noqa: N802
        with self.server.lock:
            self.server.in_flight += 1
            self.server.max_in_flight = max(self.server.max_in_flight, self.server.in_flight)
        self._in_flight = True
        try:
            self._get()
        finally:
            self._done_in_flight()

    def _done_in_flight(self) -> None:
        """A request is in flight from arrival until its response starts. Counting until the
        handler returns would overlap the client's next request on the same connection."""
        if getattr(self, "_in_flight", False):
            self._in_flight = False
            with self.server.lock:
                self.server.in_flight -= 1

    def _get(self) -> None:
        seen_before = self.server.record_request(self.path)
        server = self.server
        if server.throttle_after is not None and server.throttled_at is None:
            with server.lock:
                throttle = server.throttled_at is None and len(server.requests) > server.throttle_after
                if throttle:
                    server.throttled_at = time.monotonic()
            if throttle:
                return self._plain(429, b"slow down", headers=(("Retry-After", "2"),))
        if self.server.delay:
            time.sleep(self.server.delay)
        path = self.path.split("?", 1)[0]
        if path == "/docs/flaky.html" and seen_before == 0:
            return self._plain(500, b"try again")
        if path == "/docs/slow.html":
            time.sleep(3)
        if path == "/docs/manual.html":
            return self._plain(200, b"%PDF-1.4\n%fake pdf\n", "application/pdf")
        if path == "/docs/moved.html":
            return self._redirect(301, "/docs/guide/install.html")
        if path == "/docs/away.html":
            return self._redirect(302, "https://example.org/")
        if path in ("/start-404/", "/start-404/index.html"):
            return self._plain(404, b"no such page")
        if path == "/robots.txt" and self.server.robots is not None:
            return self._plain(self.server.robots_status, self._with_host(self.server.robots.encode()))
        if path.endswith(".xml") or path.endswith(".xml.gz"):
            return self._sitemap(path)
        return super().do_GET()

    def _with_host(self, data: bytes) -> bytes:
        return data.replace(b"HOST", f"127.0.0.1:{self.server.server_address[1]}".encode())

    def _sitemap(self, path: str) -> None:
        """Sitemaps name their own host: the fixture files say HOST, replaced on the way out."""
        import gzip

        file = self.server.root / path.lstrip("/")
        if not file.is_file():
            return self._plain(404, b"no such sitemap")
        data = file.read_bytes()
        if data.startswith(b"\x1f\x8b"):
            return self._plain(200, gzip.compress(self._with_host(gzip.decompress(data))), "application/gzip")
        return self._plain(200, self._with_host(data), "application/xml")

    def _plain(
        self, status: int, body: bytes, content_type: str = "text/plain", headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, status: int, location: str) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()


if __name__ == "__main__":  # serve the fixtures by hand: python tests/fixture_server.py
    with FixtureServer() as server:
        print(f"serving {SITES} at {server.base}/docs/index.html", flush=True)
        server.thread.join()
