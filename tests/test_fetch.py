"""Fetch logic through httpx.MockTransport (the crawl tests use a real server)."""

from __future__ import annotations

import time

import httpx
import pytest

from docspasta import CrawlSettings
from docspasta.errors import (
    ConnectError,
    FetchTimeoutError,
    HTTPStatusError,
    MalformedResponseError,
    NotHTMLError,
    RedirectError,
    ResponseTooLargeError,
)
from docspasta.fetching.fetch import Fetcher, _retry_delay, hop_check

HTML = b"<!doctype html><html><body><p>hello</p></body></html>"


def html_response() -> httpx.Response:
    """A streamed body, as from the network (the fetcher reads raw bytes and decodes them itself)."""
    return httpx.Response(200, headers={"Content-Type": "text/html; charset=utf-8"}, stream=httpx.ByteStream(HTML))


def fetcher(handler, **settings) -> Fetcher:
    s = CrawlSettings(url="https://x.org/", **{"retries": 2, "timeout": 2.0, **settings})
    return Fetcher(s, transport=httpx.MockTransport(handler))


async def test_redirects_are_followed_hop_by_hop_and_each_hop_checked():
    seen = []

    def handler(request):
        seen.append(str(request.url))
        if request.url.path == "/a":
            return httpx.Response(301, headers={"Location": "/b"})
        if request.url.path == "/b":
            return httpx.Response(302, headers={"Location": "https://evil.example/c"})
        return html_response()

    async with fetcher(handler) as f:
        with pytest.raises(RedirectError, match="redirect refused \\(other host\\): https://evil.example/c"):
            await f.fetch("https://x.org/a", check_hop=hop_check(lambda u: "other host" if "evil" in u else None))
        page = await f.fetch("https://x.org/a", check_hop=None)
    assert page.final_url == "https://evil.example/c" and page.body == HTML
    assert "https://evil.example/c" in seen  # only the unchecked fetch went there
    assert seen.count("https://evil.example/c") == 1


async def test_redirect_loops_and_chains_are_bounded():
    async with fetcher(lambda r: httpx.Response(301, headers={"Location": "/loop"})) as f:
        with pytest.raises(RedirectError, match="redirect loop"):
            await f.fetch("https://x.org/loop")

    def chain(request):
        n = int(request.url.path.strip("/") or 0)
        return httpx.Response(301, headers={"Location": f"/{n + 1}"})

    async with fetcher(chain) as f:
        with pytest.raises(RedirectError, match="more than 10 redirects"):
            await f.fetch("https://x.org/0")


async def test_4xx_is_not_retried_5xx_and_429_are():
    calls = {"n": 0}

    def handler(request):
        calls["n"] += 1
        return httpx.Response(404 if request.url.path == "/gone" else 503)

    async with fetcher(handler, retries=2) as f:
        with pytest.raises(HTTPStatusError) as gone:
            await f.fetch("https://x.org/gone")
        assert calls["n"] == 1 and gone.value.http_status == 404
        with pytest.raises(HTTPStatusError, match=r"HTTP 503 \(after 3 attempts\)"):
            await f.fetch("https://x.org/busy")
        assert calls["n"] == 4


async def test_retry_after_is_honoured_and_capped():
    times = []

    def handler(request):
        times.append(time.monotonic())
        if len(times) == 1:
            return httpx.Response(429, headers={"Retry-After": "1"})
        return html_response()

    async with fetcher(handler) as f:
        page = await f.fetch("https://x.org/")
    assert page.attempts == 2
    assert times[1] - times[0] >= 1.0
    with pytest.raises(HTTPStatusError, match="exceeds the 60 s cap"):
        _retry_delay(HTTPStatusError(429, retry_after=3600), 1)


async def test_non_html_and_oversized_bodies_are_refused():
    def handler(request):
        if request.url.path == "/pdf":
            return httpx.Response(200, content=b"%PDF", headers={"Content-Type": "application/pdf"})
        if request.url.path == "/declared":
            return httpx.Response(
                200, content=b"x" * 10, headers={"Content-Type": "text/html", "Content-Length": "99999999"}
            )
        return httpx.Response(200, content=b"<html>" + b"x" * 5000, headers={"Content-Type": "text/html"})

    async with fetcher(handler, max_bytes=2048) as f:
        with pytest.raises(NotHTMLError, match="not HTML: application/pdf"):
            await f.fetch("https://x.org/pdf")
        with pytest.raises(ResponseTooLargeError, match="99,999,999 bytes exceeds"):
            await f.fetch("https://x.org/declared")
        with pytest.raises(ResponseTooLargeError, match="exceeds the 2,048 byte cap"):
            await f.fetch("https://x.org/streamed")


