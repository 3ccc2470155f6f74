"""Where a page's Markdown comes from: the HTML as served, the site's own Markdown, or the
DOM after the page's scripts ran (records.PageSource).

The author's Markdown beats anything converted from HTML, so a page that names a Markdown
twin gets it fetched (with the crawl's guard, robots.txt, pacing and caps) and used when
it is real Markdown for that page; otherwise the HTML stands and the page says why. A page
whose HTML is an empty app shell is rendered in headless Chromium when the settings allow,
and every request its scripts make goes through the crawl's own fetcher: the browser never
opens a connection of its own.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import FetchError, HTTPStatusError, RenderError, RenderingUnavailableError
from ..extraction.extract import ExtractedPage, ExtractInput
from ..extraction.markdown_sites import judge_twin, looks_like_markdown
from ..fetching.fetch import FetchedPage, is_markdown
from ..records import PageSource, RenderMode
from ..settings import CrawlSettings

if TYPE_CHECKING:
    from ..fetching.browser import Renderer, Subresource

log = logging.getLogger(__name__)

# fetch a resource through the crawl's guard, robots.txt, pacing and caps: the response,
# or the reason it was refused; FetchError when the fetch itself failed
GuardedFetch = Callable[[str], Awaitable["FetchedPage | str"]]
Extract = Callable[[ExtractInput], Awaitable[ExtractedPage]]
Event = Callable[[str, "str | None", "dict[str, Any]"], Awaitable[None]]

CACHED_TYPES = frozenset({"script", "stylesheet"})  # the same app.js on every page of an app: fetched once
CACHE_BYTES = 32 * 1024 * 1024
REFUSALS_KEPT = 20  # per page, in its event


@dataclass(frozen=True)
class Sourced:
    """A page's extraction from its best source, and why not a better one."""

    page: ExtractedPage
    source: PageSource
    note: str | None = None
    extra_links: tuple[str, ...] = ()  # found in a shell's navigation files: followed like the page's links
    twin_url: str | None = None  # the Markdown file used (recorded so it is not crawled again as a page)
    nav_urls: tuple[str, ...] = ()  # navigation files read for links (not pages)


