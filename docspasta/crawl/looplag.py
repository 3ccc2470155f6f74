"""How late the event loop runs a timer: the measure of work that blocks the loop.

Fetching, pacing, the store and the progress callback all share one loop (in the
dashboard, every job does). Anything synchronous that runs long on it (a big commit,
parsing a sitemap, a slow callback) delays every other task by that much, and shows
up here as lag. The engine records the summary with the job's end event.
"""

from __future__ import annotations

import asyncio
import time

INTERVAL_S = 0.05


class LoopLag:
    """Start on the loop to watch; `summary()` any time; `stop()` when done."""

    def __init__(self, interval: float = INTERVAL_S) -> None:
        self.interval = interval
        self.samples = 0
        self.max_ms = 0.0
        self.over_100ms = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._watch(), name="loop-lag")

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def summary(self) -> dict[str, float | int]:
        return {"samples": self.samples, "max_ms": round(self.max_ms, 1), "over_100ms": self.over_100ms}

    async def _watch(self) -> None:
        while True:
            due = time.monotonic() + self.interval
            await asyncio.sleep(self.interval)
            lag_ms = max(0.0, time.monotonic() - due) * 1000
            self.samples += 1
            self.max_ms = max(self.max_ms, lag_ms)
            self.over_100ms += lag_ms > 100
