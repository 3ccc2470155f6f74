"""A real HTTP server on 127.0.0.1 that sets the traps a hostile or broken web site sets for a crawler.

Redirects and links into non-public addresses (cloud metadata, private ranges, localhost, other
ports), robots.txt and sitemaps naming such addresses, polite-crawling signals (429/503 with
Retry-After), decompression bombs, endless and dripping bodies, header floods, redirect loops,
crawler traps (endless calendars, growing paths, session ids), and content that lies about
itself. Every request is logged so tests can assert what was and was not fetched.

Addresses outside this server point at ``trap_port``: a separate listener the tests start to stand
for internal services, so a crawler that follows one of these links is caught in the act.
"""

from __future__ import annotations

import email.utils
import html
import random
import re
import secrets
import sys
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs

from loopback_server import LoopbackServer

BOMB_BYTES = 512 << 20  # what a decompression bomb inflates to, after its prefix
BOMB_PREFIX = b"<html><body><p>"
_MIB = 1 << 20
_STREAM_LIMIT = 300 * _MIB  # huge-stream stops after this much
_DRIP_SECONDS = 120.0
_LONG_PATH = "/h/" + "x" * 5000 + ".html"
_MANY_LINKS = 20_000
_FLOOD_HEADERS = 20_000
_CONNECTION_GONE = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError)

# What /h/index.html links to (hrefs relative to /h/).
LINKED: tuple[str, ...] = (
    # address-guard traps
    "to-metadata",
    "to-private",
    "to-mapped",
    "to-localhost",
    "to-other-port",
    "to-decimal",
    "refresh-private.html",
    "canonical-private.html",
    "base-private.html",
    "private-by-robots/page.html",
    # politeness
    "busy.html",
    "unavailable.html",
    "wait-a-day.html",
    "always-500.html",
    # size and time caps
    "bomb-gzip.html",
    "bomb-deflate.html",
    "bomb-br.html",
    "huge-declared.html",
    "huge-stream.html",
    "drip.html",
    "header-flood.html",
    "loop-a",
    "chain/0",
    "long-url.html",
    "many-links.html",
    "calendar.html?month=0",
    "grow/",
    "session.html",
    # content
    "pdf-as-html.html",
    "png-as-html.html",
    "nul.html",
    "deep.html",
    "cp1252.html",
    "latin1-meta.html",
    "bom.html",
    "meta-refresh.html",
    "base.html",
    "canon-a.html",
    "canon-b.html",
    "empty.html",
    "js-only.html",
    "not-html.html",
)

# ---------------------------------------------------------------- content

_OPENERS = (
    "This page is about {t}, and it exists so that a crawler has something real to read.",
    "Here we come back to {t} once more, because a page should say what it is about.",
    "The last part of the page on {t} sums up what came before it.",
)
_FILLERS = (
    "A careful reader will notice that the sentences here are plain and short.",
    "Each paragraph is written to look like ordinary prose on an ordinary web site.",
    "Nothing on this page is secret, and nothing here should surprise a well behaved program.",
    "The server that sent it was written to test how a crawler copes with bad behaviour.",
    "Some of the other pages on this site are much less friendly than this one.",
    "Good tools read the text, follow the links they are allowed to follow, and move on.",
    "Words like these give an extractor enough material to decide that the page has content.",
    "The weather in the example town was mild, and the river ran slowly past the old mill.",
    "Short sentences are easy to check when a test compares the output with what it expected.",
    "Every page on the site has a slightly different mix of these lines.",
    "There is no advertising, no cookie banner and no script on this page.",
    "If you are reading this in a browser, you have found the test site by accident.",
)


def _paragraphs(title: str) -> list[str]:
    """Three paragraphs, about 150 words in all, the same for the same title and different across titles.

    Every paragraph names the title, so no paragraph recurs verbatim across pages (no boilerplate)."""
    fillers = iter(random.Random(title).sample(_FILLERS, len(_FILLERS)))
    escaped = html.escape(title, quote=False)
    paragraphs = []
    for opener in _OPENERS:
        sentences = [opener.format(t=escaped)]
        words = len(sentences[0].split())
        while words < 42:
            sentences.append(next(fillers))
            words += len(sentences[-1].split())
        paragraphs.append(" ".join(sentences))
    return paragraphs


