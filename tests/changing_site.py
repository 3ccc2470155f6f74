"""A docs site held in memory whose pages a test edits, adds and removes between crawls,
each page served with its own kind of validator, and a log of every request with the
conditional headers it carried and the status it got.

    etag            a strong ETag of the body; If-None-Match answered with 304
    last-modified   Last-Modified of the page's last edit; If-Modified-Since answered with 304
    none            no validators: always 200
    ignore          an ETag, but never a 304 (a server that ignores validators)
    stale-etag      the same ETag whatever the body (a server that lies: the documented limit)
    etag-bare-304   like etag, but its 304s carry no ETag (a refresh keeps the stored one)
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from loopback_server import LoopbackServer


@dataclass
class Page:
    title: str
    text: str
    validator: str = "etag"  # see the module docstring
    links: tuple[str, ...] = ()  # paths
    script: str = "1"  # changed to change the bytes but not the Markdown
    status: int = 200
    location: str | None = None  # a redirect's target
    modified: float = field(default_factory=lambda: time.time() - 3600)
    body: str | None = None  # the main content's HTML as it is (else `text` as paragraphs)

    def html(self) -> bytes:
        links = "".join(f'<li><a href="{p}">{p}</a></li>' for p in self.links)
        paragraphs = self.body or "".join(f"<p>{line}</p>" for line in self.text.split("\n") if line)
        return (
            "<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f"<title>{self.title}</title><script>var build = {self.script};</script></head>"
            f"<body><nav><a href='/docs/index.html'>Home</a></nav><main><h1>{self.title}</h1>{paragraphs}"
            f"<ul>{links}</ul></main><footer>Copyright docs</footer></body></html>"
        ).encode()


@dataclass(frozen=True)
class Request:
    path: str
    if_none_match: str | None
    if_modified_since: str | None
    status: int
    bytes: int

    @property
    def conditional(self) -> bool:
        return bool(self.if_none_match or self.if_modified_since)


def prose(topic: str, n: int = 4) -> str:
    """Enough plain text about a topic that a page scores as content."""
    return "\n".join(
        f"The {topic} section explains step {i} in detail, with the options it takes, the defaults it uses, "
        f"and what happens when something goes wrong during step {i} of {topic}."
        for i in range(1, n + 1)
    )


class ChangingSite(LoopbackServer):
    def __init__(self) -> None:
        self.pages: dict[str, Page] = {}
        self.sitemap: dict[str, float] | None = None  # path -> lastmod, served at /sitemap.xml when set
        self.log: list[Request] = []
        self.delay = 0.0  # seconds added to every answer (to make a crawl slow enough to kill)
        self.lock = threading.Lock()
        super().__init__(_Handler)

    def put(self, path: str, page: Page) -> None:
        with self.lock:
            self.pages[path] = page

    def edit(self, path: str, **changes: object) -> None:
        """Change a page; its Last-Modified moves on."""
        with self.lock:
            page = self.pages[path]
            for name, value in changes.items():
                setattr(page, name, value)
            page.modified = time.time() + 5  # after any earlier crawl, whole seconds apart

    def remove(self, path: str) -> None:
        with self.lock:
            del self.pages[path]

    def requests(self, path: str | None = None) -> list[Request]:
        with self.lock:
            return [r for r in self.log if path is None or r.path == path]

    def page_requests(self) -> list[Request]:
        """Requests for pages: not robots.txt or sitemaps."""
        return [r for r in self.requests() if r.path.startswith("/docs/") and r.path.endswith(".html")]

    def clear_log(self) -> None:
        with self.lock:
            self.log.clear()


class _Handler(BaseHTTPRequestHandler):
    server: ChangingSite
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.server.delay:
            time.sleep(self.server.delay)
        path = self.path.split("?", 1)[0]
        with self.server.lock:
            page = self.server.pages.get(path)
            sitemap = dict(self.server.sitemap) if self.server.sitemap is not None else None
        if path == "/sitemap.xml" and sitemap is not None:
            return self._sitemap(sitemap)
        if page is None:
            return self._send(404, b"no such page", {}, "text/plain")
        if page.location is not None:
            return self._send(page.status, b"", {"Location": page.location}, "text/plain")
        if page.status != 200:
            return self._send(page.status, b"gone", {}, "text/plain")
        body = page.html()
        headers = self._validators(page, body)
        if self._not_modified(page, headers):
            if page.validator == "etag-bare-304":
                headers.pop("ETag", None)
            return self._send(304, b"", headers, None)
        return self._send(200, body, headers, "text/html; charset=utf-8")

    def _validators(self, page: Page, body: bytes) -> dict[str, str]:
        if page.validator in ("etag", "ignore", "etag-bare-304"):
            return {"ETag": '"' + hashlib.sha1(body).hexdigest()[:16] + '"'}
        if page.validator == "stale-etag":
            return {"ETag": '"v1"'}
        if page.validator == "last-modified":
            return {"Last-Modified": email.utils.formatdate(page.modified, usegmt=True)}
        return {}

    def _not_modified(self, page: Page, headers: dict[str, str]) -> bool:
        if page.validator == "ignore":
            return False
        match = self.headers.get("If-None-Match")
        if match is not None:  # RFC 9110: If-Modified-Since is then ignored
            return "ETag" in headers and match == headers["ETag"]
        since = self.headers.get("If-Modified-Since")
        if since is not None and "Last-Modified" in headers:
            parsed = email.utils.parsedate_to_datetime(since).timestamp()
            return int(page.modified) <= parsed
        return False

    def _sitemap(self, sitemap: dict[str, float]) -> None:
        host = f"http://{self.server.host}:{self.server.port}"
        stamp = "%Y-%m-%dT%H:%M:%SZ"
        entries = "".join(
            f"<url><loc>{host}{path}</loc><lastmod>{time.strftime(stamp, time.gmtime(when))}</lastmod></url>"
            for path, when in sitemap.items()
        )
        body = f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
        self._send(200, body.encode(), {}, "application/xml")

    def _send(self, status: int, body: bytes, headers: dict[str, str], content_type: str | None) -> None:
        with self.server.lock:
            self.server.log.append(
                Request(
                    self.path,
                    self.headers.get("If-None-Match"),
                    self.headers.get("If-Modified-Since"),
                    status,
                    len(body),
                )  # fmt: skip
            )
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
