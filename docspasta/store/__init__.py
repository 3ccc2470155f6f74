"""The job store: the single source of truth for jobs, pages and events.

Everything outside this package sees the store through three names:
`open_writer(db)` and `open_reader(db)`, which take what `--db` takes and return a
`StoreWriter` / `StoreReader` (contract.py, where what every backend guarantees is
written down), and `AsyncWriter` (threaded.py), which the engine awaits while one thread
owns the writer. The records it takes and hands out are in `docspasta.records`.

Holds: the contract, the factory, the pure duplicate judgement (duplicates.py) and
reading order (reading_order.py) every backend calls, and the SQLite backend
(`sqlite/`: writer, reads, frontier, migrations). The only place with SQL or a database
driver; no module outside imports a backend's package.

May import: the top-level modules (settings, errors, urls, records), and extraction's
fingerprints (the line-sketch similarity the duplicate judgement uses).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .contract import StoreReader, StoreWriter
from .location import DbSpec, default_db_path, resolve
from .threaded import AsyncWriter

__all__ = [
    "AsyncWriter",
    "DbSpec",
    "StoreReader",
    "StoreWriter",
    "default_db_path",
    "open_async_writer",
    "open_reader",
    "open_writer",
    "resolve",
]


def open_writer(db: DbSpec = None, *, clock: Callable[[], float] = time.time) -> StoreWriter:
    """The store's writer, its schema migrated on first use. `clock` is what leases are
    measured against (tests pass one they can move). Use it from one thread."""
    from .sqlite.writer import SQLiteWriter

    return SQLiteWriter(db, clock=clock)


def open_reader(db: DbSpec = None) -> StoreReader:
    """A reader; cheap to make (it connects per call) and it never creates a store."""
    from .sqlite.reads import SQLiteReader

    return SQLiteReader(db)


def open_async_writer(db: DbSpec = None, *, clock: Callable[[], float] = time.time) -> AsyncWriter:
    """The writer on its own thread, for code on an event loop: `async with open_async_writer(db) as store`."""
    return AsyncWriter(lambda: open_writer(db, clock=clock))