async def test_markdown_pages_are_taken_by_type_or_by_a_md_name_on_an_untyped_body():
    bodies = {
        "/typed": (b"# Typed", "text/markdown; charset=utf-8"),
        "/guide.md": (b"# Guide", "application/octet-stream"),  # nginx has no type for .md
        "/plain.md": (b"# Plain", "text/plain"),
        "/blob.md": (b"\x89PNG\r\n\x1a\n\x00\x00", "application/octet-stream"),
        "/data.bin": (b"# not a page", "application/octet-stream"),
    }

    def handler(request):
        body, kind = bodies[request.url.path]
        return httpx.Response(200, headers={"Content-Type": kind}, stream=httpx.ByteStream(body))

    async with fetcher(handler) as f:
        for path in ("/typed", "/guide.md", "/plain.md"):
            assert (await f.fetch("https://x.org" + path)).body == bodies[path][0]
        with pytest.raises(NotHTMLError, match="binary data served as application/octet-stream"):
            await f.fetch("https://x.org/blob.md")
        with pytest.raises(NotHTMLError, match="not HTML"):
            await f.fetch("https://x.org/data.bin")
    async with fetcher(handler, publisher_markdown=False) as f:
        with pytest.raises(NotHTMLError):
            await f.fetch("https://x.org/guide.md")


async def test_transport_errors_become_fetch_errors():
    def handler(request):
        if request.url.path == "/slow":
            raise httpx.ReadTimeout("slow", request=request)
        raise httpx.ConnectError("refused", request=request)

    async with fetcher(handler, retries=0) as f:
        with pytest.raises(FetchTimeoutError, match="timed out after 2 s"):
            await f.fetch("https://x.org/slow")
        with pytest.raises(ConnectError, match="connection failed: ConnectError: refused"):
            await f.fetch("https://x.org/down")


async def test_user_agent_and_extra_headers_are_sent():
    got = {}

    def handler(request):
        got.update(request.headers)
        return html_response()

    async with fetcher(handler, user_agent="my-bot/1.0", headers=(("X-Docs", "1"),)) as f:
        await f.fetch("https://x.org/")
    assert got["user-agent"] == "my-bot/1.0" and got["x-docs"] == "1"


async def test_validators_go_only_to_their_url_and_a_304_keeps_them():
    seen: list[tuple[str, str | None, str | None]] = []

    def handler(request):
        seen.append((request.url.path, request.headers.get("if-none-match"), request.headers.get("if-modified-since")))
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "/new"})
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)  # without the ETag: the stored one stands
        return html_response()

    from docspasta.fetching.fetch import Validators

    validators = Validators("https://x.org/new", etag='"v1"', last_modified="Mon, 01 Jan 2024 00:00:00 GMT")
    assert validators.headers() == {"If-None-Match": '"v1"'}  # with an ETag, never If-Modified-Since
    assert Validators("u", last_modified="Mon, 01 Jan 2024 00:00:00 GMT").headers() == {
        "If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"
    }
    async with fetcher(handler) as f:
        page = await f.fetch("https://x.org/old", validators=validators)
        fresh = await f.fetch("https://x.org/new")
    assert seen == [("/old", None, None), ("/new", '"v1"', None), ("/new", None, None)]
    assert page.not_modified and page.body == b"" and page.body_hash is None
    assert (page.etag, page.last_modified) == ('"v1"', "Mon, 01 Jan 2024 00:00:00 GMT")
    assert fresh.status == 200 and fresh.body_hash is not None and len(fresh.body_hash) == 32


async def test_a_304_to_a_request_that_asked_for_no_validation_is_an_error():
    async with fetcher(lambda r: httpx.Response(304), retries=0) as f:
        with pytest.raises(MalformedResponseError, match="304 Not Modified to a request that asked for no validation"):
            await f.fetch("https://x.org/page")
