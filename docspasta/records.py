"""The names and records every package shares: statuses, steps, strategies, page kinds,
and the dataclasses the store takes and hands out.

Each enum is a StrEnum whose values are the strings stored in the `jobs` and `pages`
tables and printed by `--json`: other tools read them, so the values never change.
Members compare equal to their strings (`JobStatus.COMPLETED == "completed"`).
The dataclasses are plain values: no I/O, no database rows (each store backend turns
its rows into these).
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .settings import CrawlSettings


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


ACTIVE_JOB_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)
RESUMABLE_JOB_STATUSES = (JobStatus.INTERRUPTED, JobStatus.PAUSED, JobStatus.FAILED, JobStatus.CANCELLED)


class JobStep(StrEnum):
    DISCOVERY = "discovery"
    CRAWLING = "crawling"
    FINALIZING = "finalizing"
    DONE = "done"


class Control(StrEnum):
    """A request, stored on the job, to whoever runs it (works across processes)."""

    CANCEL = "cancel"
    PAUSE = "pause"


class RunBy(StrEnum):
    """Who runs a job (`jobs.run_by`): the process that created it (a CLI crawl, a
    dashboard that runs crawls itself), or any `docspasta worker` on the store."""

    CREATOR = "creator"
    WORKERS = "workers"


class Finalize(StrEnum):
    """What `StoreWriter.try_finalize` tells a worker whose claims have run dry."""

    YOURS = "yours"  # nothing pending or in flight anywhere: this worker finalizes the job
    WAIT = "wait"  # another worker still has pages in flight (they may add links): claim again soon
    ENDED = "ended"  # another worker finalized or ended the job


class PageStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class FoundBy(StrEnum):
    """How a page entered the frontier (`pages.found_by`)."""

    START = "start"
    LINK = "link"
    SITEMAP = "sitemap"
    REFRESH = "refresh"  # a prompt <meta http-equiv=refresh>
    CANONICAL = "canonical"  # a page's rel=canonical URL
    ALIAS = "alias"  # a redirect's target, recorded so no later link fetches it again
    LLMS_TXT = "llms.txt"  # listed by the site's llms.txt
    TWIN = "twin"  # a page's Markdown twin, recorded so no later link fetches it again as a page of its own


class PageSource(StrEnum):
    """Where a completed page's Markdown came from (`pages.source`); `extractor` says which
    rules made it."""

    HTML = "html"  # the HTML as served, converted
    PUBLISHER_MARKDOWN = "publisher-markdown"  # the site's own Markdown: a page's .md twin, or a .md file it serves
    RENDERED = "rendered"  # the DOM after headless Chromium ran the page's scripts, converted


class RenderMode(StrEnum):
    """When a page is rendered in headless Chromium (`--render`)."""

    NEVER = "never"
    AUTO = "auto"  # only pages whose HTML is an empty JavaScript app shell
    ALWAYS = "always"


class Reuse(StrEnum):
    """How a refresh took a page over from the job it refreshes (`pages.reuse`) instead of
    extracting it again."""

    NOT_MODIFIED = "not-modified"  # the server answered 304 to the stored validators
    SAME_BYTES = "same-bytes"  # a 200 whose raw body hashes the same as the stored one
    KEPT = "kept"  # the refresh could not fetch it (a transient error): the earlier page stays


class PageChange(StrEnum):
    """A page's place in a refresh's change report (`docspasta changes`)."""

    ADDED = "added"  # completed now, not completed before
    CHANGED = "changed"  # completed both times, its Markdown differs
    UNCHANGED = "unchanged"  # completed both times, the same Markdown
    REMOVED = "removed"  # completed before; now gone (404/410, redirected away, skipped)
    KEPT = "kept"  # completed before; the refresh failed transiently, so the earlier page stays


class StrategyName(StrEnum):
    """How the frontier is ordered; the store turns each into its claim query."""

    BFS = "bfs"
    DFS = "dfs"
    SITEMAP_FIRST = "sitemap-first"
    BEST_FIRST = "best-first"


class ProcessingMode(StrEnum):
    BATCHED = "batched"
    PER_URL = "per-url"


class PageKind(StrEnum):
    """What a generated page is (extraction/generated.py)."""

    INDEX = "index"  # general index, per-letter index, module index
    SEARCH = "search"
    SOURCE = "source"  # highlighted source listing (Sphinx viewcode, rustdoc src, Javadoc src-html)
    PRINT = "print"  # the whole book on one page


@dataclass(frozen=True)
class Beat:
    """What a heartbeat reads back: a pending request, and the job as the other workers left it."""

    control: Control | None
    status: JobStatus
    step: JobStep
    others: int = 0  # other workers with a fresh heartbeat on this job


# -- what the store takes -------------------------------------------------------------------


@dataclass(frozen=True)
class Earlier:
    """What the job a refresh refreshes holds for a URL: its outcome's status and title, the
    validators to ask with, and what lets the page be taken over unchanged (the raw body's
    hash, the links it had)."""

    status: PageStatus
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    final_url: str | None = None
    title: str | None = None
    outlinks: builtins.bytes | None = None  # extraction.outlinks.pack(...) of the page's links
    source: str | None = None  # where its Markdown came from (PageSource)

    @property
    def reusable(self) -> bool:
        """Whether the earlier outcome can be taken over as it is (the page was extracted).
        A rendered page never is: its content came from what its scripts fetched, which the
        shell's validators and bytes say nothing about (an app's data changes under the same
        shell), so a refresh renders it again."""
        if self.source == PageSource.RENDERED:
            return False
        return self.outlinks is not None and self.status in (PageStatus.COMPLETED, PageStatus.SKIPPED)


@dataclass(frozen=True)
class Claim:
    """A page the frontier handed out, under a lease. `lease` is the claim's token: the
    page's outcome is stored only while the page is still held under it (a fence)."""

    page_id: int
    url: str
    depth: int
    retries: int
    lease: str | None = None
    earlier: Earlier | None = None  # in a refresh: what the refreshed job holds for this URL


