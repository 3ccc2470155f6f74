"""Rendering pages in headless Chromium, without letting the browser touch the network itself.

Some documentation sites ship an empty shell and fill it with JavaScript. To crawl them the
page has to run, but a browser left to its own devices would fetch whatever the page asks
for: other hosts, private addresses, trackers, pages robots.txt forbids, all outside the
address guard, the pacing and the size caps that every request of a crawl must pass. So the
browser only ever sees answers we hand it: the page's own document, already fetched by the
fetcher, is served from memory, and every other request is routed through the engine's
`resolve` callback (which applies those rules) or refused. Images, fonts and media are not
needed to build the DOM and are never fetched. As a second line, Chromium is pointed at a
proxy that does not exist, so a request the routing somehow misses fails instead of leaving.

"Done" is decided here, not by Playwright's network idle, which does not see routed requests
well: the `load` event has fired and no routed request has been in flight for a quiet
period, all bounded by one deadline per page. A page that never goes quiet is returned as
it stands (`settled=False`) rather than failed: its text is usually there.

Chromium grows with every page it renders, and a crawl may render thousands on a machine
with about 1 GB (Streamlit Community Cloud). After each page the browser's processes are
measured, and past the cap the browser is restarted between pages.

Playwright is imported inside functions: docspasta installs and runs without it, and only
`render=always` (or auto-detection) needs a browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.util
import logging
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import urldefrag, urlsplit

from ..errors import RenderError, RenderingUnavailableError

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page, Playwright, Request, Route, WebSocketRoute

__all__ = [
    "BLOCKED_TYPES",
    "Rendered",
    "Renderer",
    "Resolve",
    "Subresource",
    "browser_memory_mb",
    "chromium_path",
    "rendering_unavailable",
]

log = logging.getLogger(__name__)

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--proxy-bypass-list=<-loopback>",  # loopback too goes to the dead proxy (Chromium exempts it by default)
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)  # fmt: skip
# Port 9 (discard) on loopback: nothing listens there, so an unrouted request fails at once.
DEAD_PROXY = "http://127.0.0.1:9"
# Not needed to build the DOM: never fetched. "ping" is what Chromium calls a sendBeacon.
BLOCKED_TYPES = frozenset(
    {"image", "font", "media", "texttrack", "websocket", "eventsource", "manifest", "beacon", "ping"}
)
LOCAL_SCHEMES = ("data", "blob")  # answered inside the browser, no network
# no routed request in flight for this long since the document loaded or the last request
# ended: the network is quiet (Playwright's networkidle waits 500 ms; on a busy machine a
# script's first request can reach us a few hundred ms after the document is ready)
QUIET_S = 0.5
POLL_S = 0.05
CONTENT_GRACE_S = 2.0  # past the deadline, how long page.content() may take (a page stuck in a loop never answers)
CLOSE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Subresource:
    """What the engine's resolver fetched for the browser."""

    status: int
    content_type: str  # e.g. "application/json"; "" if unknown
    body: bytes


# resolve(url, resource_type) -> the response to fulfil with, or the reason it is refused.
Resolve = Callable[[str, str], Awaitable[Subresource | str]]


@dataclass(frozen=True)
class Rendered:
    html: str  # the rendered DOM once the page settled (or when the deadline passed)
    final_url: str  # where the page ended up (scripts may navigate)
    fetched: int  # subresource requests fulfilled through resolve
    refused: tuple[tuple[str, str], ...]  # (url, reason) of each request refused
    blocked: int  # requests never fetched by policy (images, fonts, media, ...)
    render_ms: float
    settled: bool  # False when the deadline passed before the network went quiet


def chromium_path() -> str | None:
    """The Chromium to launch: $DOCSPASTA_CHROMIUM if set (a path or a name on PATH), else the first found."""
    override = os.environ.get("DOCSPASTA_CHROMIUM")
    if override:
        return shutil.which(override)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


@functools.cache
def rendering_unavailable() -> str | None:
    """None when rendering can work here; else why not, phrased for the person running the crawl.

    Cheap (nothing is launched) and cached for the life of the process; a browser that is
    present but fails to start shows up as RenderingUnavailableError from the first render.
    """
    try:
        playwright = importlib.util.find_spec("playwright")
    except (ImportError, ValueError):  # a broken install, or a module blanked out in sys.modules
        playwright = None
    if playwright is None:
        return "install playwright (pip install playwright)"
    if chromium_path() is None:
        override = os.environ.get("DOCSPASTA_CHROMIUM")
        if override:
            return f"DOCSPASTA_CHROMIUM={override!r} is not an executable; point it at chromium or unset it"
        return "install chromium (apt-get install chromium)"
    return None


