"""Rendering in headless Chromium (docspasta/fetching/browser.py) against real loopback servers.

The browser never fetches on its own: the page's document is handed to it, and every other
request goes through a resolver, here a plain httpx GET that refuses any other origin (the
engine's resolver, with the address guard, robots.txt and pacing, is tested elsewhere). The
servers log every request, so "never fetched" is checked where it matters: on the server.

Debian's chromium via `executable_path`. Without it the tests skip, except under CI=true,
where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest
from loopback_server import LoopbackServer

from docspasta.errors import RenderError, RenderingUnavailableError
from docspasta.fetching.browser import (
    Renderer,
    Subresource,
    browser_memory_mb,
    chromium_path,
    rendering_unavailable,
)

pytestmark = pytest.mark.browser

DEADLINE_SLACK_S = 2.5  # a render past its deadline returns within this much more


@pytest.fixture(autouse=True)
def _require_browser() -> None:
    why = rendering_unavailable()
    if why:
        message = f"rendering unavailable ({why}); browser render test not run"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


class Site(LoopbackServer):
    """Serves `files` (path -> (content type, body)); logs (method, path) of every request.
    Paths under /slow/ take SLOW_S to answer, with the most answered at once kept."""

    SLOW_S = 0.6

    def __init__(self, files: dict[str, tuple[str, bytes]] | None = None) -> None:
        self.files = dict(files or {})
        self.log: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.in_flight = 0
        self.max_in_flight = 0
        super().__init__(_Handler)

    def add(self, path: str, body: str | bytes, content_type: str = "text/html") -> str:
        self.files[path] = (content_type, body.encode() if isinstance(body, str) else body)
        return self.url(path)

    def paths(self, method: str = "GET") -> list[str]:
        with self.lock:
            return [p for m, p in self.log if m == method]

    def requests(self) -> list[tuple[str, str]]:
        with self.lock:
            return list(self.log)


class _Handler(BaseHTTPRequestHandler):
    server: Site

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, body_wanted: bool) -> None:
        site = self.server
        with site.lock:
            site.log.append((self.command, self.path))
        path = self.path.split("?", 1)[0]
        if path.startswith("/slow/"):
            with site.lock:
                site.in_flight += 1
                site.max_in_flight = max(site.max_in_flight, site.in_flight)
            time.sleep(site.SLOW_S)
            with site.lock:
                site.in_flight -= 1
        content_type, body = site.files.get(path, ("text/plain", b""))
        status = 200 if path in site.files or path.startswith("/slow/") else 404
        if path.startswith("/slow/") and path not in site.files:
            content_type, body = "application/json", b'{"text": "slow data"}'
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if body_wanted:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self) -> None:  # noqa: N802
        self._answer(True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(False)

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self._answer(True)


@pytest.fixture
def site():
    with Site() as server:
        yield server


@pytest.fixture
def sentinel():
    """Another origin (another port): nothing may ever reach it."""
    with Site() as server:
        yield server


class Resolver:
    """The test's resolver: GET on the site's own origin, refuse the rest. Counts calls."""

    def __init__(self, client: httpx.AsyncClient, site: Site) -> None:
        self.client = client
        self.origin = site.base
        self.calls: list[tuple[str, str]] = []

    async def __call__(self, url: str, resource_type: str) -> Subresource | str:
        self.calls.append((url, resource_type))
        if not (url == self.origin or url.startswith(self.origin + "/")):
            return "out of scope: other host"
        response = await self.client.get(url)
        content_type = response.headers.get("content-type", "").split(";")[0].strip()
        return Subresource(response.status_code, content_type, response.content)


@pytest.fixture
async def resolver(site):
    async with httpx.AsyncClient(timeout=10) as client:
        yield Resolver(client, site)


async def warmed(renderer: Renderer, site: Site, resolve, deadline_s: float) -> None:
    """One page rendered first, so that the browser's launch and its first page (slow on a busy
    machine) are not in what a test times; then the deadline under test."""
    site.add("/warm.html", "<!doctype html><p>warm</p>")
    await render_page(renderer, site, "/warm.html", resolve)
    renderer.deadline_s = deadline_s


async def render_page(renderer: Renderer, site: Site, path: str, resolve) -> object:
    """Render a page of the site the way the engine does: its document as fetched, handed over."""
    content_type, body = site.files[path]
    return await renderer.render(site.url(path), body, content_type, resolve)


async def test_content_fetched_as_json_is_in_the_rendered_html(site, resolver):
    script = "fetch('/data.json').then(r => r.json()).then(d => {out.textContent = d.text})"
    site.add("/app.js", script, "text/javascript")
    site.add("/data.json", '{"text": "Installed by JSON"}', "application/json")
    site.add("/page.html", "<!doctype html><title>t</title><div id=out>loading</div><script src=/app.js></script>")
    async with Renderer() as renderer:
        rendered = await render_page(renderer, site, "/page.html", resolver)
        memory = browser_memory_mb()
    assert "Installed by JSON" in rendered.html
    assert rendered.settled
    assert rendered.fetched == 2 and rendered.refused == () and rendered.blocked == 0
    assert rendered.final_url == site.url("/page.html")
    assert site.paths() == ["/app.js", "/data.json"]  # the document itself is not fetched again
    assert renderer.rendered == 1
    assert renderer.peak_mb > 0 and memory > 0
    print(f"simple page: {rendered.render_ms:.0f} ms, browser {memory:.0f} MB")


async def test_images_fonts_and_media_are_blocked_and_never_requested(site, resolver):
    site.add(
        "/page.html",
        "<!doctype html><style>@font-face {font-family: F; src: url(/font.woff2)} body {font-family: F}</style>"
        "<link rel=stylesheet href=/style.css><p>Text in a web font</p><img src=/logo.png>"
        "<video src=/clip.mp4 preload=auto></video>",
    )
    site.add("/style.css", "div {background: url(/bg.png)} ", "text/css")
    async with Renderer() as renderer:
        rendered = await render_page(renderer, site, "/page.html", resolver)
    assert "Text in a web font" in rendered.html
    assert rendered.blocked >= 3
    assert site.paths() == ["/style.css"]
    assert not [t for _, t in resolver.calls if t in ("image", "font", "media")]


async def test_requests_to_another_origin_are_refused_and_never_arrive(site, sentinel, resolver):
    other = sentinel.base
    site.add(
        "/page.html",
        f"""<!doctype html><div id=out>start</div>
        <script src="{other}/tracker.js"></script>
        <link rel=stylesheet href="{other}/theme.css">
        <img src="{other}/pixel.gif">
        <iframe src="{other}/frame.html"></iframe>
        <script>
          fetch("{other}/secret.json").then(r => r.text())
            .then(t => out.textContent = t, e => out.textContent = "failed: " + e);
          navigator.sendBeacon("{other}/beacon", "x");
          try {{ new WebSocket("{other.replace("http", "ws")}/socket") }} catch (e) {{}}
        </script>""",
    )
    async with Renderer() as renderer:
        rendered = await render_page(renderer, site, "/page.html", resolver)
    refused = dict(rendered.refused)
    for path in ("/tracker.js", "/theme.css", "/secret.json", "/frame.html"):
        assert refused.get(other + path) == "out of scope: other host", (path, rendered.refused)
    assert "failed: " in rendered.html
    assert rendered.blocked >= 2  # the image and the beacon (and the WebSocket)
    time.sleep(0.2)  # anything that did leave would have arrived by now
    assert sentinel.requests() == []
    assert site.requests() == []


async def test_methods_other_than_get_are_refused(site, resolver):
    site.add(
        "/page.html",
        "<!doctype html><div id=out>start</div><script>"
        "fetch('/api/save', {method: 'POST', body: 'x=1'})"
        ".then(() => out.textContent = 'posted', () => out.textContent = 'refused');"
        "</script>",
    )
    async with Renderer() as renderer:
        rendered = await render_page(renderer, site, "/page.html", resolver)
    assert (site.url("/api/save"), "method POST not fetched") in rendered.refused
    assert ">refused<" in rendered.html
    assert site.requests() == []


async def test_a_page_that_never_goes_quiet_is_returned_unsettled_at_the_deadline(site, resolver):
    # Every tick takes Site.SLOW_S to answer, so one is always in flight even if a busy machine delays the timer.
    site.add(
        "/page.html",
        "<!doctype html><p>Always polling</p>"
        "<script>setInterval(() => fetch('/slow/tick.json?' + Date.now()), 100)</script>",
    )
    async with Renderer() as renderer:
        await warmed(renderer, site, resolver, 2.0)
        started = time.monotonic()
        rendered = await render_page(renderer, site, "/page.html", resolver)
        elapsed = time.monotonic() - started
    assert not rendered.settled
    assert "Always polling" in rendered.html
    assert 2.0 <= elapsed < 2.0 + DEADLINE_SLACK_S
    # the page kept polling to the end (how many answers came back in time depends on the machine's load)
    assert any(p.startswith("/slow/tick.json") for p in site.paths())
    assert 1900 <= rendered.render_ms < (2.0 + DEADLINE_SLACK_S) * 1000


async def test_a_page_that_never_reaches_domcontentloaded_fails_with_render_error(site):
    site.add("/page.html", "<!doctype html><p>Before</p><script src=/never.js></script><p>After</p>")
    resolving = asyncio.Event()

    async def hang(url: str, resource_type: str) -> Subresource | str:
        resolving.set()
        await asyncio.sleep(3600)
        return "unreachable"

    async with Renderer() as renderer:
        await warmed(renderer, site, hang, 3.0)  # long enough for a busy machine to ask for the script
        started = time.monotonic()
        with pytest.raises(RenderError, match=r"render timed out after 3s"):
            await render_page(renderer, site, "/page.html", hang)
        assert time.monotonic() - started < 3.0 + DEADLINE_SLACK_S
        assert resolving.is_set()


async def test_an_exception_in_the_resolver_refuses_that_request_only(site, resolver):
    site.add("/ok.json", '{"text": "still here"}', "application/json")
    site.add(
        "/page.html",
        "<!doctype html><div id=out></div><script src=/boom.js></script><script>"
        "fetch('/ok.json').then(r => r.json()).then(d => out.textContent = d.text)</script>",
    )

    async def flaky(url: str, resource_type: str) -> Subresource | str:
        if url.endswith("/boom.js"):
            raise RuntimeError("resolver broke")
        return await resolver(url, resource_type)

    async with Renderer(deadline_s=5.0) as renderer:
        rendered = await render_page(renderer, site, "/page.html", flaky)
    assert rendered.settled
    assert (site.url("/boom.js"), "error: resolver broke") in rendered.refused
    assert "still here" in rendered.html


async def test_a_script_navigating_away_is_resolved_too(site, sentinel, resolver):
    site.add("/next.html", "<!doctype html><p>The real page</p>")
    site.add("/page.html", "<p>Redirecting</p><script>setTimeout(() => location.href = '/next.html', 50)</script>")
    site.add("/away.html", f"<p>Leaving</p><script>location.href = '{sentinel.url('/elsewhere.html')}'</script>")
    async with Renderer() as renderer:
        rendered = await render_page(renderer, site, "/page.html", resolver)
        away = await render_page(renderer, site, "/away.html", resolver)
    assert rendered.final_url == site.url("/next.html")
    assert "The real page" in rendered.html
    assert (site.url("/next.html"), "document") in resolver.calls
    assert site.paths() == ["/next.html"]
    assert (sentinel.url("/elsewhere.html"), "out of scope: other host") in away.refused
    assert sentinel.requests() == []


async def test_no_cookies_or_storage_carry_over_between_pages(site, resolver):
    site.add("/set.html", "<script>document.cookie = 'seen=1'; localStorage.setItem('seen', '1')</script>")
    site.add(
        "/get.html",
        "<!doctype html><div id=out></div><script>"
        "out.textContent = 'cookie=[' + document.cookie + '] storage=[' + localStorage.getItem('seen') + ']'</script>",
    )
    async with Renderer(pages=1) as renderer:
        await render_page(renderer, site, "/set.html", resolver)
        rendered = await render_page(renderer, site, "/get.html", resolver)
    assert "cookie=[] storage=[null]" in rendered.html


async def test_rendering_is_available_here():
    assert rendering_unavailable() is None
    assert chromium_path() is not None


async def test_a_missing_chromium_is_reported_not_crashed(monkeypatch, site, resolver, tmp_path: Path):
    monkeypatch.setenv("DOCSPASTA_CHROMIUM", str(tmp_path / "no-chromium"))
    assert chromium_path() is None
    site.add("/page.html", "<!doctype html><p>x</p>")
    async with Renderer(executable=str(tmp_path / "no-chromium")) as renderer:
        with pytest.raises(RenderingUnavailableError, match="chromium"):
            await render_page(renderer, site, "/page.html", resolver)


async def test_over_the_memory_cap_the_browser_restarts_and_renders_on(site, resolver):
    site.add("/page.html", "<!doctype html><p>First</p>")
    site.add("/other.html", "<!doctype html><p>Second</p>")
    async with Renderer(memory_mb=1) as renderer:
        first = await render_page(renderer, site, "/page.html", resolver)
        assert renderer.restarts >= 1
        assert renderer.peak_mb > 1
        second = await render_page(renderer, site, "/other.html", resolver)
        assert renderer.restarts >= 2
    assert "First" in first.html and "Second" in second.html
    assert renderer.rendered == 2


async def test_no_more_than_pages_renders_at_once(site, resolver):
    for n in range(4):
        script = f"fetch('/slow/{n}.json').then(r => r.json()).then(d => out.textContent = d.text)"
        site.add(f"/page{n}.html", f"<!doctype html><div id=out></div><script>{script}</script>")
    async with Renderer(pages=1) as renderer:
        pair = (render_page(renderer, site, f"/page{n}.html", resolver) for n in range(2))
        one_at_a_time = await asyncio.gather(*pair)
    assert site.max_in_flight == 1
    site.max_in_flight = 0
    async with Renderer(pages=2) as renderer:  # the measure can see overlap when there is some
        await render_page(renderer, site, "/page2.html", resolver)  # launched before the pair starts
        both = await asyncio.gather(*(render_page(renderer, site, f"/page{n}.html", resolver) for n in (2, 3)))
    assert site.max_in_flight == 2
    assert all("slow data" in r.html for r in [*one_at_a_time, *both])


def _chromium_browsers() -> list[int]:
    """Browser processes (not renderers or helpers) among this process's descendants."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        browser = b"chrom" in cmdline[0] and not any(arg.startswith(b"--type=") for arg in cmdline)
        if browser and ppid != 1 and _descends_from(int(entry.name), os.getpid()):
            found.append(int(entry.name))
    return found


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        if pid == ancestor:
            return True
        try:
            pid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
        except (OSError, IndexError, ValueError):
            return False
    return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the browser process through /proc")
async def test_a_crashed_browser_fails_that_render_and_the_next_one_relaunches(site, resolver):
    site.add("/page.html", "<!doctype html><p>Alive</p><script src=/wait.js></script>")
    site.add("/wait.js", "", "text/javascript")
    site.add("/after.html", "<!doctype html><p>Relaunched</p>")
    killed = asyncio.Event()
    others = set(_chromium_browsers())  # browsers this test did not launch are left alone

    async def kill_then_answer(url: str, resource_type: str) -> Subresource | str:
        if url.endswith("/wait.js") and not killed.is_set():
            for pid in set(_chromium_browsers()) - others:
                os.kill(pid, signal.SIGKILL)  # the browser this test's Renderer launched
            killed.set()
            await asyncio.sleep(1)
        return await resolver(url, resource_type)

    async with Renderer(deadline_s=5.0) as renderer:
        started = time.monotonic()
        with pytest.raises(RenderError, match="browser crashed|render failed"):
            await render_page(renderer, site, "/page.html", kill_then_answer)
        assert time.monotonic() - started < 5.0 + DEADLINE_SLACK_S + 5
        assert killed.is_set()
        rendered = await render_page(renderer, site, "/after.html", resolver)
    assert "Relaunched" in rendered.html