@dataclass(frozen=True)
class NewLink:
    """A URL to add to the frontier: `pending`, or `skipped` with the reason."""

    url: str
    url_key: str
    depth: int
    discovered_from: str | None
    found_by: FoundBy
    status: PageStatus
    reason: str | None = None
    score: float = 0.0


@dataclass(frozen=True)
class PageOutcome:
    """What happened to one claimed page; the store's `commit_batch` writes it."""

    page_id: int
    url: str
    status: PageStatus  # completed | failed | skipped
    reason: str | None = None
    final_url: str | None = None
    final_key: str | None = None
    depth: int = 0
    http_status: int | None = None
    content_type: str | None = None
    fetch_ms: float | None = None
    extract_ms: float | None = None
    bytes: int | None = None
    title: str | None = None
    markdown: str | None = None
    quality: int | None = None
    quality_reasons: tuple[str, ...] = ()
    content_hash: str | None = None
    words: int | None = None
    html_gz: builtins.bytes | None = None  # `bytes` is also a field of this class
    retries: int = 0
    extractor: str | None = None
    tokens: int | None = None
    sketch: tuple[int, ...] | None = None
    block_hashes: tuple[str, ...] = ()
    fidelity: dict[str, int] | None = None
    duplicate_of: str | None = None
    canonical_key: str | None = None  # dedup key of the page's rel=canonical URL, when it names another URL
    next_url: str | None = None  # the generator's "next page" link: the site's reading order
    prev_url: str | None = None  # its "previous page" link
    page_kind: PageKind | None = None  # a generated page's kind (index, search, source, print)
    links: list[NewLink] = field(default_factory=list)
    lease: str | None = None  # the claim's token; an outcome whose lease was lost is not stored
    etag: str | None = None  # the response's validators, sent back when a refresh asks again
    last_modified: str | None = None
    body_hash: str | None = None  # of the raw body as fetched: a refresh's "same bytes" test
    outlinks: builtins.bytes | None = None  # the page's links, packed: what a refresh follows on a 304
    reuse: Reuse | None = None  # in a refresh: the store takes the earlier outcome over (see Reuse)
    source: PageSource | None = None  # where the Markdown came from (completed pages)
    source_note: str | None = None  # why not from a better source: a twin rejected, a render that failed