def browser_memory_mb() -> float:
    """Memory of the Chromium processes this process started, in MB (0 where /proc is missing).

    Chromium is a tree of processes (browser, renderers, GPU, network, storage), so this sums
    over every descendant whose command line mentions chrom. Each counts its proportional set
    size (Pss, shared pages split among the processes sharing them): summing VmRSS instead
    counts the Chromium binary and libraries once per process, about twice the real figure
    (575 MB against 265 MB for an idle browser here). VmRSS is the fallback where Pss is unreadable.
    """
    proc = Path("/proc")
    if not sys.platform.startswith("linux") or not proc.is_dir():
        return 0.0
    children: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone since the listing
        fields = stat.rpartition(")")[2].split()  # the command name may hold spaces and parentheses
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total_kb = 0
    todo = list(children.get(os.getpid(), ()))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            if b"chrom" in (proc / str(pid) / "cmdline").read_bytes():
                total_kb += _process_kb(proc / str(pid))
        except OSError:
            continue  # exited meanwhile
    return total_kb / 1024


def _process_kb(pid_dir: Path) -> int:
    for name, key in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            text = (pid_dir / name).read_text()
        except PermissionError:
            continue
        for line in text.splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    return 0


class Renderer:
    """One headless Chromium shared by a job's renders, launched on the first one.

    Each render gets a fresh browser context (no cookies, storage or cache carried between
    pages), at most `pages` at once. Past `memory_mb` the browser is restarted once no
    render is in flight; renders arriving meanwhile wait for the new one.
    """

    def __init__(
        self,
        *,
        pages: int = 2,
        deadline_s: float = 15.0,
        memory_mb: int = 1024,
        user_agent: str | None = None,
        executable: str | None = None,
    ) -> None:
        if pages < 1:
            raise ValueError(f"pages must be at least 1, not {pages}")
        self.pages = pages
        self.deadline_s = deadline_s
        self.memory_mb = memory_mb
        self.user_agent = user_agent
        self.executable = executable
        self.rendered = 0  # pages rendered so far
        self.restarts = 0  # browser restarts for memory
        self.peak_mb = 0.0  # highest browser memory seen
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self._slots = asyncio.Semaphore(pages)
        self._launch_lock = asyncio.Lock()
        self._state = asyncio.Condition()  # guards _active and _restart_due
        self._active = 0
        self._restart_due = False

    async def __aenter__(self) -> Renderer:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the browser and Playwright's driver; a later render launches them again."""
        await self._close_browser()
        playwright, self._playwright = self._playwright, None
        if playwright is not None:
            with contextlib.suppress(Exception):
                await playwright.stop()

    async def render(self, url: str, document: bytes, content_type: str, resolve: Resolve) -> Rendered:
        """Render `document` (already fetched from `url`) with every other request going through `resolve`.

        Raises RenderError when the page did not reach DOMContentLoaded within the deadline
        or the browser crashed, and RenderingUnavailableError when no browser can be launched.
        """
        async with self._slots:
            async with self._state:
                await self._state.wait_for(lambda: not self._restart_due)
                self._active += 1
            try:
                browser = await self._ensure_browser()
                result = await self._render(browser, url, document, content_type, resolve)
                self.rendered += 1
                return result
            finally:
                await self._after_render()

    async def _after_render(self) -> None:
        memory = await asyncio.to_thread(browser_memory_mb)
        self.peak_mb = max(self.peak_mb, memory)
        async with self._state:
            self._active -= 1
            if memory > self.memory_mb and self._browser is not None:
                self._restart_due = True
            if self._restart_due and self._active == 0:
                log.info("restarting Chromium: %.0f MB is over the %d MB cap", memory, self.memory_mb)
                await self._close_browser()
                self.restarts += 1
                self._restart_due = False
                self._state.notify_all()

    async def _ensure_browser(self) -> Browser:
        async with self._launch_lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            if self._browser is not None:  # crashed or killed: start a new one
                await self._close_browser()
            self._browser = await self._launch()
            return self._browser

    async def _launch(self) -> Browser:
        why = rendering_unavailable() if self.executable is None else None
        if why:
            raise RenderingUnavailableError(why)
        executable = self.executable or chromium_path()
        if executable is None or shutil.which(executable) is None:
            raise RenderingUnavailableError(f"no chromium at {executable!r} (apt-get install chromium)")
        try:
            from playwright.async_api import Error as PlaywrightError
            from playwright.async_api import async_playwright
        except ImportError as exc:
            raise RenderingUnavailableError(f"install playwright (pip install playwright): {exc}") from exc
        try:
            if self._playwright is None:
                self._playwright = await async_playwright().start()
            return await self._playwright.chromium.launch(
                executable_path=executable,
                headless=True,
                args=list(CHROMIUM_ARGS),
                proxy={"server": DEAD_PROXY},
                handle_sigint=False,
                handle_sigterm=False,
                handle_sighup=False,
            )
        except (PlaywrightError, OSError) as exc:
            raise RenderingUnavailableError(f"chromium failed to start: {_first_line(exc)}") from exc

    async def _close_browser(self) -> None:
        browser, self._browser = self._browser, None
        if browser is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(browser.close(), CLOSE_TIMEOUT_S)

    async def _render(
        self, browser: Browser, url: str, document: bytes, content_type: str, resolve: Resolve
    ) -> Rendered:
        from playwright.async_api import Error as PlaywrightError

        started = time.monotonic()
        deadline = started + self.deadline_s
        try:
            context = await browser.new_context(
                java_script_enabled=True,
                service_workers="block",
                viewport={"width": 1280, "height": 900},
                user_agent=self.user_agent,
                accept_downloads=False,
            )
        except PlaywrightError as exc:
            raise RenderError(f"browser crashed: {_first_line(exc)}") from exc
        session = _Session(url, document, content_type or "text/html", resolve)
        try:
            await context.route("**/*", session.route)
            await context.route_web_socket("**/*", session.web_socket)
            page = await context.new_page()
            session.page = page
            page.on("crash", lambda _page: session.crashed.set())
            page.on("popup", lambda popup: asyncio.ensure_future(popup.close()))
            await self._navigate(page, session, url, deadline)
            session.last_activity = time.monotonic()  # quiet counts from the document being ready
            settled = await self._settle(page, session, deadline)
            html = await self._content(page, session, deadline)
            return Rendered(
                html=html,
                final_url=page.url,
                fetched=session.fetched,
                refused=tuple(session.refused),
                blocked=session.blocked,
                render_ms=(time.monotonic() - started) * 1000,
                settled=settled,
            )
        except PlaywrightError as exc:
            if session.crashed.is_set() or not browser.is_connected():
                raise RenderError(f"browser crashed: {_first_line(exc)}") from exc
            raise RenderError(f"render failed: {_first_line(exc)}") from exc
        finally:
            session.cancel_pending()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(context.close(), CLOSE_TIMEOUT_S)

    async def _navigate(self, page: Page, session: _Session, url: str, deadline: float) -> None:
        """Up to DOMContentLoaded; missing it within the deadline fails the render."""
        from playwright.async_api import Error as PlaywrightError
        from playwright.async_api import TimeoutError as PlaywrightTimeoutError

        remaining = max(0.001, deadline - time.monotonic())
        goto = asyncio.ensure_future(page.goto(url, wait_until="domcontentloaded", timeout=remaining * 1000))
        crash = asyncio.ensure_future(session.crashed.wait())
        try:
            done, _ = await asyncio.wait({goto, crash}, timeout=remaining + 1.0, return_when=asyncio.FIRST_COMPLETED)
        finally:
            crash.cancel()
        if goto not in done:
            goto.cancel()
            with contextlib.suppress(BaseException):
                await goto
            if session.crashed.is_set():
                raise RenderError("browser crashed: the page's renderer died")
            raise RenderError(f"render timed out after {self.deadline_s:g}s")
        try:
            goto.result()
        except PlaywrightTimeoutError as exc:
            raise RenderError(f"render timed out after {self.deadline_s:g}s") from exc
        except PlaywrightError as exc:
            # A script that navigates during load interrupts goto; the new page is settled like any other.
            if "interrupted by another navigation" not in str(exc) or session.crashed.is_set():
                raise

    async def _settle(self, page: Page, session: _Session, deadline: float) -> bool:
        """Wait for `load` and a quiet network; False when the deadline came first."""
        while True:
            if session.crashed.is_set():
                raise RenderError("browser crashed: the page's renderer died")
            now = time.monotonic()
            if now >= deadline:
                return False
            if (
                session.in_flight == 0
                and now - session.last_activity >= QUIET_S
                and await _loaded(page, deadline - now)
            ):
                return True
            await asyncio.sleep(POLL_S)

    async def _content(self, page: Page, session: _Session, deadline: float) -> str:
        remaining = max(0.0, deadline - time.monotonic()) + CONTENT_GRACE_S
        try:
            return await asyncio.wait_for(page.content(), remaining)
        except TimeoutError as exc:
            # The page's scripts never yield (an endless loop): there is no DOM to read out.
            raise RenderError(
                f"render timed out after {self.deadline_s:g}s (the page's scripts never yielded)"
            ) from exc
        except Exception:
            if session.crashed.is_set():
                raise RenderError("browser crashed: the page's renderer died") from None
            raise