class Sources:
    """One job's content sources. `close()` when the job's run ends (it may hold a browser)."""

    def __init__(self, settings: CrawlSettings, fetch: GuardedFetch, extract: Extract, event: Event) -> None:
        self.settings = settings
        self.fetch = fetch
        self.extract = extract
        self.event = event
        self.mode = RenderMode(settings.render)
        self._renderer: Renderer | None = None
        self._unavailable: str | None = None
        self._told_unavailable = False
        self._cache: dict[str, Subresource] = {}
        self._cached_bytes = 0
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        renderer, self._renderer = self._renderer, None
        if renderer is not None:
            await renderer.close()

    def markdown_mode(
        self, fetched: FetchedPage, markdown_site: tuple[str, str] | None
    ) -> tuple[str | None, str | None]:
        """How to read a fetched page that is Markdown, and the base its links resolve against:
        a Docsify site's way under its base, else "plain"; (None, None) for HTML."""
        if not self.settings.publisher_markdown or not is_markdown(fetched.content_type, fetched.final_url):
            return None, None
        if markdown_site is not None and fetched.final_url.startswith(markdown_site[0]):
            return markdown_site[1], markdown_site[0]
        return "plain", None

    async def best(self, url: str, fetched: FetchedPage, page: ExtractedPage, twin_url: str | None = None) -> Sourced:
        """The page from its best source, given its HTML's extraction and its Markdown twin
        (the one its HTML names, or one the site's llms.txt lists beside it)."""
        note = None
        if self.settings.publisher_markdown and page.shell is not None:
            return await self._shell(url, page)
        if self.settings.publisher_markdown and twin_url and twin_url != url:
            twin, note = await self._twin(twin_url, page)
            if twin is not None:
                return Sourced(twin, PageSource.PUBLISHER_MARKDOWN, twin_url=twin_url)
        if self._wants_render(page):
            rendered, render_note = await self._render(url, fetched)
            if rendered is not None:
                return Sourced(rendered, PageSource.RENDERED, render_note)
            note = "; ".join(n for n in (note, render_note) if n)
        return Sourced(page, PageSource.HTML, note or None)

    # -- the site's own Markdown ---------------------------------------------------------

    async def _twin(self, twin_url: str, html: ExtractedPage) -> tuple[ExtractedPage | None, str | None]:
        """The page as its twin gives it, with the HTML's links, title and navigation; or
        None and why the twin is not used."""
        markdown, why = await self._markdown_file(twin_url, "plain")
        if markdown is None:
            return None, f"Markdown twin not used: {why} ({twin_url})"
        if (stub := judge_twin(markdown.words, html.words)) is not None:
            return None, f"Markdown twin not used: {stub} ({twin_url})"
        return _with_text_of(html, markdown), None

    async def _shell(self, url: str, shell_page: ExtractedPage) -> Sourced:
        """A Docsify-style shell: its content is its homepage Markdown file, its links those
        of that file and of its navigation files (sidebar, navbar)."""
        shell = shell_page.shell
        assert shell is not None
        home, why = await self._markdown_file(shell.homepage_url, shell.markdown_mode, shell.base_url)
        nav_links: list[str] = []
        for nav_url in shell.nav_urls:
            nav, _ = await self._markdown_file(nav_url, shell.markdown_mode, shell.base_url)
            nav_links.extend(nav.links if nav is not None else ())
        if home is None:
            note = f"Docsify site: its homepage {shell.homepage_url} not used: {why}"
            return Sourced(shell_page, PageSource.HTML, note, tuple(nav_links), nav_urls=shell.nav_urls)
        # the shell's <title> is often Docsify's boilerplate ("Document"): the homepage's heading names the site
        page = dataclasses.replace(home, html_gz=shell_page.html_gz, shell=shell)
        return Sourced(page, PageSource.PUBLISHER_MARKDOWN, None, tuple(nav_links), shell.homepage_url, shell.nav_urls)

    async def _markdown_file(
        self, url: str, mode: str, base_url: str | None = None
    ) -> tuple[ExtractedPage | None, str | None]:
        """A Markdown file of the site, fetched and read; or None and why not."""
        try:
            fetched = await self.fetch(url)
        except FetchError as exc:
            return None, exc.reason
        if isinstance(fetched, str):
            return None, fetched
        if (bad := looks_like_markdown(fetched.body, fetched.content_type)) is not None:
            return None, bad
        item = ExtractInput(fetched.final_url, fetched.body, fetched.charset, False, mode, base_url)
        try:
            return await self.extract(item), None
        except Exception as exc:  # an extraction failure only means the HTML stands
            return None, f"unreadable: {exc}"

    # -- rendering ------------------------------------------------------------------------

    def _wants_render(self, page: ExtractedPage) -> bool:
        if self.mode == RenderMode.NEVER:
            return False
        return self.mode == RenderMode.ALWAYS or page.needs_javascript

    async def _render(self, url: str, fetched: FetchedPage) -> tuple[ExtractedPage | None, str | None]:
        """The page extracted from its rendered DOM, and what the render refused; or None and why."""
        renderer = await self._browser()
        if renderer is None:
            return None, None  # said once, as a job event
        try:
            rendered = await renderer.render(url, fetched.body, fetched.content_type or "text/html", self._resolve)
        except RenderError as exc:
            return None, f"render failed: {exc.reason}"
        except RenderingUnavailableError as exc:  # the browser would not launch: the job goes on without one
            await self._give_up_rendering(exc.why)
            return None, None
        await self.event("render", url, {
            "ms": round(rendered.render_ms), "fetched": rendered.fetched, "blocked": rendered.blocked,
            "settled": rendered.settled, "refused": [list(r) for r in rendered.refused[:REFUSALS_KEPT]],
        })  # fmt: skip
        body = rendered.html.encode()
        item = ExtractInput(rendered.final_url or url, body, "utf-8", self.settings.keep_html)
        page = await self.extract(item)
        return page, _render_note(rendered.refused, rendered.settled, self.settings.render_timeout)

    async def _browser(self) -> Renderer | None:
        """The job's browser, set up on first use; None (said once) where there is none."""
        async with self._lock:
            if self._renderer is None and self._unavailable is None:
                from ..fetching.browser import Renderer, rendering_unavailable

                self._unavailable = rendering_unavailable()
                if self._unavailable is None:
                    s = self.settings
                    self._renderer = Renderer(pages=s.render_pages, deadline_s=s.render_timeout,
                                              memory_mb=s.render_memory_mb, user_agent=s.user_agent)  # fmt: skip
            if self._renderer is not None:
                return self._renderer
        await self._give_up_rendering(self._unavailable or "no browser")
        return None

    async def _give_up_rendering(self, why: str) -> None:
        """No more renders in this job, said once as a job event."""
        self._unavailable = why
        renderer, self._renderer = self._renderer, None
        if renderer is not None:
            await renderer.close()
        if not self._told_unavailable:
            self._told_unavailable = True
            await self.event("render_unavailable", None, {"message": f"rendering unavailable: {why}"})

    async def _resolve(self, url: str, resource_type: str) -> Subresource | str:
        """A request the page's scripts made, answered by the crawl's fetcher."""
        from ..fetching.browser import Subresource

        if (hit := self._cache.get(url)) is not None:
            return hit
        try:
            fetched = await self.fetch(url)
        except HTTPStatusError as exc:
            return Subresource(exc.http_status or 500, "text/plain", b"")
        except FetchError as exc:
            return exc.reason
        if isinstance(fetched, str):
            return fetched
        answer = Subresource(fetched.status, _full_type(fetched), fetched.body)
        if resource_type in CACHED_TYPES and self._cached_bytes + len(fetched.body) <= CACHE_BYTES:
            self._cache[url] = answer
            self._cached_bytes += len(fetched.body)
        return answer


