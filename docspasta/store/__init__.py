"""The job store: the single source of truth for jobs, pages and events.

Everything outside this package sees the store through three names:
`open_writer(db)` and `open_reader(db)`, which take what `--db` takes (a file path for
SQLite, a `postgresql://` URL for PostgreSQL) and return a
`StoreWriter` / `StoreReader` (contract.py, where what every backend guarantees is
written down), and `AsyncWriter` (threaded.py), which the engine awaits while one thread
owns the writer. The records it takes and hands out are in `docspasta.records`.

Holds: the contract, the factory, the pure duplicate judgement (duplicates.py) and
reading order (reading_order.py) every backend calls, the claim order (claim_order.py)
and page columns (page_rows.py) they share, and the backends: SQLite (`sqlite/`, the
embedded default) and PostgreSQL (`postgres/`). The only place with SQL or a database
driver; no module outside imports a backend's package.

May import: the top-level modules (settings, errors, urls, records), and extraction's
fingerprints (the line-sketch similarity the duplicate judgement uses).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .contract import SharedLimits, StoreReader, StoreWriter
from .location import DbSpec, default_db_path, display, is_postgres, resolve
from .threaded import AsyncWriter

__all__ = [
    "AsyncWriter",
    "DbSpec",
    "SharedLimits",
    "StoreReader",
    "StoreWriter",
    "default_db_path",
    "display",
    "is_postgres",
    "open_async_writer",
    "open_reader",
    "open_shared_limits",
    "open_writer",
    "resolve",
]


def open_writer(db: DbSpec = None, *, clock: Callable[[], float] = time.time, worker: str | None = None) -> StoreWriter:
    """The store's writer, its schema migrated on first use. Use it from one thread.
    `clock` is what SQLite's leases are measured against (tests pass one they can move);
    PostgreSQL's are measured on the database's clock. `worker` names the process in
    `jobs.worker` and `job_workers` (default `host:pid`)."""
    where = resolve(db)
    if is_postgres(where):
        from .postgres.writer import PostgresWriter

        return PostgresWriter(where, worker=worker)
    from .sqlite.writer import SQLiteWriter

    return SQLiteWriter(where, clock=clock, worker=worker)


def open_shared_limits(db: DbSpec, worker: str) -> SharedLimits | None:
    """Per-host limits shared by every worker of a job, where the store shares jobs
    (PostgreSQL); None where one process runs a job (SQLite keeps them in the process)."""
    where = resolve(db)
    if not is_postgres(where):
        return None
    from .postgres.limits import PostgresLimits

    return PostgresLimits(where, worker)


def open_reader(db: DbSpec = None) -> StoreReader:
    """A reader; cheap to make (it connects per call, or borrows from a pool) and it never
    creates a store."""
    where = resolve(db)
    if is_postgres(where):
        from .postgres.reads import PostgresReader

        return PostgresReader(where)
    from .sqlite.reads import SQLiteReader

    return SQLiteReader(where)


def open_async_writer(
    db: DbSpec = None, *, clock: Callable[[], float] = time.time, worker: str | None = None
) -> AsyncWriter:
    """The writer on its own thread, for code on an event loop: `async with open_async_writer(db) as store`."""
    return AsyncWriter(
        lambda: open_writer(db, clock=clock, worker=worker),
        open_limits=lambda name: open_shared_limits(db, name),
    )
