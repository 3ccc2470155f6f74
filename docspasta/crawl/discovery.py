"""Finding a site's URLs without extracting them: its sitemaps (for the engine and the
scope preview alike), and the scope preview itself (`docspasta map`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from ..errors import FetchError
from ..extraction.extract import ExtractedPage, ExtractInput, decode_html, extract_page
from ..extraction.llms_txt import parse_llms_txt
from ..fetching.fetch import FetchedPage, Fetcher, HopCheck, hop_check
from ..guard import AddressGuard
from ..settings import CrawlSettings
from ..urls import (
    Scope,
    compile_glob,
    dedup_key,
    directory_of,
    host_of,
    is_markdown_path,
    markdown_siblings,
    normalize,
)
from .sitemaps import parse_sitemap, robots_sitemaps

MAX_SITEMAP_FILES = 50
MAX_SITEMAP_URLS = 50_000

FetchResource = Callable[[str, HopCheck], Awaitable["FetchedPage | None"]]


@dataclass
class SitemapReading:
    found: list[tuple[str, float, str]] = field(default_factory=list)  # (loc, priority, sitemap it came from)
    files: int = 0
    unreadable: int = 0
    lastmod: dict[str, float] = field(default_factory=dict)  # loc -> its sitemap's <lastmod>


async def read_sitemaps(
    fetch: FetchResource, origin: str, scope: Scope, *, listed: tuple[str, ...] | None = None
) -> SitemapReading:
    """robots.txt Sitemap lines (`listed`, when robots.txt was already read), /sitemap.xml and
    <scope>/sitemap.xml, indexes followed; same host only, at most 50 files and 50,000 URLs."""

    def other_host(url: str) -> str | None:
        return None if host_of(url) == scope.host else "out of scope: other host"

    same_host = hop_check(other_host)

    queue = [f"{origin}/sitemap.xml", f"{origin}{scope.prefix}sitemap.xml"]
    if listed is None:
        robots = await fetch(f"{origin}/robots.txt", same_host)
        listed = tuple(robots_sitemaps(decode_html(robots.body, robots.charset))) if robots is not None else ()
    queue[:0] = listed
    reading = SitemapReading()
    seen: set[str] = set()
    while queue and reading.files < MAX_SITEMAP_FILES and len(reading.found) < MAX_SITEMAP_URLS:
        url = normalize(queue.pop(0))
        if url is None or url in seen or other_host(url) is not None:
            continue
        seen.add(url)
        fetched = await fetch(url, same_host)
        reading.files += 1
        sitemap = await asyncio.to_thread(parse_sitemap, fetched.body) if fetched is not None else None
        if sitemap is None or sitemap.error:
            reading.unreadable += 1
            continue
        queue.extend(sitemap.sitemaps)
        room = MAX_SITEMAP_URLS - len(reading.found)
        reading.found.extend((loc, priority, url) for loc, priority in sitemap.urls[:room])
        reading.lastmod.update(sitemap.lastmod)
    return reading


@dataclass
class LlmsReading:
    """What a site publishes for language models: its llms.txt files and what they list."""

    files: list[str] = field(default_factory=list)  # the llms.txt files read
    full: list[str] = field(default_factory=list)  # llms-full.txt files that exist (noted, not downloaded)
    found: list[tuple[str, str, str]] = field(default_factory=list)  # (url, title, the llms.txt listing it)

    def markdown_keys(self) -> frozenset[str]:
        """The dedup keys of the .md URLs listed: the Markdown of the HTML pages beside them."""
        return frozenset(dedup_key(url) for url, _, _ in self.found if is_markdown_path(url))


def listed_twin(page_url: str, markdown_keys: frozenset[str]) -> str | None:
    """The .md llms.txt lists beside an HTML page (`guide.html.md`, `guide.md`), if any: its
    twin, as if the page named it."""
    if not markdown_keys:
        return None
    return next((twin for twin in markdown_siblings(page_url) if dedup_key(twin) in markdown_keys), None)


Probe = Callable[[str], Awaitable["int | None"]]


async def read_llms_txt(fetch: FetchResource, probe: Probe, origin: str, scope: Scope) -> LlmsReading:
    """llms.txt at the site root and at the scope root (llmstxt.org), and whether an
    llms-full.txt sits beside each; same host only."""

    def other_host(url: str) -> str | None:
        return None if host_of(url) == scope.host else "out of scope: other host"

    reading = LlmsReading()
    roots = dict.fromkeys((f"{origin}/", f"{origin}{scope.prefix}"))
    for root in roots:
        fetched = await fetch(f"{root}llms.txt", hop_check(other_host))
        parsed = parse_llms_txt(decode_html(fetched.body, fetched.charset), fetched.final_url) if fetched else None
        if fetched is not None and parsed is not None:
            reading.files.append(fetched.final_url)
            reading.found.extend((url, title, fetched.final_url) for url, title, _ in parsed.links)
        if await probe(f"{root}llms-full.txt") == 200:
            reading.full.append(f"{root}llms-full.txt")
    return reading


# -- scope preview ------------------------------------------------------------------------


@dataclass(frozen=True)
class MappedURL:
    url: str
    found_by: str  # start, link, sitemap
    kept: bool
    rule: str  # why it is kept or dropped


@dataclass
class Published:
    """What the site publishes besides HTML, as far as the preview looked."""

    llms_txt: list[str] = field(default_factory=list)
    llms_full_txt: list[str] = field(default_factory=list)
    llms_urls: int = 0  # URLs its llms.txt files list
    twins: dict[str, str] = field(default_factory=dict)  # page -> its Markdown twin, of the pages fetched
    pages_read: list[str] = field(default_factory=list)  # the pages fetched, in order
    markdown_shell: str | None = None  # a Docsify-style shell: where its Markdown files live
    javascript_shell: bool = False  # the start page is an empty app shell (content needs rendering)

    def add_listed_twins(self, llms: LlmsReading) -> None:
        """The pages read whose Markdown llms.txt lists beside them (`guide.html.md`): twins too."""
        listed = llms.markdown_keys()
        for page in self.pages_read:
            if (twin := listed_twin(page, listed)) is not None:
                self.twins.setdefault(page, twin)

    def lines(self, pages_fetched: int) -> list[str]:
        """Plain sentences for a terminal or the dashboard."""
        lines = [f"llms.txt: {url}" for url in self.llms_txt] or ["llms.txt: none"]
        if self.llms_txt:
            lines.append(f"  lists {self.llms_urls} URLs")
        lines += [f"llms-full.txt: {url}" for url in self.llms_full_txt]
        lines.append(f"Markdown twins: {len(self.twins)} of the {pages_fetched} pages fetched have one (named by "
                     "the page or listed in llms.txt)")  # fmt: skip
        if self.markdown_shell:
            lines.append(f"Docsify-style site: its pages are the Markdown files under {self.markdown_shell}")
        elif self.javascript_shell:
            lines.append("the start page is an empty JavaScript app: its pages need rendering (--render auto)")
        return lines


@dataclass
class ScopePreview:
    start_url: str
    scope: Scope
    urls: list[MappedURL]
    max_pages: int
    pages_fetched: int
    sitemap_files: int
    published: Published = field(default_factory=Published)

    @property
    def kept(self) -> int:
        return sum(u.kept for u in self.urls)

    @property
    def predicted_pages(self) -> int:
        """Pages a crawl would take at most: what is kept, capped by max_pages (links found
        deeper in the crawl can add more, up to that cap)."""
        return min(self.kept, self.max_pages)

    def dropped_by_rule(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for u in self.urls:
            if not u.kept:
                counts[u.rule] = counts.get(u.rule, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def explain(scope: Scope, url: str) -> tuple[bool, str]:
    """Is the URL in scope, and which rule says so."""
    reason = scope.reason_to_skip(url)
    if reason is not None:
        return False, reason
    path = url.split("://", 1)[-1].partition("/")[2]
    for pattern in scope.include:
        if compile_glob(pattern).match("/" + path):
            return True, f"included by {pattern}"
    return True, f"under {scope.prefix}"


async def preview_scope(settings: CrawlSettings, *, link_depth: int = 1, max_fetches: int = 50) -> ScopePreview:
    """Discover URLs — the start page's links (and, with link_depth 2, those of the pages it
    links to, at most `max_fetches`), plus sitemaps — without extracting anything."""
    async with Fetcher(settings) as fetcher:
        start = await fetcher.fetch(settings.url)
        host = host_of(start.final_url)
        guard = AddressGuard(settings.allow_private, settings.allow_hosts)
        prefix = settings.scope_prefix or directory_of(start.final_url)
        scope = Scope(
            host, prefix, settings.include, settings.exclude, guard.literal_refusal, settings.publisher_markdown
        )
        origin = start.final_url.split("://", 1)[0] + "://" + host
        found: dict[str, str] = {normalize(start.final_url) or start.final_url: "start"}
        published = Published()
        first = await asyncio.to_thread(_read_page, start, published)
        published.javascript_shell = first.needs_javascript
        published.markdown_shell = first.shell.base_url if first.shell is not None else None
        level = list(first.links) + ([first.shell.homepage_url, *first.shell.nav_urls] if first.shell else [])
        fetched = 1
        for depth in range(1, link_depth + 1):
            for url in level:
                found.setdefault(url, "link")
            if depth == link_depth:
                break
            targets = [u for u in level if explain(scope, u)[0]][:max_fetches]
            fetched += len(targets)
            pages = await asyncio.gather(*(_try(fetcher, u, hop_check(scope.reason_to_skip)) for u in targets))
            read = [await asyncio.to_thread(_read_page, page, published) for page in pages if page is not None]
            level = [link for page in read for link in page.links]

        async def resource(url: str, check: HopCheck) -> FetchedPage | None:
            return await _try(fetcher, url, check, html_only=False)

        reading = await read_sitemaps(resource, origin, scope) if settings.use_sitemaps else SitemapReading()
        for loc, _, _ in reading.found:
            if (listed := normalize(loc)) is not None:
                found.setdefault(listed, "sitemap")
        if settings.publisher_markdown:
            llms = await read_llms_txt(resource, fetcher.probe, origin, scope)
            published.llms_txt, published.llms_full_txt, published.llms_urls = llms.files, llms.full, len(llms.found)
            for url, _, _ in llms.found:
                found.setdefault(url, "llms.txt")
            published.add_listed_twins(llms)
    urls = [MappedURL(url, how, *explain(scope, url)) for url, how in found.items()]
    return ScopePreview(settings.url, scope, urls, settings.max_pages, fetched, reading.files, published)


def tree_lines(preview: ScopePreview, *, show_dropped: bool = True) -> list[str]:
    """The preview as an indented tree of paths, each line with its verdict and rule."""
    from ..exports.export import site_order

    lines, printed_dirs = [], set()
    rows = [u for u in preview.urls if show_dropped or u.kept]
    for u in sorted(rows, key=lambda u: (host_of(u.url), site_order(u.url))):
        host, _, path = u.url.split("://", 1)[-1].partition("/")
        segments = [host, *path.split("/")]
        for depth in range(len(segments) - 1):  # the host, then each directory
            directory = "/".join(segments[: depth + 1])
            if directory not in printed_dirs:
                printed_dirs.add(directory)
                lines.append("  " * depth + segments[depth] + ("" if depth == 0 else "/"))
        name = segments[-1] or "(index)"
        verdict = "keep" if u.kept else "drop"
        lines.append(f"{'  ' * (len(segments) - 1)}{name}  [{verdict}: {u.rule}; {u.found_by}]")
    return lines


def _read_page(page: FetchedPage, published: Published) -> ExtractedPage:
    """The page's links and what it says it publishes (its Markdown twin), noted in `published`."""
    read = extract_page(ExtractInput(page.final_url, page.body, page.charset, keep_html=False))
    published.pages_read.append(page.final_url)
    if read.twin_url:
        published.twins[page.final_url] = read.twin_url
    return read


async def _try(fetcher: Fetcher, url: str, check: HopCheck | None, *, html_only: bool = True) -> FetchedPage | None:
    try:
        return await fetcher.fetch(url, check_hop=check, html_only=html_only)
    except FetchError:
        return None