def article(title: str, extra_html: str = "", head_extra: str = "") -> str:
    """An ordinary HTML page: a title, three paragraphs of prose that mention it, then extra_html."""
    escaped = html.escape(title, quote=False)
    body = "".join(f"<p>{p}</p>\n" for p in _paragraphs(title))
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{escaped}</title>{head_extra}</head>'
        f"<body><main><h1>{escaped}</h1>\n{body}{extra_html}</main></body></html>"
    )


# ---------------------------------------------------------------- decompression bombs

_BOMBS: dict[str, bytes] = {}
_BOMB_LOCKS = {"gzip": threading.Lock(), "deflate": threading.Lock(), "br": threading.Lock()}


def bomb(encoding: str) -> bytes:
    """The compressed body of a bomb ("gzip", "deflate" or "br"), built once per process.

    Raises ImportError for "br" when brotli is not installed."""
    with _BOMB_LOCKS[encoding]:
        body = _BOMBS.get(encoding)
        if body is None:
            body = _BOMBS[encoding] = _build_bomb(encoding)
        return body


def _build_bomb(encoding: str) -> bytes:
    """Compress BOMB_PREFIX + b"0" * BOMB_BYTES a mebibyte at a time: the whole never sits in memory."""
    if encoding == "br":
        import brotli

        compressor = brotli.Compressor(quality=1)
        feed, finish = compressor.process, compressor.finish
    else:
        zobj = zlib.compressobj(wbits=31 if encoding == "gzip" else zlib.MAX_WBITS)
        feed, finish = zobj.compress, zobj.flush
    chunk = b"0" * _MIB
    out = [feed(BOMB_PREFIX)]
    for _ in range(BOMB_BYTES // _MIB):
        out.append(feed(chunk))
    out.append(finish())
    return b"".join(out)


# ---------------------------------------------------------------- server


@dataclass
class Hit:
    path: str  # as requested, with the query
    route: str  # without the query
    at: float  # time.monotonic() on arrival
    status: int | None = None  # set when the response starts


class HostileServer(LoopbackServer):
    def __init__(self, *, trap_port: int = 9, host: str = "127.0.0.1", port: int = 0) -> None:
        self.trap_port = trap_port
        self.log: list[Hit] = []  # every request, in arrival order
        self.hits: Counter[str] = Counter()  # route -> requests
        self.bytes_sent: Counter[str] = Counter()  # route -> body bytes written
        self.lock = threading.Lock()
        self.closing = threading.Event()  # set on exit: endless responses stop
        super().__init__(_Handler, host=host, port=port)

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        super().__exit__(*exc)

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], _CONNECTION_GONE):
            return  # a client hanging up mid-body is what these traps are for
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def record_request(self, path: str) -> tuple[Hit, int]:
        """Log a request as it arrives; returns its Hit and how many times its route was asked for before."""
        hit = Hit(path=path, route=path.split("?", 1)[0], at=time.monotonic())
        with self.lock:
            seen = self.hits[hit.route]
            self.hits[hit.route] += 1
            self.log.append(hit)
        return hit, seen

    def record_status(self, hit: Hit, status: int) -> None:
        with self.lock:
            hit.status = status

    def record_sent(self, route: str, n: int) -> None:
        with self.lock:
            self.bytes_sent[route] += n

    def fetched(self) -> list[str]:
        with self.lock:
            return [hit.path for hit in self.log]

    def times(self, path: str) -> list[float]:
        route = path.split("?", 1)[0]
        with self.lock:
            return [hit.at for hit in self.log if hit.route == route]


