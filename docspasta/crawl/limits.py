"""Where a job's requests wait before they go out: its concurrency, each host's, the
worker's own cap, and each host's pacing.

Run by one process (SQLite, or a CLI crawl), a job keeps these in memory: semaphores and
a `HostPacer`. Run by several workers on a shared store, what a site sees must hold for
all of them together, so each request also takes a slot in the store (`host_slots`: the
job's `concurrency` and `per_host_concurrency`, counted across workers) and reserves its
turn there (`host_pace`: min_delay, Crawl-delay and 429/503 back-off). The in-process
semaphores still apply first, so a worker never asks the store for more than it could use.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator

from ..fetching.pacing import HostPacer, Pacer, backed_off, relaxed
from ..settings import CrawlSettings
from ..store import SharedLimits

SLOT_POLL_FIRST_S, SLOT_POLL_MAX_S = 0.01, 0.1  # under the store's 2 s hold on a waiter's place


class JobLimits:
    def __init__(
        self,
        job_id: str,
        settings: CrawlSettings,
        *,
        shared: SharedLimits | None = None,
        worker_slots: asyncio.Semaphore | None = None,
    ) -> None:
        """`shared`: the store's limits, when other workers may run this job too.
        `worker_slots`: the worker's own cap on requests in flight across all its jobs."""
        self.job_id = job_id
        self.settings = settings
        self.shared = shared
        self.worker_slots = worker_slots
        self.job_slots = asyncio.Semaphore(settings.concurrency)
        self.host_slots: dict[str, asyncio.Semaphore] = {}
        self.pacer: Pacer = (
            HostPacer(settings.min_delay) if shared is None else SharedPacer(shared, job_id, settings.min_delay)
        )
        # a slot outlives its request only if its worker dies without a word; heartbeats reap it sooner
        self.slot_ttl = settings.timeout * (settings.retries + 1) + 120.0

    @contextlib.asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        """Hold one request's place: the job's, the host's, the store's, then the worker's."""
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(self.job_slots)
            await stack.enter_async_context(self._host_slot(host))
            if self.shared is not None:
                token = secrets.token_hex(8)
                stack.push_async_callback(self.shared.give_slot, token)  # granted or still in line
                await self._shared_slot(self.shared, host, token)
            if self.worker_slots is not None:
                await stack.enter_async_context(self.worker_slots)
            yield

    def _host_slot(self, host: str) -> asyncio.Semaphore:
        if host not in self.host_slots:
            self.host_slots[host] = asyncio.Semaphore(self.settings.per_host_concurrency)
        return self.host_slots[host]

    async def _shared_slot(self, shared: SharedLimits, host: str, token: str) -> None:
        """Wait in line for a slot every worker counts; asked again after a short growing pause."""
        pause = SLOT_POLL_FIRST_S
        s = self.settings
        while not await shared.take_slot(
            self.job_id, host, token, job_cap=s.concurrency, host_cap=s.per_host_concurrency, ttl=self.slot_ttl
        ):
            await asyncio.sleep(pause)
            pause = min(SLOT_POLL_MAX_S, pause * 1.5)


class SharedPacer:
    """`pacing.Pacer` kept in the store: every worker of the job reserves each host's turns
    in one place. The interval rules are pacing.py's; what is known locally (the
    Crawl-delay this worker read, the last interval seen) only shapes the next request."""

    def __init__(self, shared: SharedLimits, job_id: str, min_delay: float) -> None:
        self.shared = shared
        self.job_id = job_id
        self.min_delay = min_delay
        self.floors: dict[str, float] = {}
        self.seen: dict[str, tuple[float, float]] = {}  # host -> (interval, floor) at its last turn

    def set_floor(self, host: str, delay: float) -> None:
        self.floors[host] = max(self.min_delay, delay)

    async def wait_turn(self, host: str) -> str | None:
        """Take the host's turn once it is due, asking again after each wait (another
        worker may take the turn that came due first). A host with an interval is held
        until `sent`: returns the ticket that releases it."""
        token = secrets.token_hex(8)
        while True:
            taken, wait, delay, floor = await self.shared.turn(
                self.job_id, host, self.floors.get(host, self.min_delay), token
            )
            self.seen[host] = (delay, floor)
            if taken:
                return token if delay > 0 else None
            await asyncio.sleep(wait)

    async def sent(self, host: str, ticket: str | None) -> None:
        if ticket is not None:
            await self.shared.release_turn(self.job_id, host, ticket)

    async def back_off(self, host: str, retry_after: float | None) -> None:
        delay, floor = self.seen.get(host, (self.min_delay, self.min_delay))
        delay = backed_off(delay, floor)
        self.seen[host] = (delay, floor)
        await self.shared.back_off(self.job_id, host, delay, max(delay, retry_after or 0.0))

    async def relax(self, host: str) -> None:
        delay, floor = self.seen.get(host, (self.min_delay, self.min_delay))
        if delay > floor:
            delay = relaxed(delay, floor)
            self.seen[host] = (delay, floor)
            await self.shared.relax(self.job_id, host, delay)
