"""The engine's writer: one thread owns a backend's `StoreWriter`; the loop awaits it.

A write transaction (a batch of pages, their links and duplicate checks) takes a few
milliseconds to tens of them; run on the event loop it would stall every fetch in
flight. So the writer lives on its own thread, as datasette does it: the loop hands it
one call at a time (a whole batch is one call) and awaits the result, and the thread,
the only one that touches the connection, runs them in order. A backend's connection
is opened on that thread too, since SQLite's belongs to the thread that made it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from ..records import (
    Beat,
    Claim,
    Control,
    Finalize,
    JobRecord,
    JobStatus,
    JobStep,
    NewLink,
    PageOutcome,
    PageStatus,
    RunBy,
    StrategyName,
)
from ..settings import CrawlSettings
from .contract import SharedLimits, StoreWriter

T = TypeVar("T")


class AsyncWriter:
    """`StoreWriter`'s methods, awaited: each runs on the writer thread, in call order."""

    def __init__(
        self,
        open_writer: Callable[[], StoreWriter],
        *,
        open_limits: Callable[[str], SharedLimits | None] = lambda worker: None,
        name: str = "docspasta-store-writer",
    ) -> None:
        """`open_limits(worker)`: the store's shared per-host limits, where it shares jobs."""
        self._open = open_writer
        self._open_limits = open_limits
        self.limits: SharedLimits | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._writer: StoreWriter | None = None
        self.location = ""
        self.worker = ""
        self.shares_jobs = False
        self.calls_waiting = 0  # calls handed to the writer thread and not answered yet

    async def start(self) -> AsyncWriter:
        try:
            self._writer = await asyncio.get_running_loop().run_in_executor(self._thread, self._open)
        except BaseException:  # a store that cannot be opened leaves no thread behind
            self._thread.shutdown(wait=False)
            raise
        self.location = self._writer.location
        self.worker = self._writer.worker
        self.shares_jobs = self._writer.shares_jobs
        limits = self._open_limits(self.worker)
        self.limits = await limits.start() if limits is not None else None
        return self

    async def close(self) -> None:
        if self.limits is not None:
            await self.limits.close()
            self.limits = None
        if self._writer is not None:
            await asyncio.get_running_loop().run_in_executor(self._thread, self._writer.close)
            self._writer = None
        self._thread.shutdown(wait=True)

    async def __aenter__(self) -> AsyncWriter:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(self, fn: Callable[[StoreWriter], T]) -> T:
        """Run `fn(writer)` on the writer thread and await its result."""
        writer = self._writer
        assert writer is not None, "start the AsyncWriter first"
        self.calls_waiting += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, fn, writer)
        finally:
            self.calls_waiting -= 1

    async def index_pages(self, job_id: str, limit: int | None = None) -> int:
        return await self.call(lambda w: w.index_pages(job_id, limit))

    # jobs
    async def create_job(
        self, settings: CrawlSettings, *, owner: str | None = None, run_by: RunBy = RunBy.CREATOR
    ) -> str:
        return await self.call(lambda w: w.create_job(settings, owner=owner, run_by=run_by))

    async def create_refresh(
        self,
        since_id: str,
        *,
        overrides: Mapping[str, Any] | None = None,
        owner: str | None = None,
        run_by: RunBy = RunBy.CREATOR,
    ) -> str:
        return await self.call(lambda w: w.create_refresh(since_id, overrides=overrides, owner=owner, run_by=run_by))

    async def create_comparison(
        self,
        start_url: str,
        variants: list[tuple[str, CrawlSettings]],
        *,
        mode: str,
        owner: str | None = None,
        run_by: RunBy = RunBy.CREATOR,
    ) -> tuple[str, list[str]]:
        return await self.call(
            lambda w: w.create_comparison(start_url, variants, mode=mode, owner=owner, run_by=run_by)
        )

    async def add_to_comparison(self, comparison_id: str, job_id: str, label: str) -> None:
        await self.call(lambda w: w.add_to_comparison(comparison_id, job_id, label))

    async def job(self, job_id: str) -> JobRecord:
        return await self.call(lambda w: w.job(job_id))

    async def acquire(self, job_id: str) -> JobRecord:
        return await self.call(lambda w: w.acquire(job_id))

    async def leave(self, job_id: str, leases: Sequence[str] = ()) -> None:
        await self.call(lambda w: w.leave(job_id, leases))

    async def try_finalize(self, job_id: str, max_pages: int) -> Finalize:
        return await self.call(lambda w: w.try_finalize(job_id, max_pages))

    async def take_jobs(self, limit: int) -> list[str]:
        return await self.call(lambda w: w.take_jobs(limit))

    async def enqueue(self, job_id: str) -> None:
        await self.call(lambda w: w.enqueue(job_id))

    async def set_scope(
        self,
        job_id: str,
        host: str,
        prefix: str,
        site_title: str | None,
        *,
        markdown_base: str | None = None,
        markdown_relative: bool = False,
    ) -> None:
        await self.call(
            lambda w: w.set_scope(
                job_id, host, prefix, site_title, markdown_base=markdown_base, markdown_relative=markdown_relative
            )
        )

    async def set_step(self, job_id: str, step: JobStep) -> None:
        await self.call(lambda w: w.set_step(job_id, step))

    async def heartbeat(
        self, job_id: str, run_seconds: float, *, renew: Sequence[str] = (), lease_seconds: float = 0.0
    ) -> Beat:
        return await self.call(lambda w: w.heartbeat(job_id, run_seconds, renew=renew, lease_seconds=lease_seconds))

    async def request_control(self, job_id: str, action: Control) -> None:
        await self.call(lambda w: w.request_control(job_id, action))

    async def store_reading_order(self, job_id: str, start_url: str) -> None:
        await self.call(lambda w: w.store_reading_order(job_id, start_url))

    async def finish(
        self, job_id: str, status: JobStatus, *, error: str | None = None, step: JobStep | None = None
    ) -> None:
        await self.call(lambda w: w.finish(job_id, status, error=error, step=step))

    async def delete_job(self, job_id: str) -> None:
        await self.call(lambda w: w.delete_job(job_id))

    async def resumable_jobs(self) -> list[str]:
        return await self.call(lambda w: w.resumable_jobs())

    # the frontier
    async def page_status(self, job_id: str, url_key: str) -> PageStatus | None:
        return await self.call(lambda w: w.page_status(job_id, url_key))

    async def claim(
        self, job_id: str, limit: int, strategy: StrategyName, lease_seconds: float, *, max_pages: int | None = None
    ) -> list[Claim]:
        return await self.call(lambda w: w.claim(job_id, limit, strategy, lease_seconds, max_pages=max_pages))

    async def add_discovered(
        self,
        job_id: str,
        links: list[NewLink],
        *,
        max_depth: int,
        event: dict[str, Any],
        event_type: str = "sitemaps_read",
    ) -> int:
        return await self.call(
            lambda w: w.add_discovered(job_id, links, max_depth=max_depth, event=event, event_type=event_type)
        )

    async def skip_pending(self, job_id: str, reason: str) -> int:
        return await self.call(lambda w: w.skip_pending(job_id, reason))

    async def commit_batch(self, job_id: str, outcomes: list[PageOutcome], *, max_depth: int | None = None) -> None:
        await self.call(lambda w: w.commit_batch(job_id, outcomes, max_depth=max_depth))

    # events
    async def event(
        self, job_id: str, type_: str, url: str | None = None, payload: dict[str, Any] | None = None
    ) -> None:
        await self.call(lambda w: w.event(job_id, type_, url, payload))
