"""Extraction in worker processes, with a per-page time limit.

trafilatura is ~90% of a crawl's CPU, so it runs beside the event loop in processes
(spawned, never forked: the parent has threads and open SQLite connections). A page
whose extraction exceeds the limit fails, and its worker is killed and replaced;
concurrent.futures cannot kill one worker, hence this small pool. The loop learns a
worker has answered from `add_reader` on its pipe, so waiting costs no thread.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import multiprocessing.connection
import os
import signal
from dataclasses import dataclass

from .errors import ExtractionError, ExtractionTimeoutError
from .extract import ExtractedPage, ExtractInput, extract_page

MAX_WORKER_RSS_MB = 250


def _rss_mb() -> float:
    """Current resident memory of this process (Linux); 0 where unknown."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def _worker_main(conn: multiprocessing.connection.Connection, max_rss_mb: float) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    while True:
        try:
            item = conn.recv()
        except (EOFError, KeyboardInterrupt):
            return
        if item is None:
            return
        try:
            result: tuple[str, object] = ("ok", extract_page(item))
        except Exception as exc:  # reported to the parent, recorded with the page
            result = ("error", f"{type(exc).__name__}: {exc}")
        # A parser that met one huge page keeps its memory; a worker past the cap
        # says so with its answer and is replaced, so memory stays flat over a crawl.
        conn.send((*result, _rss_mb() > max_rss_mb))


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection

    def kill(self) -> None:
        self.process.kill()
        self.process.join(timeout=5)
        self.conn.close()


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class ExtractPool:
    """`await pool.extract(item)` on the loop that created the pool."""

    def __init__(self, workers: int | None = None, *, max_rss_mb: float = MAX_WORKER_RSS_MB) -> None:
        self._size = workers or default_workers()
        self._max_rss_mb = max_rss_mb
        self._ctx = multiprocessing.get_context("spawn")
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: list[_Worker] = []

    async def __aenter__(self) -> ExtractPool:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self._idle = asyncio.Queue()
        for _ in range(self._size):
            self._idle.put_nowait(self._spawn())

    def close(self) -> None:
        for worker in self._all:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in self._all:
            worker.process.join(timeout=2)
            if worker.process.is_alive():
                worker.kill()
        self._all.clear()

    @property
    def size(self) -> int:
        return self._size

    async def extract(self, item: ExtractInput, timeout: float) -> ExtractedPage:
        assert self._idle is not None, "start the pool first"
        worker = await self._idle.get()
        try:
            worker.conn.send(item)
            await _readable(worker.conn, timeout)
            status, payload, retire = worker.conn.recv()
            if retire:
                worker = self._replace(worker)
        except TimeoutError:
            worker = self._replace(worker)
            raise ExtractionTimeoutError(f"extraction took longer than {timeout:g} s") from None
        except (EOFError, OSError) as exc:
            worker = self._replace(worker)
            raise ExtractionError(f"extraction worker died: {type(exc).__name__}") from None
        except asyncio.CancelledError:
            worker = self._replace(worker)  # its answer would be read by the next caller
            raise
        finally:
            self._idle.put_nowait(worker)
        if status != "ok":
            raise ExtractionError(str(payload))
        return payload  # type: ignore[return-value]

    def _spawn(self) -> _Worker:
        parent, child = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_worker_main, args=(child, self._max_rss_mb), daemon=True, name="docspasta-extract"
        )
        process.start()
        child.close()
        worker = _Worker(process, parent)
        self._all.append(worker)
        return worker

    def _replace(self, worker: _Worker) -> _Worker:
        worker.kill()
        self._all.remove(worker)
        return self._spawn()


async def _readable(conn: multiprocessing.connection.Connection, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    ready = loop.create_future()
    fd = conn.fileno()
    loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
    try:
        await asyncio.wait_for(ready, timeout)
    finally:
        loop.remove_reader(fd)
