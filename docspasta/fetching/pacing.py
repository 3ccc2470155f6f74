"""When the next request to a host may start: politeness measured at the wire.

Every HTTP request the job sends (pages, redirect hops, retries, robots.txt, sitemaps)
waits its turn here right before it goes out, so spacing holds for what the server
sees, not for what the crawler planned. A host's interval is the largest of:

- the job's `min_delay` setting,
- the Crawl-delay its robots.txt asks for (set by the engine once robots.txt is read),
- an adaptive delay that doubles on every 429/503 and decays on success
  (AutoThrottle-like, so a struggling server gets room without a user tuning anything).

A Retry-After within the cap also blocks the whole host until it has passed: the
server said when it can take more, so no request to it (a retry or another page)
starts before then.

`HostPacer` keeps that state in the process; a job run by several workers on a shared
store paces through the store instead (crawl/limits.py), behind the same `Pacer` calls.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Protocol

MAX_ADAPTIVE_DELAY_S = 10.0
FIRST_BACKOFF_S = 0.25
DECAY = 0.75


class Pacer(Protocol):
    """What the fetcher asks before and after each request to a host."""

    def set_floor(self, host: str, delay: float) -> None: ...
    async def wait_turn(self, host: str) -> str | None:
        """Wait for the host's turn; returns a ticket to hand to `sent`, if the turn is held."""

    async def sent(self, host: str, ticket: str | None) -> None:
        """The request that took the turn is on the wire (or failed before it got there)."""

    async def back_off(self, host: str, retry_after: float | None) -> None: ...
    async def relax(self, host: str) -> None: ...


def backed_off(delay: float, floor: float) -> float:
    """The interval after a 429/503: doubled, at least FIRST_BACKOFF_S, at most the cap."""
    return min(MAX_ADAPTIVE_DELAY_S, max(floor, FIRST_BACKOFF_S, delay * 2))


def relaxed(delay: float, floor: float) -> float:
    """The interval after a success: decayed towards the floor, snapping to it when close."""
    decayed = delay * DECAY
    return decayed if decayed - floor > 0.01 else floor


@dataclass
class _HostPace:
    floor: float  # min_delay or Crawl-delay, whichever is larger
    delay: float  # current interval: floor plus whatever throttling added
    next_at: float = 0.0  # monotonic time before which no request may start
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)  # one request at a time takes its turn


class HostPacer:
    """Per-host turn-taking for one job. Not thread-safe: one event loop owns it."""

    def __init__(self, min_delay: float = 0.0) -> None:
        self._min_delay = min_delay
        self._hosts: dict[str, _HostPace] = {}

    def _pace(self, host: str) -> _HostPace:
        if host not in self._hosts:
            self._hosts[host] = _HostPace(self._min_delay, self._min_delay)
        return self._hosts[host]

    def set_floor(self, host: str, delay: float) -> None:
        """Raise the host's minimum interval (robots.txt Crawl-delay)."""
        pace = self._pace(host)
        pace.floor = max(self._min_delay, delay)
        pace.delay = max(pace.delay, pace.floor)

    async def wait_turn(self, host: str) -> str | None:
        """Sleep until this request may start. Turns are taken one at a time; while the host
        has an interval the turn is held until `sent`, and the next one comes one interval
        after this request's headers are on the wire, not after it was planned or woke: a
        request delayed by a busy machine then delays the ones after it instead of letting
        them bunch up at the server."""
        pace = self._pace(host)
        await pace.turn.acquire()
        try:
            while (wait := pace.next_at - time.monotonic()) > 0:  # a back-off may move it while we sleep
                await asyncio.sleep(wait)
        except BaseException:
            pace.turn.release()
            raise
        pace.next_at = time.monotonic() + pace.delay
        if pace.delay <= 0:
            pace.turn.release()
            return None
        return host

    async def sent(self, host: str, ticket: str | None) -> None:
        """The request holding the host's turn is on the wire: the next turn is one interval away."""
        if ticket is not None:
            pace = self._pace(host)
            pace.next_at = max(pace.next_at, time.monotonic() + pace.delay)
            pace.turn.release()

    async def back_off(self, host: str, retry_after: float | None) -> None:
        """The host answered 429/503: double its interval, and honour Retry-After for every request to it."""
        pace = self._pace(host)
        pace.delay = backed_off(pace.delay, pace.floor)
        wait = max(pace.delay, retry_after or 0.0)
        pace.next_at = max(pace.next_at, time.monotonic() + wait)

    async def relax(self, host: str) -> None:
        """A request succeeded: let the interval decay back towards the floor."""
        pace = self._pace(host)
        if pace.delay > pace.floor:
            pace.delay = relaxed(pace.delay, pace.floor)
