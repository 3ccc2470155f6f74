"""What the test servers share: a threaded HTTP server on a loopback port, started by `with`."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import Any, Self


class LoopbackServer(ThreadingHTTPServer):
    """Threaded with a deep accept backlog (the default of 5 would serialise a crawler's
    concurrent connections); serves on a daemon thread between __enter__ and __exit__."""

    daemon_threads = True
    request_queue_size = 128

    def __init__(self, handler: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        super().__init__((host, port), handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def allow_hosts(self) -> tuple[str, ...]:
        """What a crawl of this server opens in the address guard: this host and port, nothing more."""
        return (f"{self.host}:{self.port}",)

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()