async def _loaded(page: Page, timeout: float) -> bool:
    """Whether the current document has fired `load` (readyState is "complete").

    Asked of the document rather than taken from events, because a script that navigates
    (or a late iframe) makes event order hard to trust; a navigation in progress says no.
    """
    try:
        state = await asyncio.wait_for(page.evaluate("document.readyState"), max(0.001, timeout))
    except Exception:
        return False
    return bool(state == "complete")


class _Session:
    """The routing of one render: what was fetched, refused and blocked, and what is in flight."""

    def __init__(self, url: str, document: bytes, content_type: str, resolve: Resolve) -> None:
        self.url = urldefrag(url)[0]
        self.document = document
        self.content_type = content_type
        self.resolve = resolve
        self.page: Page | None = None
        self.document_served = False
        self.fetched = 0
        self.blocked = 0
        self.refused: list[tuple[str, str]] = []
        self.in_flight = 0
        self.last_activity = time.monotonic()
        self.crashed = asyncio.Event()
        self._pending: set[asyncio.Future[Any]] = set()

    def cancel_pending(self) -> None:
        """Resolver calls still running when the render ends are abandoned, not awaited."""
        for task in self._pending:
            task.cancel()

    async def route(self, route: Route) -> None:
        from playwright.async_api import Error as PlaywrightError

        request = route.request
        self.in_flight += 1
        self.last_activity = time.monotonic()
        try:
            await self._answer(route, request)
        except (PlaywrightError, asyncio.CancelledError):
            pass  # the page or context closed while the request was being answered
        finally:
            self.in_flight -= 1
            self.last_activity = time.monotonic()

    async def _answer(self, route: Route, request: Request) -> None:
        url = request.url
        if not self.document_served and self._is_document(request):
            self.document_served = True
            await route.fulfill(status=200, headers={"content-type": self.content_type}, body=self.document)
            return
        scheme = urlsplit(url).scheme.lower()
        if scheme in LOCAL_SCHEMES:
            await route.continue_()
            return
        if request.resource_type in BLOCKED_TYPES:
            self.blocked += 1
            await route.abort("blockedbyclient")
            return
        if scheme not in ("http", "https"):
            return await self._refuse(route, url, f"scheme {scheme}: not fetched")
        if request.method not in ("GET", "HEAD"):
            return await self._refuse(route, url, f"method {request.method} not fetched")
        task = asyncio.ensure_future(self.resolve(url, request.resource_type))
        self._pending.add(task)
        try:
            answer = await task
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            return await self._refuse(route, url, f"error: {exc}")
        finally:
            self._pending.discard(task)
        if isinstance(answer, str):
            return await self._refuse(route, url, answer)
        headers = {"content-type": answer.content_type} if answer.content_type else {}
        origin = request.headers.get("origin")
        if origin:  # the resolver's answer carries no CORS headers; the server it came from was allowed to answer
            headers["access-control-allow-origin"] = origin
            headers["access-control-allow-credentials"] = "true"
        self.fetched += 1
        await route.fulfill(status=answer.status, headers=headers, body=answer.body)

    def _is_document(self, request: Request) -> bool:
        """The navigation `goto` starts: the first top-level one, which is for our URL (give or take
        the normalisation Chromium applies, e.g. a trailing slash after the host)."""
        if not request.is_navigation_request():
            return False
        page = self.page
        return urldefrag(request.url)[0] == self.url or (page is not None and request.frame == page.main_frame)

    async def _refuse(self, route: Route, url: str, reason: str) -> None:
        self.refused.append((url, reason))
        await route.abort("blockedbyclient")

    async def web_socket(self, socket: WebSocketRoute) -> None:
        """WebSockets are never connected: closed at once, counted as blocked."""
        self.blocked += 1
        with contextlib.suppress(Exception):
            await socket.close(code=1008, reason="not fetched while rendering")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
