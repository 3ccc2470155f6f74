"""The store contract: what every backend does, documented once.

A backend is a `StoreWriter` (jobs, claims, batch commits, events, control requests)
and a `StoreReader` (read-only views for exports, the CLI and the dashboard). Both take
and hand out the dataclasses and enums of `docspasta.records`; no row, cursor or driver
error ever leaves the backend (errors become `StoreError` / `JobNotFoundError` /
`JobBusyError`). `docspasta.store.open_writer` / `open_reader` pick the backend from what
`--db` takes. The engine never holds a writer directly: it awaits an `AsyncWriter`
(threaded.py), whose one thread owns the backend's writer, so no SQL runs on the loop.

What a writer guarantees, whatever the backend:
- a refresh (`create_refresh`) starts from every page the job it refreshes completed; its
  claims carry what that job holds for each URL (`Claim.earlier`), and an outcome with
  `reuse` set is filled in from that job's row in the commit's transaction;
- a URL is stored at most once per job (its dedup key), however many spellings link to it;
- a claim hands a pending page to one caller under a lease, in the strategy's order
  (BFS: never deeper than the shallowest page pending or in flight); an expired lease
  returns the page to pending; with `max_pages`, completed plus in-flight pages never
  exceed it, whoever claimed them;
- a commit is fenced: an outcome is stored only while its page is still held under the
  lease it was claimed with;
- a backend whose `shares_jobs` is true (PostgreSQL) lets any number of workers, on any
  machines, run one job at once; liveness is heartbeat age on the database's clock.
  SQLite runs a job in one process at a time;
- `commit_batch` writes a batch (pages, their links, events, job counters) atomically and
  judges duplicates inside the same transaction (`duplicates.judge`);
- job counters (`discovered`, `queued`, `completed`, `failed`, `skipped`) always match
  the pages, and `seq` numbers completed pages in commit order.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from ..records import (
    Beat,
    Claim,
    Comparison,
    Control,
    Finalize,
    JobRecord,
    JobStatus,
    JobStep,
    NewLink,
    PageChangeRow,
    PageContent,
    PageDetail,
    PageOutcome,
    PageStatus,
    RunBy,
    SearchHit,
    Site,
    StrategyName,
)
from ..settings import CrawlSettings


class StoreWriter(Protocol):
    """The write side. Synchronous: use it from one thread (the CLI's, or the writer thread)."""

    location: str  # what --db named, resolved (a file path, or a URL without its password)
    worker: str  # the name this writer's process signs its work with (`host:pid`)
    shares_jobs: bool  # whether several workers may run one job at once

    def close(self) -> None: ...
    def __enter__(self) -> StoreWriter: ...
    def __exit__(self, *exc: object) -> None: ...

    # jobs
    def create_job(self, settings: CrawlSettings, *, owner: str | None = None, run_by: RunBy = RunBy.CREATOR) -> str:
        """A new pending job with its start page in the frontier; returns its id. With
        `run_by=WORKERS` it waits for `docspasta worker` processes to take it."""

    def create_refresh(
        self,
        since_id: str,
        *,
        overrides: Mapping[str, Any] | None = None,
        owner: str | None = None,
        run_by: RunBy = RunBy.CREATOR,
    ) -> str:
        """A refresh of an ended job (store/refresh.py): its settings, but for `overrides`
        (`max_pages`, `conditional`); its frontier, the start page and every page the
        earlier job completed. RefreshRefusedError while that job is pending or running."""

    def create_comparison(
        self,
        start_url: str,
        variants: list[tuple[str, CrawlSettings]],
        *,
        mode: str,
        owner: str | None = None,
        run_by: RunBy = RunBy.CREATOR,
    ) -> tuple[str, list[str]]:
        """A comparison and one job per (label, settings) variant, in order."""

    def add_to_comparison(self, comparison_id: str, job_id: str, label: str) -> None: ...
    def job(self, job_id: str) -> JobRecord:
        """The job as stored now; JobNotFoundError if there is none."""

    def acquire(self, job_id: str, worker: str | None = None) -> JobRecord:
        """Take a job to run it; its pages in flight (of workers that are gone) return to
        pending. Where jobs are shared, a live worker's job is joined; else JobBusyError."""

    def leave(self, job_id: str, leases: Sequence[str] = ()) -> None:
        """Stop running a job: the pages held under `leases` return to pending; a job
        nobody else runs becomes `interrupted` (resumable)."""

    def try_finalize(self, job_id: str, max_pages: int) -> Finalize:
        """Called with nothing left to claim: YOURS (the job moves to `finalizing` and the
        caller ends it), WAIT (pages are in flight elsewhere) or ENDED."""

    def take_jobs(self, limit: int) -> list[str]:
        """Jobs left to workers that may run now (pending, running, interrupted), oldest first."""

    def enqueue(self, job_id: str) -> None:
        """Leave a job to workers (a stopped one waits for them as `pending`)."""

    def set_scope(
        self,
        job_id: str,
        host: str,
        prefix: str,
        site_title: str | None,
        *,
        markdown_base: str | None = None,
        markdown_relative: bool = False,
    ) -> None:
        """Fix the job's scope (and, for a Docsify-style site, where its Markdown lives) once discovery knows it."""

    def set_step(self, job_id: str, step: JobStep) -> None: ...
    def heartbeat(
        self, job_id: str, run_seconds: float, *, renew: Sequence[str] = (), lease_seconds: float = 0.0
    ) -> Beat:
        """Record liveness, add run time, and extend the leases named in `renew` to
        `lease_seconds` from now; read back a pending cancel/pause request and the job's status."""

    def request_control(self, job_id: str, action: Control) -> None:
        """Ask whoever runs the job to cancel or pause it; a job nobody runs is cancelled at once."""

    def store_reading_order(self, job_id: str, start_url: str) -> None:
        """Number the completed pages in the site's reading order (`pages.position`)."""

    def finish(self, job_id: str, status: JobStatus, *, error: str | None = None, step: JobStep | None = None) -> None:
        """End the job; pages in flight return to pending (so a resume picks them up)."""

    def delete_job(self, job_id: str) -> None: ...
    def resumable_jobs(self) -> list[str]:
        """Jobs left `running` by a worker that is gone."""

    # the frontier
    def page_status(self, job_id: str, url_key: str) -> PageStatus | None: ...
    def claim(
        self, job_id: str, limit: int, strategy: StrategyName, lease_seconds: float, *, max_pages: int | None = None
    ) -> list[Claim]:
        """Up to `limit` pending pages, now `processing` under a lease, in the strategy's order."""

    def release(self, job_id: str, page_ids: list[int] | None = None) -> None: ...
    def index_pages(self, job_id: str, limit: int | None = None) -> int:
        """Add up to `limit` (else all) of the job's completed pages not yet in the search index
        to it; returns how many. Kept out of `commit_batch`, so a commit never waits for it."""

    def add_discovered(
        self,
        job_id: str,
        links: list[NewLink],
        *,
        max_depth: int,
        event: dict[str, Any],
        event_type: str = "sitemaps_read",
    ) -> int:
        """URLs found outside pages (sitemaps), with the event that says where from; returns rows added."""

    def skip_pending(self, job_id: str, reason: str) -> int: ...
    def commit_batch(self, job_id: str, outcomes: list[PageOutcome], *, max_depth: int | None = None) -> None:
        """Write a batch (pages, links, events, counters) in one transaction, duplicates judged."""

    # events
    def event(self, job_id: str, type_: str, url: str | None = None, payload: dict[str, Any] | None = None) -> None: ...


class SharedLimits(Protocol):
    """Per-host limits kept in the store, for a job several workers run (see postgres/limits.py).
    Async: each call is a statement or two on the worker's event loop."""

    async def start(self) -> SharedLimits: ...
    async def close(self) -> None: ...
    async def take_slot(self, job_id: str, host: str, token: str, *, job_cap: int, host_cap: int, ttl: float) -> bool:
        """Ask for a slot for one request to `host` (asking again keeps its place in line); True once granted."""

    async def give_slot(self, token: str) -> None:
        """The request ended or stopped waiting: its slot or its place in line goes."""

    async def turn(self, job_id: str, host: str, floor: float, token: str) -> tuple[bool, float, float, float]:
        """Take the host's turn if it is due: (taken, seconds to wait otherwise, the host's interval, its floor)."""

    async def release_turn(self, job_id: str, host: str, token: str) -> None:
        """The request holding the host's turn is on the wire: the next turn counts from now."""

    async def back_off(self, job_id: str, host: str, delay: float, wait: float) -> None: ...
    async def relax(self, job_id: str, host: str, delay: float) -> None: ...


class StoreReader(Protocol):
    """The read side: every call reads a fresh snapshot and changes nothing."""

    location: str

    def exists(self) -> bool:
        """Whether there is a store there yet (a reader never creates one)."""

    def get_job(self, job_id: str) -> JobRecord: ...
    def list_jobs(self, *, owner: str | None = None, limit: int = 500) -> list[JobRecord]:
        """Newest first; only `owner`'s when given (a hosted dashboard's visitor)."""

    def running_job_count(self) -> int: ...
    def pages(self, job_id: str, *, status: PageStatus | None = None) -> list[dict[str, Any]]:
        """Page rows without Markdown or HTML (cheap enough for tables), in discovery order."""

    def completed_pages(self, job_id: str) -> Iterator[PageContent]:
        """Completed pages' metadata in crawl order, streamed."""

    def markdowns(self, page_ids: Iterable[int]) -> Iterator[str]:
        """Each page's Markdown, in the order given, one at a time."""

    def reading_positions(self, job_id: str, start_url: str) -> dict[int, int]:
        """Each completed page's place in the site's reading order."""

    def repeated_blocks(self, job_id: str) -> frozenset[str]:
        """Hashes of text blocks on at least 3 pages and 30% of the job's: chrome the extractor missed."""

    def events(self, job_id: str, *, limit: int = 50, after_id: int = 0) -> list[dict[str, Any]]:
        """Newest first."""

    def page_detail(self, job_id: str, url: str) -> PageDetail: ...
    def get_comparison(self, comparison_id: str) -> Comparison: ...
    def completion_times(self, job_id: str) -> list[float]:
        """Seconds from the job's first start to each completed page, in order."""

    def locate(self, url: str, job_ids: Sequence[str]) -> tuple[str, str] | None:
        """Which of these jobs completed the page at `url` (its URL, or where it redirected),
        first in the order given, and the URL it is stored under."""

    def sites(self, *, owner: str | None = None) -> list[Site]:
        """Every site with a completed crawl (host and scope prefix), newest crawl first; only
        `owner`'s crawls when given (a hosted dashboard's visitor)."""

    def search(self, query: str, job_ids: Sequence[str], *, limit: int = 10) -> list[SearchHit]:
        """The sections of these jobs' pages that best match `query`, best first: every word
        matched first (bm25 / ts_rank over page title, heading and text), then any word.
        InvalidQueryError for a query without words."""

    def change_rows(self, job_id: str) -> list[PageChangeRow]:
        """Every URL a refresh or the job it refreshes completed, side by side (exports/changes.py
        makes the report). NotARefreshError for a job that refreshes nothing."""
