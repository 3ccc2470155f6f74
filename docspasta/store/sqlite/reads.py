"""Read-only views of the SQLite store, for the dashboard, the CLI and exports.

Every call opens a short-lived read-only connection (WAL lets it read while the
writer writes) and closes it, so readers never hold locks or see stale snapshots,
and nothing here can change the store.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ...errors import StoreError
from ..location import DbSpec, resolve_db_path
from ..sql_reads import ReadConnection, SQLReader
from . import search_index


class SQLiteReader(SQLReader):
    """The store reader over one SQLite file (see contract.StoreReader; the queries are
    sql_reads.SQLReader's)."""

    def __init__(self, db: DbSpec = None) -> None:
        self.path: Path = resolve_db_path(db)
        self.location = str(self.path)

    def exists(self) -> bool:
        """A file alone is not a store yet: a writer may have created it a moment ago and
        not yet committed the schema, and a poller reading then would fail on `no such table`."""
        if not self.path.exists():
            return False
        try:
            with self._read() as conn:
                row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobs'").fetchone()
        except StoreError:
            return False
        return row is not None

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        path = self.path
        if not path.exists():
            raise StoreError(f"no docspasta database at {path} yet; start a crawl first")
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5.0)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the database at {path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        try:
            conn.execute("PRAGMA busy_timeout = 5000")
            yield conn
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"cannot read the database at {path}: {exc}") from exc
        finally:
            conn.close()

    def _search(
        self, conn: ReadConnection, terms: list[str], job_ids: list[str], limit: int, *, every_word: bool
    ) -> list[dict[str, Any]]:
        """FTS5 (porter stemming, bm25) over `sections_fts`: see search_index.py."""
        match = (" " if every_word else " OR ").join(f'"{t}"' for t in terms)
        rows = conn.execute(search_index.search_sql(len(job_ids)), (match, *job_ids, limit)).fetchall()
        return [dict(r) for r in rows]
