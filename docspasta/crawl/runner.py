"""The background runner: one daemon thread, one asyncio loop, every job of a process.

The dashboard hands work over with `submit()` and gets a job id back at once; the
crawl runs on the loop thread and writes only to the store (through its writer thread),
which the UI polls. Its loop thread is the only long-lived thread besides the store's
writer thread and the engine's link-judging thread.

`get_runner()` finds a live runner by its thread's name before making one, so a
re-import of this module (Streamlit re-imports on every source change) never starts a
second loop. On start it resumes jobs that a dead process left `running`.

With `run_crawls=False` (a dashboard over a PostgreSQL store, by default) the runner
runs nothing: it stores each job for `docspasta worker` processes (`run_by = workers`),
and resume hands a job back to them; cancel and pause are requests on the job as always.
So a small hosted app is a thin front end, and the crawling happens elsewhere.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from ..errors import InvalidSettingError, JobBusyError
from ..extraction.pool import ExtractPool
from ..records import Control, JobRecord, JobStatus, RenderMode, RunBy
from ..settings import CrawlSettings
from ..store import AsyncWriter, DbSpec, display, open_async_writer, resolve
from .compare import build_variants, run_comparison
from .discovery import ScopePreview, preview_scope
from .engine import run_job
from .sources import check_rendering

log = logging.getLogger(__name__)

THREAD_PREFIX = "docspasta-runner"
T = TypeVar("T")
_lock = threading.Lock()


class Runner:
    def __init__(
        self,
        db: DbSpec = None,
        *,
        max_jobs: int = 4,
        guard_locked: bool = False,
        run_crawls: bool = True,
        render_locked: bool = False,
    ) -> None:
        """`guard_locked` (hosted dashboards): no job may open the address guard, whatever
        its settings say; `render_locked`: no job may start a browser. `run_crawls`: run
        jobs here, or leave them to workers."""
        self.db = resolve(db)
        self.max_jobs = max_jobs
        self.guard_locked = guard_locked
        self.render_locked = render_locked
        self.run_crawls = run_crawls
        self.run_by = RunBy.CREATOR if run_crawls else RunBy.WORKERS
        self.loop = asyncio.new_event_loop()
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name=thread_name(display(self.db)), daemon=True)
        self.thread.runner = self  # type: ignore[attr-defined]  # how get_runner finds us after a re-import
        self.thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    # -- public: called from any thread -----------------------------------------------

    def submit(self, settings: CrawlSettings, *, owner: str | None = None) -> str:
        """Store a new job and start it; returns its id at once."""
        self._check_guard(settings)
        return self._call(self._submit(settings, owner))

    def submit_comparison(
        self,
        url: str,
        variants: list[str],
        base: dict[str, Any],
        *,
        mode: str = "sequential",
        owner: str | None = None,
    ) -> str:
        """Store a comparison (one job per variant) and start it; returns its id at once.
        Raises InvalidSettingError, naming the variant, before anything is stored."""
        built = build_variants(url, base, variants)
        for _, settings in built:
            self._check_guard(settings)
        return self._call(self._submit_comparison(built, mode, owner))

    def refresh(self, job_id: str, *, owner: str | None = None) -> str:
        """Store a refresh of an ended job (its settings, its pages to ask about again) and
        start it; returns the new job's id at once. RefreshRefusedError while the job runs."""
        return self._call(self._refresh(job_id, owner))

    def preview_scope(self, settings: CrawlSettings, *, link_depth: int = 1, timeout: float = 120) -> ScopePreview:
        """Discover URLs and judge them against the scope, without crawling (the UI never fetches)."""
        self._check_guard(settings)
        return self._call(preview_scope(settings, link_depth=link_depth), timeout=timeout)

    def _check_guard(self, settings: CrawlSettings) -> None:
        """Refuse, before anything is stored, what this server does not allow or cannot do."""
        closed = "this server is hosted, so private and local addresses stay closed"
        if self.guard_locked and settings.allow_private:
            raise InvalidSettingError("allow_private", True, f"false: {closed}")
        if self.guard_locked and settings.allow_hosts:
            raise InvalidSettingError("allow_hosts", list(settings.allow_hosts), f"none: {closed}")
        if self.render_locked and settings.render != RenderMode.NEVER:
            no_browser = "never: this server is hosted and runs no browser (DOCSPASTA_RENDER=1 allows it)"
            raise InvalidSettingError("render", settings.render, no_browser)
        if self.run_crawls:
            check_rendering(settings)

    def add_to_comparison(self, comparison_id: str, job_id: str, label: str) -> None:
        self._call(self._add_to_comparison(comparison_id, job_id, label))

    def cancel(self, job_id: str) -> None:
        self._call(self._control(job_id, Control.CANCEL))

    def pause(self, job_id: str) -> None:
        self._call(self._control(job_id, Control.PAUSE))

    def resume(self, job_id: str) -> None:
        self._call(self._resume(job_id))

    def delete(self, job_id: str) -> None:
        """Delete a job that is not running, with its pages and events."""
        self._call(self._delete(job_id))

    def is_running(self, job_id: str) -> bool:
        task = self._tasks.get(job_id)
        return task is not None and not task.done()

    def wait(self, job_id: str, timeout: float | None = None) -> JobRecord:
        """Block until the job's task ends (for scripts and tests); returns its record."""
        future = asyncio.run_coroutine_threadsafe(self._wait(job_id), self.loop)
        return future.result(timeout)

    def stop(self) -> None:
        """Interrupt running jobs (they stay resumable), close workers, end the thread."""
        if not self.loop.is_closed() and self.thread.is_alive():
            try:
                self._call(self._shutdown(), timeout=30)
            finally:
                self.loop.call_soon_threadsafe(self.loop.stop)
                self.thread.join(timeout=30)

    # -- loop thread ----------------------------------------------------------------------

    def _main(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.store: AsyncWriter = open_async_writer(self.db)
            self.loop.run_until_complete(self.store.start())
            self.pool = ExtractPool()
            if self.run_crawls:  # extraction processes only where crawls run
                self.loop.run_until_complete(self.pool.start())
            self._slots = asyncio.Semaphore(self.max_jobs)
        except BaseException as exc:  # reported to the constructor's caller
            self._startup_error = exc
            self._ready.set()
            return
        self._ready.set()
        if self.run_crawls:
            self.loop.create_task(self._resume_orphans())
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.pool.close())
            self.loop.run_until_complete(self.store.close())
            self.loop.close()

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _submit(self, settings: CrawlSettings, owner: str | None) -> str:
        job_id = await self.store.create_job(settings, owner=owner, run_by=self.run_by)
        self._start(job_id)
        return job_id

    async def _refresh(self, job_id: str, owner: str | None) -> str:
        earlier = await self.store.job(job_id)
        self._check_guard(earlier.settings)  # a job the CLI let into private addresses stays closed here
        new_id = await self.store.create_refresh(job_id, owner=owner, run_by=self.run_by)
        self._start(new_id)
        return new_id

    async def _submit_comparison(self, built: list, mode: str, owner: str | None) -> str:
        comparison_id, job_ids = await self.store.create_comparison(
            built[0][1].url, built, mode=mode, owner=owner, run_by=self.run_by
        )
        if not self.run_crawls:
            return comparison_id
        task = self.loop.create_task(self._run_comparison(job_ids, mode), name=f"comparison-{comparison_id}")
        for job_id in job_ids:
            self._tasks[job_id] = task
        return comparison_id

    async def _run_comparison(self, job_ids: list[str], mode: str) -> None:
        async with self._slots:
            try:
                await run_comparison(self.store, job_ids, mode=mode, pool=self.pool)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("comparison of jobs %s ended with an internal error", job_ids)

    async def _add_to_comparison(self, comparison_id: str, job_id: str, label: str) -> None:
        await self.store.add_to_comparison(comparison_id, job_id, label)

    async def _control(self, job_id: str, action: Control) -> None:
        await self.store.request_control(job_id, action)

    async def _resume(self, job_id: str) -> None:
        job = await self.store.job(job_id)  # raises JobNotFoundError
        if not self.run_crawls or job.run_by == RunBy.WORKERS:
            await self.store.enqueue(job_id)
            return
        self._start(job_id)

    async def _delete(self, job_id: str) -> None:
        if self.is_running(job_id):
            raise JobBusyError(job_id, "this dashboard")
        await self.store.delete_job(job_id)

    async def _wait(self, job_id: str) -> JobRecord:
        task = self._tasks.get(job_id)
        if task is not None:
            await asyncio.gather(task, return_exceptions=True)
        return await self.store.job(job_id)

    def _start(self, job_id: str) -> None:
        if self.is_running(job_id) or not self.run_crawls:
            return
        self._tasks[job_id] = self.loop.create_task(self._run(job_id), name=f"job-{job_id}")

    async def _run(self, job_id: str) -> None:
        async with self._slots:
            if (await self.store.job(job_id)).status in (JobStatus.CANCELLED, JobStatus.COMPLETED):
                return
            try:
                await run_job(self.store, job_id, pool=self.pool)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job %s ended with an internal error", job_id)

    async def _resume_orphans(self) -> None:
        for job_id in await self.store.resumable_jobs():
            log.info("resuming job %s left running by a process that is gone", job_id)
            self._start(job_id)

    async def _shutdown(self) -> None:
        tasks = [t for t in self._tasks.values() if not t.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def thread_name(db: str) -> str:
    return f"{THREAD_PREFIX}:{db}"


def get_runner(
    db: DbSpec = None,
    *,
    max_jobs: int = 4,
    guard_locked: bool = False,
    run_crawls: bool = True,
    render_locked: bool = False,
) -> Runner:
    """The process's runner for this store: the live one if there is one, else a new one.
    Asking for a locked guard (or render) locks a live runner too (locking only ever tightens)."""
    name = thread_name(display(db))
    with _lock:
        for thread in threading.enumerate():
            runner = getattr(thread, "runner", None)
            if thread.name == name and thread.is_alive() and runner is not None:
                runner.guard_locked = runner.guard_locked or guard_locked
                runner.render_locked = runner.render_locked or render_locked
                return runner
        return Runner(
            db, max_jobs=max_jobs, guard_locked=guard_locked, run_crawls=run_crawls, render_locked=render_locked
        )


__all__ = ["Runner", "get_runner"]