def rendering_refusal(settings: CrawlSettings) -> str | None:
    """Why a job with these settings cannot start here (render=always without a browser), or None."""
    if RenderMode(settings.render) != RenderMode.ALWAYS:
        return None
    from ..fetching.browser import rendering_unavailable

    return rendering_unavailable()


def check_rendering(settings: CrawlSettings) -> None:
    """Refuse, before anything is stored, a crawl that must render on a machine that cannot."""
    if (why := rendering_refusal(settings)) is not None:
        raise RenderingUnavailableError(why)


def _with_text_of(html: ExtractedPage, markdown: ExtractedPage) -> ExtractedPage:
    """The HTML page with the twin's text: the HTML keeps what the site's navigation gives
    (links, title, next/previous, canonical), the twin gives the words."""
    return dataclasses.replace(
        html,
        markdown=markdown.markdown,
        quality=markdown.quality,
        quality_reasons=markdown.quality_reasons,
        content_hash=markdown.content_hash,
        words=markdown.words,
        extract_ms=html.extract_ms + markdown.extract_ms,
        extractor=markdown.extractor,
        tokens=markdown.tokens,
        sketch=markdown.sketch,
        block_hashes=markdown.block_hashes,
        fidelity={},
        needs_javascript=False,
    )


def _render_note(refused: tuple[tuple[str, str], ...], settled: bool, deadline: float) -> str | None:
    parts = []
    if not settled:
        parts.append(f"still loading at the {deadline:g} s render deadline")
    if refused:
        shown = "; ".join(f"{u} ({why})" for u, why in refused[:3])
        more = f" and {len(refused) - 3} more" if len(refused) > 3 else ""
        parts.append(f"refused {len(refused)} request{'s' if len(refused) != 1 else ''} of its scripts: {shown}{more}")
    return "; ".join(parts) or None


def _full_type(fetched: FetchedPage) -> str:
    if fetched.charset and fetched.content_type:
        return f"{fetched.content_type}; charset={fetched.charset}"
    return fetched.content_type