# -- what the store hands out ---------------------------------------------------------------


@dataclass(frozen=True)
class JobRecord:
    id: str
    status: JobStatus
    step: JobStep
    settings: CrawlSettings
    start_url: str
    scope_host: str | None
    scope_prefix: str | None
    site_title: str | None
    discovered: int
    queued: int
    completed: int
    failed: int
    skipped: int
    created_at: float
    started_at: float | None
    finished_at: float | None
    heartbeat_at: float | None
    run_seconds: float
    worker: str | None
    owner: str | None
    control: Control | None
    error: str | None
    comparison_id: str | None = None
    label: str | None = None
    run_by: RunBy = RunBy.CREATOR
    since_job: str | None = None  # the job this one refreshes
    markdown_base: str | None = None  # a Docsify-style site: where its .md files live (their links read that way)
    markdown_relative: bool = False  # and whether their links resolve against their file (relativePath)

    @property
    def pages_per_second(self) -> float:
        return self.completed / self.run_seconds if self.run_seconds > 0 else 0.0


@dataclass(frozen=True)
class PageContent:
    """A completed page's metadata; its Markdown is read apart (`StoreReader.markdowns`),
    one page at a time, so an export never holds every page's text at once."""

    id: int
    url: str
    title: str
    depth: int
    quality: int
    quality_reasons: tuple[str, ...]
    seq: int
    words: int = 0
    tokens: int = 0
    extractor: str | None = None
    fidelity: dict[str, int] | None = None
    block_hashes: tuple[str, ...] = ()
    content_hash: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class PageDetail:
    """One page as the dashboard's preview shows it."""

    url: str
    title: str
    status: PageStatus
    reason: str | None
    quality: int | None
    quality_reasons: tuple[str, ...]
    markdown: str
    fidelity: dict[str, int] | None = None
    extractor: str | None = None
    source: str | None = None
    source_note: str | None = None


@dataclass(frozen=True)
class Comparison:
    id: str
    start_url: str
    mode: str
    created_at: float
    jobs: list[tuple[str, JobRecord]]  # (label, job), oldest crawl first


@dataclass(frozen=True)
class PageChangeRow:
    """One URL as a refresh and the job it refreshes hold it: what the change report is made of."""

    url: str
    status: PageStatus | None  # in the refresh (None: not there)
    reason: str | None
    http_status: int | None
    reuse: Reuse | None
    markdown_hash: str | None
    was_status: PageStatus | None  # in the earlier job
    was_markdown_hash: str | None
    page_id: int | None
    was_page_id: int | None
    position: int | None = None  # the refresh's reading order, else the earlier job's


@dataclass(frozen=True)
class Site:
    """A documentation site as the store knows it: its host and scope prefix, and its
    latest completed crawl, which search, pastes and an agent's resources read."""

    key: str  # "docs.python.org/3/": host and scope prefix, as `docspasta jobs` shows it
    job_id: str  # its latest completed job
    start_url: str
    title: str | None
    pages: int
    finished_at: float | None
    crawls: int  # completed jobs of it


@dataclass(frozen=True)
class SearchHit:
    """A section that matched a search, best first: where it is and what it says."""

    job_id: str
    page_id: int
    url: str
    title: str  # the page's
    heading_path: str  # "Page › Heading › Subheading"
    markdown: str  # the section, heading line included
    snippet: str  # the matching words in context, **marked**
    score: float  # higher is better, comparable within one search
    ord: int = 0  # the section's place in its page