class _Handler(BaseHTTPRequestHandler):
    server: HostileServer
    protocol_version = "HTTP/1.1"
    timeout = 300  # a client that stops reading without hanging up frees its thread eventually

    _hit: Hit | None = None
    _seen = 0

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def handle(self) -> None:
        try:
            super().handle()
        except _CONNECTION_GONE:
            pass  # the crawler gave up on a response: that is the point of the test

    def parse_request(self) -> bool:
        self._hit = None  # an unparseable request on a kept-alive connection is not the previous one
        return super().parse_request()

    def send_response(self, code: int, message: str | None = None) -> None:
        if self._hit is not None:
            self.server.record_status(self._hit, code)
        super().send_response(code, message)

    # ------------------------------------------------------------ dispatch

    def do_GET(self) -> None:  # noqa: N802
        self._hit, self._seen = self.server.record_request(self.path)
        route = self._hit.route
        key = route.split(";", 1)[0]  # /h/session.html;jsessionid=... is /h/session.html
        handler = self._ROUTES.get(key)
        if handler is not None:
            return handler(self)
        if m := re.fullmatch(r"/h/chain/(\d+)", key):
            return self._redirect(f"/h/chain/{int(m[1]) + 1}")
        if m := re.fullmatch(r"/h/many/(\d+)\.html", key):
            return self._page(article(f"Many {int(m[1])}"))
        if key.startswith("/h/grow/"):
            return self._page(article(f"Grow {route}", '<p><a href="a/">a</a> <a href="b/index.html">b</a></p>'))
        if key == _LONG_PATH:
            return self._page(article("Long URL target"))
        return self._plain(404, b"not found\n")

    def _not_allowed(self) -> None:
        self._hit, self._seen = self.server.record_request(self.path)
        self.close_connection = True  # any request body stays unread
        self.send_response(405)
        self.send_header("Allow", "GET")
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", "0")
        self.send_header("Connection", "close")
        self.end_headers()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    # ------------------------------------------------------------ helpers

    @property
    def trap(self) -> int:
        return self.server.trap_port

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        if self._hit is not None:
            self.server.record_sent(self._hit.route, len(data))

    def _send(self, status: int, body: bytes, content_type: str, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self._write(body)

    def _page(self, page: str | bytes, content_type: str = "text/html; charset=utf-8") -> None:
        self._send(200, page.encode() if isinstance(page, str) else page, content_type)

    def _plain(self, status: int, body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> None:
        self._send(status, body, "text/plain", headers)

    def _redirect(self, location: str, status: int = 302) -> None:
        self.send_response(status)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _stream(self, chunks: Iterable[bytes]) -> None:
        """Write chunks until they run out, the server closes, or the client hangs up; then close."""
        self.close_connection = True
        try:
            for chunk in chunks:
                if self.server.closing.is_set():
                    break
                self._write(chunk)
        except _CONNECTION_GONE:
            pass

    # ------------------------------------------------------------ index, robots, sitemap

    def _index(self) -> None:
        links = "".join(f'<li><a href="{html.escape(href)}">{html.escape(href)}</a></li>\n' for href in LINKED)
        outside = (
            f"http://169.254.169.254:{self.trap}/latest/meta-data/",
            f"http://10.1.2.3:{self.trap}/",
            f"http://[::ffff:a9fe:a9fe]:{self.trap}/",
            f"http://localhost:{self.trap}/",
        )
        links += "".join(f'<li><a href="{href}">{href}</a></li>\n' for href in outside)
        self._page(article("Hostile index", f"<ul>\n{links}</ul>"))

    def _robots(self) -> None:
        body = (
            "User-agent: *\nDisallow: /h/private-by-robots/\n"
            f"Sitemap: http://10.1.2.3:{self.trap}/sitemap.xml\nSitemap: {self.server.base}/h/sitemap.xml\n"
        )
        self._plain(200, body.encode())

    def _sitemap(self) -> None:
        urls = (f"{self.server.base}/h/from-sitemap.html", f"http://169.254.169.254:{self.trap}/from-sitemap")
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
            + "".join(f"<url><loc>{u}</loc></url>\n" for u in urls)
            + "</urlset>\n"
        )
        self._send(200, body.encode(), "application/xml")

    # ------------------------------------------------------------ address-guard traps

    def _refresh_private(self) -> None:
        self._page(
            f'<html><head><meta http-equiv="refresh" content="0; url=http://10.1.2.3:{self.trap}/refreshed">'
            "<title>Refreshing</title></head><body><p>Refreshing.</p></body></html>"
        )

    def _canonical_private(self) -> None:
        head = f'<link rel="canonical" href="http://169.254.169.254:{self.trap}/canon">'
        self._page(article("Canonical elsewhere", head_extra=head))

    def _base_private(self) -> None:
        head = f'<base href="http://10.1.2.3:{self.trap}/">'
        self._page(article("Base elsewhere", '<p><a href="secret.html">secret</a></p>', head))

    # ------------------------------------------------------------ politeness

    def _busy(self) -> None:
        if self._seen == 0:
            return self._plain(429, b"too many requests\n", (("Retry-After", "2"),))
        self._page(article("Busy page"))

    def _unavailable(self) -> None:
        if self._seen == 0:
            when = email.utils.formatdate(time.time() + 3, usegmt=True)
            return self._plain(503, b"service unavailable\n", (("Retry-After", when),))
        self._page(article("Unavailable page"))

    def _wait_a_day(self) -> None:
        self._plain(429, b"come back tomorrow\n", (("Retry-After", "86400"),))

    def _always_500(self) -> None:
        self._plain(500, b"internal server error\n")

    # ------------------------------------------------------------ size and time caps

    def _bomb(self, encoding: str) -> None:
        try:
            body = bomb(encoding)
        except ImportError:
            return self._plain(404, b"brotli is not installed\n")
        self._send(200, body, "text/html", (("Content-Encoding", encoding),))

    def _huge_declared(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(10 << 30))
        self.end_headers()
        chunk = b"<p>x</p>" * (64 * 1024 // 8)
        self._stream(chunk for _ in range(_MIB // len(chunk)))

    def _huge_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Connection", "close")
        self.end_headers()
        unit = b"<p>An endless stream of text that never stops coming.</p>\n"
        chunk = unit * (64 * 1024 // len(unit))
        self._stream(chunk for _ in range(_STREAM_LIMIT // len(chunk)))

    def _drip(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        deadline = time.monotonic() + _DRIP_SECONDS
        closing = self.server.closing

        def drops():
            while time.monotonic() < deadline:
                yield b" "
                self.wfile.flush()
                if closing.wait(0.5):
                    return

        self._stream(drops())

    def _header_flood(self) -> None:
        body = article("Header flood").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        filler = "a" * 100
        for i in range(_FLOOD_HEADERS):
            self.send_header(f"X-Flood-{i}", filler)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self._write(body)

    def _long_url(self) -> None:
        self._page(article("Long URL", f'<p><a href="{_LONG_PATH}">a very long link</a></p>'))

    def _many_links(self) -> None:
        links = "\n".join(f'<a href="many/{i}.html">{i}</a>' for i in range(_MANY_LINKS))
        self._page(article("Many links", f"<p>{links}</p>"))

    def _calendar(self) -> None:
        query = self.path.split("?", 1)[1] if "?" in self.path else ""
        try:
            month = int(parse_qs(query).get("month", ["0"])[0])
        except ValueError:
            month = 0
        links = (
            f'<p><a href="calendar.html?month={month - 1}">previous</a> '
            f'<a href="calendar.html?month={month + 1}">next</a></p>'
        )
        self._page(article(f"Calendar month {month}", links))

    def _session(self) -> None:
        links = (
            f'<p><a href="session.html?PHPSESSID={secrets.token_hex(8)}">php</a> '
            f'<a href="session.html;jsessionid={secrets.token_hex(8)}">java</a> '
            f'<a href="session.html?sid={secrets.token_hex(8)}&page=2">page 2</a></p>'
        )
        self._page(article("Session", links))

    # ------------------------------------------------------------ content

    def _pdf_as_html(self) -> None:
        self._page(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" + bytes(range(256)) * 40, "text/html")

    def _png_as_html(self) -> None:
        self._page(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40, "text/html")

    def _nul(self) -> None:
        page = article("NUL bytes", "<p>Hello\x00 world, this\x00 paragraph has NUL\x00 bytes.</p>")
        self._page(re.sub(r"(<p>\w+ \w+)", "\\1\x00", page))  # and one in each paragraph of prose

    def _deep(self) -> None:
        text = "<p>Deep text at the bottom of twenty thousand divs.</p>"
        self._page("<html><body>" + "<div>" * 20000 + text + "</div>" * 20000 + "</body></html>")

    def _cp1252(self) -> None:
        page = article("Café – “smart quotes” naïve €5").replace('<meta charset="utf-8">', "")
        self._page(page.encode("cp1252"))  # the header still says utf-8

    def _latin1_meta(self) -> None:
        page = article("Grüße aus Köln").replace('<meta charset="utf-8">', '<meta charset="iso-8859-1">')
        self._page(page.encode("latin-1"), "text/html")

    def _bom(self) -> None:
        self._page(b"\xef\xbb\xbf" + article("Überprüfung ✓").encode(), "text/html; charset=iso-8859-1")

    def _meta_refresh(self) -> None:
        self._page(
            '<html><head><meta http-equiv="refresh" content="0; url=refreshed.html"><title>Moved</title></head>'
            "<body><p>Moved.</p></body></html>"
        )

    def _base(self) -> None:
        self._page(article("Base page", '<p><a href="target.html">target</a></p>', '<base href="/h/based/">'))

    def _canon_a(self) -> None:
        head = '<link rel="canonical" href="canon-b.html">'
        self._page(article("Canonical page", "<p>Printer-friendly version.</p>", head))

    def _js_only(self) -> None:
        self._page(
            '<html><head><title>App</title><script src="app.js"></script></head><body><div id="root"></div>'
            "<noscript>Please enable JavaScript to use this app.</noscript></body></html>"
        )

    def _not_html(self) -> None:
        self._page(random.Random(1000).randbytes(1000), "application/octet-stream")

    def _article(title: str):  # builds a route handler at class creation: no self
        return lambda self: self._page(article(title))

    _ROUTES = {
        "/robots.txt": _robots,
        "/h/index.html": _index,
        "/h/sitemap.xml": _sitemap,
        # address-guard traps
        "/h/to-metadata": lambda self: self._redirect(f"http://169.254.169.254:{self.trap}/latest/meta-data/"),
        "/h/to-private": lambda self: self._redirect(f"http://10.1.2.3:{self.trap}/admin"),
        "/h/to-mapped": lambda self: self._redirect(f"http://[::ffff:169.254.169.254]:{self.trap}/"),
        "/h/to-localhost": lambda self: self._redirect(f"http://localhost:{self.trap}/"),
        "/h/to-other-port": lambda self: self._redirect(f"http://127.0.0.1:{self.trap}/"),
        "/h/to-decimal": lambda self: self._redirect(f"http://2130706433:{self.trap}/"),
        "/h/refresh-private.html": _refresh_private,
        "/h/canonical-private.html": _canonical_private,
        "/h/base-private.html": _base_private,
        "/h/from-sitemap.html": _article("From the sitemap"),
        "/h/private-by-robots/page.html": _article("Private by robots"),
        # politeness
        "/h/busy.html": _busy,
        "/h/unavailable.html": _unavailable,
        "/h/wait-a-day.html": _wait_a_day,
        "/h/always-500.html": _always_500,
        # size and time caps
        "/h/bomb-gzip.html": lambda self: self._bomb("gzip"),
        "/h/bomb-deflate.html": lambda self: self._bomb("deflate"),
        "/h/bomb-br.html": lambda self: self._bomb("br"),
        "/h/huge-declared.html": _huge_declared,
        "/h/huge-stream.html": _huge_stream,
        "/h/drip.html": _drip,
        "/h/header-flood.html": _header_flood,
        "/h/loop-a": lambda self: self._redirect("/h/loop-b"),
        "/h/loop-b": lambda self: self._redirect("/h/loop-a"),
        "/h/long-url.html": _long_url,
        "/h/many-links.html": _many_links,
        "/h/calendar.html": _calendar,
        "/h/session.html": _session,
        # content
        "/h/pdf-as-html.html": _pdf_as_html,
        "/h/png-as-html.html": _png_as_html,
        "/h/nul.html": _nul,
        "/h/deep.html": _deep,
        "/h/cp1252.html": _cp1252,
        "/h/latin1-meta.html": _latin1_meta,
        "/h/bom.html": _bom,
        "/h/meta-refresh.html": _meta_refresh,
        "/h/refreshed.html": _article("Refreshed target"),
        "/h/base.html": _base,
        "/h/based/target.html": _article("Based target"),
        "/h/canon-a.html": _canon_a,
        "/h/canon-b.html": _article("Canonical page"),
        "/h/empty.html": lambda self: self._page(b"", "text/html"),
        "/h/js-only.html": _js_only,
        "/h/not-html.html": _not_html,
    }
    del _article


if __name__ == "__main__":  # serve by hand: python tests/hostile_server.py [PORT [TRAP_PORT]]
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8799
    trap_port = int(sys.argv[2]) if len(sys.argv) > 2 else 9
    with HostileServer(port=port, trap_port=trap_port) as server:
        print(f"serving hostile pages at {server.base}/h/index.html", flush=True)
        server.thread.join()
