"""The MCP server: search and read the docs crawled into a store, from any MCP client.

Built on the official `mcp` SDK (`MCPServer`): stdio by default, streamable HTTP for a
shared server. Every answer is Markdown cut to a token budget the caller chooses (exact
o200k counts, from one token-counting process the server starts on first use), so a
search never floods a model's context. Bad input is a tool error that says what to do;
the server goes on answering. Crawling is off unless the server was started with
`--allow-crawl`, and the address guard is opened only by the same explicit flags as the
CLI's; crawls run on the runner's background thread, so the server keeps answering.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from ..crawl.runner import Runner, get_runner
from ..errors import DocspastaError
from ..exports.export import export, llms_txt, select
from ..exports.search import cut_to, find_site, freshness, hits_markdown, search
from ..extraction.tokens import TokenCounter
from ..records import ACTIVE_JOB_STATUSES, JobRecord, JobStatus, Site
from ..settings import CrawlSettings
from ..store import DbSpec, StoreReader, open_reader, resolve
from ..urls import normalize

T = TypeVar("T")

SEARCH_TOKENS = (100, 50_000)  # the bounds of max_tokens, per tool
PAGE_TOKENS = (100, 200_000)
PASTE_TOKENS = (500, 2_000_000)
INSTRUCTIONS = (
    "Documentation sites crawled with docspasta, as clean Markdown. Start with list_sites(); "
    "search_docs(query) finds the sections that answer a question, each led by its page URL; "
    "get_page(url) reads one page; get_paste(site) gives the best pages that fit a budget."
)


class DocsServer:
    """The tools over one store. `allow_crawl` turns the crawl and refresh tools on;
    `allow_private` / `allow_hosts` open the address guard for the crawls they start."""

    def __init__(
        self,
        db: DbSpec = None,
        *,
        allow_crawl: bool = False,
        allow_private: bool = False,
        allow_hosts: tuple[str, ...] = (),
    ) -> None:
        self.db = resolve(db)
        self.store: StoreReader = open_reader(self.db)
        self.allow_crawl = allow_crawl
        self.allow_private = allow_private
        self.allow_hosts = allow_hosts
        self._counter: TokenCounter | None = None
        self._runner: Runner | None = None
        self._lock = threading.Lock()  # tools run on worker threads; the counter is one pipe

    def close(self) -> None:
        if self._counter is not None:
            self._counter.close()
        if self._runner is not None:
            self._runner.stop()

    def count(self, text: str) -> int:
        with self._lock:
            if self._counter is None:
                self._counter = TokenCounter().__enter__()
            return self._counter.count(text)

    # -- the tools --------------------------------------------------------------------

    def list_sites(self) -> str:
        sites = self.store.sites() if self.store.exists() else []
        if not sites:
            return "No site is crawled in this store yet." + (
                " crawl(url) starts one." if self.allow_crawl else " Crawl one with `docspasta crawl URL`."
            )
        now = time.time()
        lines = ["| site | title | pages | last crawl | job | paste resource |", "|---|---|---:|---|---|---|"]
        for site in sites:
            job = self.store.get_job(site.job_id)
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(site.finished_at or job.created_at))
            lines.append(
                f"| {site.key} | {site.title or ''} | {site.pages} | {when} ({freshness(job, now)}) | "
                f"{site.job_id} | {resource_uri(site, 'paste.md')} |"
            )
        return "\n".join(lines) + "\n"

    def search_docs(self, query: str, site: str | None, limit: int, max_tokens: int) -> str:
        _check_range("limit", limit, (1, 50))
        _check_range("max_tokens", max_tokens, SEARCH_TOKENS)
        if not query.strip():
            raise ToolError("query is empty: give the words to search for, e.g. search_docs('asyncio cancel task')")
        hits = search(self.store, query, site=site, limit=limit)
        return hits_markdown(hits, max_tokens, self.count)

    def get_page(self, url: str, max_tokens: int, offset: int) -> str:
        _check_range("max_tokens", max_tokens, PAGE_TOKENS)
        if offset < 0:
            raise ToolError(f"offset {offset} is negative; start at 0, or at the offset a cut page named")
        job, detail_url = self._find_page(url)
        page = self.store.page_detail(job.id, detail_url)
        if offset > len(page.markdown):
            raise ToolError(f"offset {offset} is past the end of {url} ({len(page.markdown)} characters)")
        head = f"{detail_url} — {page.title}\n\n"
        rest = page.markdown[offset:]
        text = cut_to(rest, max_tokens - self.count(head) - 40, self.count)
        if len(text) < len(rest):
            end = offset + len(text)
            return f'{head}{text}\n\n… continues: get_page("{detail_url}", offset={end})\n'
        return head + text + "\n"

    def get_paste(self, site_or_job: str, max_tokens: int) -> str:
        _check_range("max_tokens", max_tokens, PASTE_TOKENS)
        job_id = self._job_of(site_or_job)
        return export(self.store, job_id, "paste", max_tokens=max_tokens).data.decode("utf-8")

    def crawl(self, url: str, max_pages: int) -> str:
        runner = self._crawl_runner()
        settings = CrawlSettings(url=url, max_pages=max_pages, allow_private=self.allow_private,
                                 allow_hosts=self.allow_hosts)  # fmt: skip
        job_id = runner.submit(settings)
        return f'Crawl started: job {job_id} of {settings.url}. Follow it with job_status("{job_id}").'

    def refresh(self, site: str) -> str:
        runner = self._crawl_runner()
        found = find_site(self.store, site)
        job_id = runner.refresh(found.job_id)
        return (
            f"Refresh started: job {job_id}, re-reading what changed on {found.key} since job {found.job_id}. "
            f'Follow it with job_status("{job_id}").'
        )

    def job_status(self, job_id: str) -> str:
        job = self.store.get_job(job_id)
        line = (
            f"job {job.id}: {job.status} ({job.step}), {job.completed} pages completed, {job.failed} failed, "
            f"{job.skipped} skipped, {job.queued} queued, {job.run_seconds:.0f} s"
        )
        if job.error:
            line += f"\nerror: {job.error}"
        if job.status == JobStatus.COMPLETED:
            line += f'\nsearch_docs(query, site="{job.scope_host}{job.scope_prefix or "/"}") now reads it.'
        elif job.status in ACTIVE_JOB_STATUSES:
            line += "\nstill running: ask again in a few seconds."
        return line + "\n"

    def site_resource(self, slug: str, what: str) -> str:
        site = next((s for s in self.store.sites() if _slug(s.key) == slug), None)
        if site is None:
            raise ToolError(f"no site {slug!r}; list_sites() names them")
        if what == "llms.txt":
            return "".join(llms_txt(select(self.store, site.job_id)))
        return export(self.store, site.job_id, "paste", count_tokens=False).data.decode("utf-8")

    # -- helpers ----------------------------------------------------------------------

    def _crawl_runner(self) -> Runner:
        if not self.allow_crawl:
            raise ToolError(
                "crawling is off on this server: start it with `docspasta mcp --allow-crawl` "
                "(add --allow-host HOST:PORT or --allow-private to reach non-public addresses)"
            )
        with self._lock:
            if self._runner is None:
                self._runner = get_runner(self.db)
            return self._runner

    def _job_of(self, site_or_job: str) -> str:
        try:
            return self.store.get_job(site_or_job).id
        except DocspastaError:
            return find_site(self.store, site_or_job).job_id

    def _find_page(self, url: str) -> tuple[JobRecord, str]:
        """The latest crawl holding the page, and the URL it is stored under."""
        found = self.store.locate(normalize(url) or url, [s.job_id for s in self.store.sites()])
        if found is None:
            raise ToolError(f"no crawled page {url!r}; search_docs(query) finds pages, list_sites() names the sites")
        job_id, stored = found
        return self.store.get_job(job_id), stored


def build_server(docs: DocsServer) -> MCPServer:
    """The MCP server with docspasta's tools and resources; errors become tool errors."""
    server = MCPServer("docspasta", instructions=INSTRUCTIONS)
    tool = functools.partial(server.tool, structured_output=False)  # the text alone, not a second copy of it

    @tool()
    def list_sites() -> str:
        """List the documentation sites in this store: each site's key (host and path prefix,
        what the other tools take as `site`), title, page count, when it was last crawled and
        how fresh that is, and the URI of its paste resource."""
        return _tool(docs.list_sites)

    @tool()
    def search_docs(query: str, site: str | None = None, limit: int = 5, max_tokens: int = 4000) -> str:
        """Search the crawled docs for the sections that answer `query` (plain words, e.g.
        "asyncio create task cancel"), best first. Each hit starts with its page URL and heading
        path, then the section's Markdown; the whole answer stays within `max_tokens` (100 to
        50,000). `site` (from list_sites) limits the search to one site; `limit` is 1 to 50.
        Read a whole page with get_page(url)."""
        return _tool(lambda: docs.search_docs(query, site, limit, max_tokens))

    @tool()
    def get_page(url: str, max_tokens: int = 8000, offset: int = 0) -> str:
        """Read one crawled page's Markdown by its URL (as search_docs and list_sites give them).
        A page longer than `max_tokens` (100 to 200,000) is cut at a line and ends with the call
        that reads on from there (`offset`, in characters)."""
        return _tool(lambda: docs.get_page(url, max_tokens, offset))

    @tool()
    def get_paste(site_or_job: str, max_tokens: int = 50_000) -> str:
        """The site's paste: its best pages (by quality, then structure) that fit `max_tokens`
        (500 to 2,000,000), in the site's reading order, with a table of contents and what was
        left out. `site_or_job` is a site from list_sites, or a job id."""
        return _tool(lambda: docs.get_paste(site_or_job, max_tokens))

    @tool()
    def crawl(url: str, max_pages: int = 200) -> str:
        """Start crawling a documentation site (only on a server started with --allow-crawl).
        Returns at once with the job id; job_status(job_id) tells the progress, and
        search_docs reads the site once the job has completed."""
        return _tool(lambda: docs.crawl(url, max_pages))

    @tool()
    def refresh(site: str) -> str:
        """Re-crawl a site to bring it up to date (only with --allow-crawl): pages that did
        not change are not downloaded again. Returns the new job id at once."""
        return _tool(lambda: docs.refresh(site))

    @tool()
    def job_status(job_id: str) -> str:
        """A crawl's progress: status, step, pages completed, failed, skipped and queued."""
        return _tool(lambda: docs.job_status(job_id))

    @server.resource("docspasta://sites/{slug}/paste.md", mime_type="text/markdown")
    def site_paste(slug: str) -> str:
        """A site's whole paste (its latest crawl), every page in reading order."""
        return _tool(lambda: docs.site_resource(slug, "paste.md"))

    @server.resource("docspasta://sites/{slug}/llms.txt", mime_type="text/plain")
    def site_llms_txt(slug: str) -> str:
        """A site's llms.txt: a line per page with its first sentence."""
        return _tool(lambda: docs.site_resource(slug, "llms.txt"))

    return server


def resource_uri(site: Site, what: str) -> str:
    return f"docspasta://sites/{_slug(site.key)}/{what}"


def _slug(key: str) -> str:
    """A site key as one URI path segment: `docs.python.org/3/` -> `docs.python.org-3`."""
    return "-".join(part for part in key.replace(":", "_").split("/") if part)


def _tool(call: Callable[[], T]) -> T:
    """Run a tool; our errors are tool errors whose text says what to do."""
    try:
        return call()
    except DocspastaError as exc:
        raise ToolError(str(exc)) from None


def _check_range(name: str, value: int, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    if not lo <= value <= hi:
        raise ToolError(f"{name} {value} is out of range: give {lo:,} to {hi:,}")


def serve(docs: DocsServer, *, transport: str = "stdio", host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run until the client goes (stdio) or the process is stopped (HTTP)."""
    server = build_server(docs)
    try:
        if transport == "http":
            server.run("streamable-http", host=host, port=port)
        else:
            server.run("stdio")
    finally:
        docs.close()
