"""Extraction in worker processes, with a per-page time limit.

trafilatura is ~90% of a crawl's CPU, so it runs beside the event loop in worker
processes (`worker.py`, one page at a time each). A page whose extraction
exceeds the limit fails and its worker is killed and replaced — concurrent.futures
cannot kill one worker, hence this small pool. Talking to workers is asyncio pipe I/O,
so the loop never blocks and no thread is needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys

from ..errors import ExtractionError, ExtractionTimeoutError
from .extract import ExtractedPage, ExtractInput
from .worker import HEADER, MAX_RSS_MB, frame


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


LOADS_OFF_LOOP = 256 * 1024  # bytes of a worker's answer unpickled on a thread, not the event loop


class ExtractPool:
    """`await pool.extract(item, timeout)` on the loop that started the pool."""

    def __init__(self, workers: int | None = None, *, max_rss_mb: float = MAX_RSS_MB) -> None:
        self._size = workers or default_workers()
        self._max_rss_mb = max_rss_mb
        self._idle: asyncio.Queue[asyncio.subprocess.Process] | None = None
        self._all: set[asyncio.subprocess.Process] = set()

    async def __aenter__(self) -> ExtractPool:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def size(self) -> int:
        return self._size

    async def start(self) -> None:
        self._idle = asyncio.Queue()
        for worker in await asyncio.gather(*(self._spawn() for _ in range(self._size))):
            self._idle.put_nowait(worker)

    async def close(self) -> None:
        for worker in list(self._all):
            if worker.stdin is not None:
                worker.stdin.close()
        for worker in list(self._all):
            try:
                await asyncio.wait_for(worker.wait(), 2)
            except TimeoutError:
                worker.kill()
                await worker.wait()
        self._all.clear()

    async def extract(self, item: ExtractInput, timeout: float) -> ExtractedPage:
        assert self._idle is not None, "start the pool first"
        worker = await self._idle.get()
        try:
            status, payload, retire = await asyncio.wait_for(self._ask(worker, item), timeout)
            if retire:
                worker = await self._replace(worker)
        except TimeoutError:
            worker = await self._replace(worker)
            raise ExtractionTimeoutError(f"extraction took longer than {timeout:g} s") from None
        except (asyncio.IncompleteReadError, ConnectionError, pickle.UnpicklingError) as exc:
            worker = await self._replace(worker)
            raise ExtractionError(f"extraction worker died: {type(exc).__name__}") from None
        except asyncio.CancelledError:
            worker = await asyncio.shield(self._replace(worker))  # its late answer must not reach the next caller
            raise
        finally:
            self._idle.put_nowait(worker)
        if status != "ok" or not isinstance(payload, ExtractedPage):
            raise ExtractionError(str(payload))
        return payload

    async def _ask(self, worker: asyncio.subprocess.Process, item: ExtractInput) -> tuple[str, object, bool]:
        assert worker.stdin is not None and worker.stdout is not None
        worker.stdin.write(frame(item))
        await worker.stdin.drain()
        (size,) = HEADER.unpack(await worker.stdout.readexactly(HEADER.size))
        data = await worker.stdout.readexactly(size)
        if size < LOADS_OFF_LOOP:
            return pickle.loads(data)
        return await asyncio.to_thread(pickle.loads, data)  # a big page's result: milliseconds of unpickling

    async def _spawn(self) -> asyncio.subprocess.Process:
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "docspasta.extraction.worker",
            str(self._max_rss_mb),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        self._all.add(worker)
        return worker

    async def _replace(self, worker: asyncio.subprocess.Process) -> asyncio.subprocess.Process:
        with contextlib.suppress(ProcessLookupError):
            worker.kill()
        await worker.wait()
        self._all.discard(worker)
        return await self._spawn()
