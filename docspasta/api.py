"""The Python API: crawl a site from code, blocking or async.

    result = docspasta.crawl("https://docs.example.org/", max_pages=100)
    print(result.completed, result.paste()[:200])

Raises the same errors the CLI reports (InvalidSettingError before anything is
stored). A finished job's result is read back from the store, like everything else.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .crawl.engine import ProgressCallback, run_job
from .crawl.sources import check_rendering
from .errors import InvalidSettingError
from .exports.changes import ChangeReport, change_report
from .exports.export import paste_text
from .guard import GuardAudience, guard_hint
from .records import JobRecord, JobStatus
from .settings import CrawlSettings
from .store import DbSpec, open_async_writer, open_reader


@dataclass(frozen=True)
class JobResult:
    job_id: str
    status: JobStatus
    start_url: str
    discovered: int
    completed: int
    failed: int
    skipped: int
    run_seconds: float
    error: str | None
    db: str  # the store it is in, as --db takes it
    since: str | None = None  # the job this one refreshes

    @property
    def pages_per_second(self) -> float:
        return self.completed / self.run_seconds if self.run_seconds > 0 else 0.0

    @property
    def db_path(self) -> Path:
        """The database file (the name this result gave it before a store could be a URL)."""
        return Path(self.db)

    @classmethod
    def of(cls, job: JobRecord, db: str, *, audience: GuardAudience = "api") -> JobResult:
        """The result of a finished job; a refusal by the address guard says how to open it,
        in the words of the caller (`audience`: the API's arguments or the CLI's flags)."""
        return cls(
            job.id,
            job.status,
            job.start_url,
            job.discovered,
            job.completed,
            job.failed,
            job.skipped,
            job.run_seconds,
            job.error + guard_hint(job.error, audience) if job.error else None,
            db,
            job.since_job,
        )

    def paste(self, *, threshold: int | None = None) -> str:
        """The paste, built from the store with the job's (or the given) quality threshold."""
        return paste_text(open_reader(self.db), self.job_id, threshold=threshold)

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "status": self.status,
            "start_url": self.start_url,
            "discovered": self.discovered,
            "completed": self.completed,
            "failed": self.failed,
            "skipped": self.skipped,
            "seconds": round(self.run_seconds, 3),
            "pages_per_second": round(self.pages_per_second, 2),
            "error": self.error,
            "db": self.db,
            "since": self.since,
        }


async def crawl_async(
    url: str,
    *,
    db: DbSpec = None,
    on_progress: ProgressCallback | None = None,
    **settings: Any,
) -> JobResult:
    """Crawl `url` with the given CrawlSettings fields; return when the job ends."""
    crawl_settings = CrawlSettings.from_dict({"url": url, **settings})
    await asyncio.to_thread(check_rendering, crawl_settings)  # render=always without a browser: refused before storing
    async with open_async_writer(db) as store:
        job_id = await store.create_job(crawl_settings)
        job = await run_job(store, job_id, on_progress=on_progress)
        return JobResult.of(job, store.location)


async def resume_async(job_id: str, *, db: DbSpec = None, on_progress: ProgressCallback | None = None) -> JobResult:
    """Continue an interrupted, paused or crashed job where it stopped."""
    async with open_async_writer(db) as store:
        job = await run_job(store, job_id, on_progress=on_progress)
        return JobResult.of(job, store.location)


async def refresh_async(
    job_id: str,
    *,
    db: DbSpec = None,
    max_pages: int | None = None,
    conditional: bool | None = None,
    on_progress: ProgressCallback | None = None,
) -> JobResult:
    """Crawl an ended job's site again as a new job with the same settings (a larger
    `max_pages` if given): pages the server says are unchanged, or sends the same bytes
    for, are taken over without extracting them; `changes(result.job_id)` says what changed."""
    async with open_async_writer(db) as store:
        new_id = await store.create_refresh(job_id, overrides={"max_pages": max_pages, "conditional": conditional})
        job = await run_job(store, new_id, on_progress=on_progress)
        return JobResult.of(job, store.location)


def refresh(
    job_id: str, *, db: DbSpec = None, max_pages: int | None = None, conditional: bool | None = None
) -> JobResult:
    """Blocking form of `refresh_async`."""
    return asyncio.run(refresh_async(job_id, db=db, max_pages=max_pages, conditional=conditional))


def changes(job_id: str, *, db: DbSpec = None) -> ChangeReport:
    """What a refresh found changed since the job it refreshes (`.to_dict()` is `docspasta changes --json`)."""
    return change_report(open_reader(db), job_id)


def crawl(url: str, *, db: DbSpec = None, **settings: Any) -> JobResult:
    """Blocking form of `crawl_async` (do not call from a running event loop)."""
    CrawlSettings.from_dict({"url": url, **settings})  # fail fast, before any loop or file
    return asyncio.run(crawl_async(url, db=db, **settings))


def resume(job_id: str, *, db: DbSpec = None) -> JobResult:
    return asyncio.run(resume_async(job_id, db=db))


async def compare_async(
    url: str,
    variants: list[str],
    *,
    db: DbSpec = None,
    mode: str = "sequential",
    **settings: Any,
) -> str:
    """Crawl `url` once per variant (`"strategy=dfs,batch_size=5"`, ...); returns the comparison id."""
    from .crawl.compare import MODES, build_variants, run_comparison

    if mode not in MODES:
        raise InvalidSettingError("mode", mode, "sequential or parallel")
    built = build_variants(url, settings, variants)
    async with open_async_writer(db) as store:
        comparison_id, job_ids = await store.create_comparison(built[0][1].url, built, mode=mode)
        await run_comparison(store, job_ids, mode=mode)
        return comparison_id
