"""Fetching pages: the only module that sends requests (transport.py opens the sockets).

One `Fetcher` per job holds one AsyncClient. `fetch(url)` follows redirects hop by
hop (each hop checked by the caller's scope check), streams the body under a size
cap, accepts HTML only, and retries transient failures (timeouts, connection errors,
429, 5xx) with jittered backoff that never undercuts Retry-After. Every httpx error
is translated into a FetchError subclass here, so the engine stores a short reason
and the crawl goes on.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import hashlib
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx

from ..errors import (
    ConnectError,
    FetchError,
    FetchTimeoutError,
    HTTPStatusError,
    MalformedResponseError,
    NotHTMLError,
    RedirectError,
    ResponseTooLargeError,
)
from ..guard import AddressGuard
from ..settings import CrawlSettings
from ..urls import host_of, normalize
from .decoding import ACCEPT_ENCODING, BodyDecoder
from .pacing import HostPacer, Pacer
from .transport import guarded_transport

MAX_REDIRECTS = 10
MAX_RETRY_AFTER_S = 60.0
MAX_BACKOFF_S = 10.0
HTML_TYPES = ("text/html", "application/xhtml+xml")
MARKDOWN_TYPES = ("text/markdown", "text/x-markdown")
MARKDOWN_SUFFIXES = (".md", ".markdown")
_UNTYPED = ("text/plain", "application/octet-stream", "")


def is_markdown(content_type: str, url: str) -> bool:
    """A page the site serves as Markdown: by its type, or a .md file served as plain text
    or bytes (raw file hosts; nginx and other static servers that have no type for .md)."""
    if content_type in MARKDOWN_TYPES:
        return True
    return content_type in _UNTYPED and url.split("?", 1)[0].lower().endswith(MARKDOWN_SUFFIXES)


_REDIRECT_STATUSES = {301, 302, 303, 307, 308}
_THROTTLE_STATUSES = {429, 503}

HopCheck = Callable[[str], Awaitable["str | None"]]  # url -> reason to refuse, or None


def hop_check(rule: Callable[[str], str | None]) -> HopCheck:
    """A redirect check from a plain rule (a scope's, say); the engine's own also asks the store."""

    async def check(url: str) -> str | None:
        return rule(url)

    return check


@dataclass(frozen=True)
class Validators:
    """What a refresh asks again with: the validators an earlier response to `url` carried.
    If-None-Match when there is an ETag (a server then ignores If-Modified-Since, RFC 9110
    13.1.3), else If-Modified-Since."""

    url: str  # the URL that answered with them (the earlier fetch's final URL)
    etag: str | None = None
    last_modified: str | None = None

    def headers(self) -> dict[str, str]:
        if self.etag:
            return {"If-None-Match": self.etag}
        if self.last_modified:
            return {"If-Modified-Since": self.last_modified}
        return {}


@dataclass(frozen=True)
class FetchedPage:
    url: str
    final_url: str
    status: int  # 304 when the validators matched: `body` is empty and the earlier page stands
    content_type: str
    charset: str | None
    body: bytes
    fetch_ms: float
    attempts: int
    etag: str | None = None
    last_modified: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @functools.cached_property
    def body_hash(self) -> str | None:
        """The raw body's hash: a refresh that gets the same bytes does not extract them again.
        Worked out once (it runs on the event loop, over up to max_bytes)."""
        return None if self.not_modified else hashlib.blake2b(self.body, digest_size=16).hexdigest()


class _OnWire:
    """Tells the pacer, once, that a request's headers have been written to the socket
    (httpcore's trace), so a turn held by the request is released from that moment."""

    def __init__(self, pacer: Pacer, host: str, ticket: str | None) -> None:
        self.pacer, self.host, self.ticket = pacer, host, ticket

    async def trace(self, event: str, info: dict[str, Any]) -> None:
        if event == "http11.send_request_headers.complete":
            await self.done()

    async def done(self) -> None:
        if self.ticket is not None:
            ticket, self.ticket = self.ticket, None
            await self.pacer.sent(self.host, ticket)


class Fetcher:
    """Fetch pages for one job. Use as an async context manager."""

    def __init__(
        self,
        settings: CrawlSettings,
        *,
        pacer: Pacer | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`pacer`: where hosts' turns are kept (default: in this process). `transport`
        replaces the guarded network transport: for unit tests with httpx.MockTransport only."""
        self._settings = settings
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self.pacer: Pacer = pacer or HostPacer(settings.min_delay)

    async def __aenter__(self) -> Fetcher:
        s = self._settings
        headers = {
            "User-Agent": s.user_agent,
            "Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        headers.update(dict(s.headers))
        limits = httpx.Limits(max_connections=s.concurrency, max_keepalive_connections=s.concurrency)
        guard = AddressGuard(s.allow_private, s.allow_hosts)
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(s.timeout),
            limits=limits,
            follow_redirects=False,
            transport=self._transport or guarded_transport(guard, limits),
            trust_env=False,  # a proxy from the environment would be the only address the guard sees
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        check_hop: HopCheck | None = None,
        html_only: bool = True,
        validators: Validators | None = None,
    ) -> FetchedPage:
        """Fetch one HTML page (or, with html_only=False, any resource such as a sitemap),
        retrying transient failures; raise FetchError on failure. With `validators`, the
        request to their URL is conditional, and a 304 comes back as a page without a body."""
        attempts = self._settings.retries + 1
        started = time.perf_counter()
        for attempt in range(1, attempts + 1):
            try:
                final_url, response, body = await self._follow(url, check_hop, html_only, validators)
            except FetchError as exc:
                error = exc
            except httpx.TimeoutException:
                error = FetchTimeoutError(f"timed out after {self._settings.timeout:g} s")
            except httpx.RemoteProtocolError as exc:
                error = _protocol_error(exc)
            except httpx.HTTPError as exc:
                error = ConnectError(f"connection failed: {type(exc).__name__}: {exc}".rstrip(": "))
            else:
                content_type, charset = _parse_content_type(response.headers.get("content-type", ""))
                etag, last_modified = response.headers.get("etag"), response.headers.get("last-modified")
                if response.status_code == 304 and validators is not None:  # a 304 may omit them
                    etag, last_modified = etag or validators.etag, last_modified or validators.last_modified
                return FetchedPage(
                    url=url,
                    final_url=final_url,
                    status=response.status_code,
                    content_type=content_type,
                    charset=charset,
                    body=body,
                    fetch_ms=(time.perf_counter() - started) * 1000,
                    attempts=attempt,
                    etag=etag,
                    last_modified=last_modified,
                )
            if not error.retryable or attempt == attempts:
                if attempt > 1:
                    error.reason += f" (after {attempt} attempts)"
                raise error
            await asyncio.sleep(_retry_delay(error, attempt))
        raise AssertionError("unreachable")

    async def _follow(
        self, url: str, check_hop: HopCheck | None, html_only: bool = True, validators: Validators | None = None
    ) -> tuple[str, httpx.Response, bytes]:
        """Follow redirects hop by hop. Each hop waits its turn at the pacer first; the
        timeout budget counts network time only, so politeness never times a page out."""
        current = url
        seen = {url}
        budget = self._settings.timeout
        for _hop in range(MAX_REDIRECTS + 1):
            host = host_of(current)
            conditional = validators.headers() if validators is not None and validators.url == current else {}
            on_wire = _OnWire(self.pacer, host, await self.pacer.wait_turn(host))
            started = time.monotonic()
            try:
                async with asyncio.timeout(budget):
                    location, response, body = await self._request(current, html_only, on_wire, conditional)
            except TimeoutError:
                raise FetchTimeoutError(f"timed out after {self._settings.timeout:g} s") from None
            except HTTPStatusError as exc:
                if exc.http_status in _THROTTLE_STATUSES:
                    retry_after = exc.retry_after if (exc.retry_after or 0) <= MAX_RETRY_AFTER_S else None
                    await self.pacer.back_off(host, retry_after)
                raise
            finally:
                await on_wire.done()  # a request that never reached the wire releases its turn too
            await self.pacer.relax(host)
            budget -= time.monotonic() - started
            if location is None:
                return current, response, body
            current = await _next_hop(current, location, seen, check_hop)
        raise RedirectError(f"more than {MAX_REDIRECTS} redirects")

    async def _request(
        self, url: str, html_only: bool, on_wire: _OnWire | None = None, conditional: dict[str, str] | None = None
    ) -> tuple[str | None, httpx.Response, bytes]:
        """One GET: (redirect target or None, response, body). A 304 is an answer only to
        a conditional request (`conditional` holds its headers)."""
        assert self._client is not None, "use Fetcher as an async context manager"
        extensions = {"trace": on_wire.trace} if on_wire is not None else None
        async with self._client.stream("GET", url, headers=conditional or None, extensions=extensions) as response:
            if response.status_code in _REDIRECT_STATUSES and "location" in response.headers:
                return response.headers["location"], response, b""
            if response.status_code == 304:
                if not conditional:
                    raise MalformedResponseError("304 Not Modified to a request that asked for no validation")
                return None, response, b""
            if response.status_code >= 400:
                raise HTTPStatusError(response.status_code, retry_after=_retry_after(response))
            markdown = self._settings.publisher_markdown and is_markdown(_content_type(response), url)
            if html_only and not markdown:
                _require_html(response)
            body = await self._read_capped(response, html_only and not markdown)
            if markdown and b"\x00" in body[:8192]:  # a .md served as octet-stream that is not text
                raise NotHTMLError(f"not HTML: binary data served as {_content_type(response) or 'no Content-Type'}")
            return None, response, body

    async def _read_capped(self, response: httpx.Response, html_only: bool = True) -> bytes:
        """The body, decoded by us (not httpx) so that neither the wire bytes nor the
        decompressed bytes can pass the cap."""
        cap = self._settings.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise ResponseTooLargeError(f"response of {int(declared):,} bytes exceeds the {cap:,} byte cap")
        decoder = BodyDecoder(response.headers.get("content-encoding", ""), cap)
        chunks: list[bytes] = []
        wire = 0
        async for raw in response.aiter_raw():
            wire += len(raw)
            if wire > cap:
                raise ResponseTooLargeError(f"response exceeds the {cap:,} byte cap")
            chunks.append(decoder.feed(raw))
        body = b"".join(chunks)
        if html_only:
            _require_html_body(body, response.headers.get("content-type", ""))
        return body

    async def probe(self, url: str) -> int | None:
        """The status a HEAD request for `url` gets (redirects not followed), or None if it
        fails: notes that a file exists (llms-full.txt) without downloading it."""
        assert self._client is not None, "use Fetcher as an async context manager"
        host = host_of(url)
        on_wire = _OnWire(self.pacer, host, await self.pacer.wait_turn(host))
        try:
            async with asyncio.timeout(self._settings.timeout):
                response = await self._client.head(url, extensions={"trace": on_wire.trace})
        except (httpx.HTTPError, FetchError, TimeoutError):
            return None
        finally:
            await on_wire.done()
        await self.pacer.relax(host)
        return response.status_code


def _content_type(response: httpx.Response) -> str:
    return _parse_content_type(response.headers.get("content-type", ""))[0]


def _protocol_error(exc: httpx.RemoteProtocolError) -> FetchError:
    """A broken response. Oversized headers are the server's doing and never retried; a
    connection dropped mid-response may be transient."""
    if "buffer too long" in str(exc).lower():
        return MalformedResponseError("response headers exceed 100 KB")
    return ConnectError(f"connection failed: RemoteProtocolError: {exc}".rstrip(": "))


async def _next_hop(current: str, location: str, seen: set[str], check_hop: HopCheck | None) -> str:
    target = normalize(location, base=current)
    if target is None:
        raise RedirectError(f"redirect to a non-http(s) URL: {location[:200]}")
    if target in seen:
        raise RedirectError(f"redirect loop at {target}")
    seen.add(target)
    if check_hop is not None and (reason := await check_hop(target)) is not None:
        raise RedirectError(f"redirect refused ({reason}): {target}")
    return target


def _require_html(response: httpx.Response) -> None:
    content_type, _ = _parse_content_type(response.headers.get("content-type", ""))
    if content_type and content_type not in HTML_TYPES:
        raise NotHTMLError(f"not HTML: {content_type}")


_MAGIC = (
    (b"%PDF-", "PDF"),
    (b"\x89PNG\r\n\x1a\n", "PNG image"),
    (b"GIF87a", "GIF image"),
    (b"GIF89a", "GIF image"),
    (b"\xff\xd8\xff", "JPEG image"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip data"),
    (b"RIFF", "RIFF media"),
    (b"\x00\x00\x01\x00", "icon"),
    (b"wOF2", "font"),
    (b"wOFF", "font"),
    (b"\x7fELF", "executable"),
)
_CONTROL = bytes(set(range(32)) - {9, 10, 12, 13})


def _require_html_body(body: bytes, content_type: str) -> None:
    """Byte sniffing: a PDF or image behind a .html name or a text/html header never reaches the extractor."""
    head = body[:1024]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            raise NotHTMLError(f"not HTML: {kind} served as {content_type or 'no Content-Type'}")
    if head and sum(head.count(c) for c in _CONTROL) > len(head) // 10:
        raise NotHTMLError(f"not HTML: binary data served as {content_type or 'no Content-Type'}")
    if not content_type and not _looks_like_html(body):
        raise NotHTMLError("not HTML: no Content-Type and the body does not look like HTML")


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")) or b"<html" in head


def _parse_content_type(value: str) -> tuple[str, str | None]:
    main, _, params = value.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, val = param.strip().partition("=")
        if key.lower() == "charset" and val:
            charset = val.strip().strip("\"'").lower()
    return main.strip().lower(), charset


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _retry_delay(error: FetchError, attempt: int) -> float:
    """Jittered exponential backoff, never shorter than the server's Retry-After."""
    backoff = min(MAX_BACKOFF_S, 0.25 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        if retry_after > MAX_RETRY_AFTER_S:
            error.reason += f" (Retry-After {retry_after:.0f} s exceeds the {MAX_RETRY_AFTER_S:.0f} s cap)"
            raise error
        return max(backoff, retry_after)
    return backoff
