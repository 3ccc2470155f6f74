"""`docspasta worker`: a long-running process that runs the jobs left to workers on a
shared store, beside any number of others on any machines.

Each poll it asks the store for jobs it may run (pending ones, running ones to join,
interrupted ones to resume; oldest first) and starts each it is not already running, up
to `max_jobs` at once. A job's pages are shared by every worker running it; its per-host
limits hold for all of them (crawl/limits.py). Its own `concurrency` caps what this
worker has in flight across all its jobs, and its extraction processes serve them all.

Stopping (SIGTERM, Ctrl-C): every job task is cancelled, which hands this worker's
pages back to the frontier at once; the others finish the job. Killed outright, its
leases run out (60 s by default) and its heartbeat goes stale, and the same happens.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from ..errors import DocspastaError, StoreUnavailableError
from ..extraction.pool import ExtractPool
from ..records import JobRecord
from ..store import AsyncWriter, DbSpec, open_async_writer
from .engine import run_job

log = logging.getLogger(__name__)


@dataclass
class WorkerStats:
    """What a worker did, for its log and for tests."""

    jobs_run: list[str] = field(default_factory=list)
    finished: dict[str, str] = field(default_factory=dict)  # job id -> status when this worker left it


class Worker:
    def __init__(
        self,
        db: DbSpec,
        *,
        concurrency: int = 16,
        max_jobs: int = 4,
        extract_workers: int | None = None,
        poll_s: float = 1.0,
        exit_when_idle: bool = False,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.concurrency = concurrency
        self.max_jobs = max_jobs
        self.extract_workers = extract_workers
        self.poll_s = poll_s
        self.exit_when_idle = exit_when_idle
        self.stats = WorkerStats()
        self.name = name or ""

    async def run(self, stop: asyncio.Event) -> WorkerStats:
        """Take and run jobs until `stop` is set (or, with exit_when_idle, until none is left)."""
        async with (
            open_async_writer(self.db, worker=self.name or None) as store,
            ExtractPool(self.extract_workers) as pool,
        ):
            self.name = store.worker
            log.info("worker %s on %s: up to %d jobs, %d requests in flight", self.name, store.location,
                     self.max_jobs, self.concurrency)  # fmt: skip
            slots = asyncio.Semaphore(self.concurrency)
            tasks: dict[str, asyncio.Task[JobRecord]] = {}
            try:
                await self._serve(store, pool, slots, tasks, stop)
            finally:
                for task in tasks.values():
                    task.cancel()
                await asyncio.gather(*tasks.values(), return_exceptions=True)
                if tasks:
                    log.info("worker %s stopped; the pages it held are back in the frontier", self.name)
        return self.stats

    async def _serve(
        self,
        store: AsyncWriter,
        pool: ExtractPool,
        slots: asyncio.Semaphore,
        tasks: dict[str, asyncio.Task[JobRecord]],
        stop: asyncio.Event,
    ) -> None:
        while not stop.is_set():
            for job_id, task in list(tasks.items()):
                if task.done():
                    del tasks[job_id]
                    self._report(job_id, task)
            try:
                waiting = await store.take_jobs(self.max_jobs * 4)
            except StoreUnavailableError as exc:
                log.error("worker %s: %s; still trying", self.name, exc)
                waiting = []
            for job_id in waiting:
                if len(tasks) >= self.max_jobs:
                    break
                if job_id not in tasks:
                    log.info("worker %s: running job %s", self.name, job_id)
                    self.stats.jobs_run.append(job_id)
                    tasks[job_id] = asyncio.create_task(run_job(store, job_id, pool=pool, worker_slots=slots))
            if self.exit_when_idle and not tasks and not waiting:
                return
            ending = asyncio.create_task(stop.wait())
            await asyncio.wait([ending, *tasks.values()], timeout=self.poll_s, return_when=asyncio.FIRST_COMPLETED)
            ending.cancel()

    def _report(self, job_id: str, task: asyncio.Task[JobRecord]) -> None:
        if task.cancelled():
            return
        if (exc := task.exception()) is not None:
            level = logging.WARNING if isinstance(exc, DocspastaError) else logging.ERROR
            log.log(level, "worker %s: job %s stopped: %s: %s", self.name, job_id, type(exc).__name__, exc)
            self.stats.finished[job_id] = "error"
            return
        job = task.result()
        self.stats.finished[job_id] = job.status
        log.info("worker %s: left job %s (%s: %d pages, %d failed)", self.name, job_id, job.status, job.completed,
                 job.failed)  # fmt: skip
