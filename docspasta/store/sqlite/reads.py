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

from ...errors import StoreError
from ...records import SearchHit
from ..location import DbSpec, resolve_db_path
from ..sql_reads import ReadConnection, SQLReader

# page title, section heading, section text: a heading match counts most
BM25_WEIGHTS = "2.0, 5.0, 1.0"


class SQLiteReader(SQLReader):
    """The store reader over one SQLite file (see contract.StoreReader; the queries are
    sql_reads.SQLReader's)."""

    def __init__(self, db: DbSpec = None) -> None:
        self.path: Path = resolve_db_path(db)
        self.location = str(self.path)

    def exists(self) -> bool:
        return self.path.exists()

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
    ) -> list[SearchHit]:
        """FTS5 over `sections_fts` (porter stemming), ranked by bm25."""
        match = (" " if every_word else " OR ").join(f'"{t}"' for t in terms)
        marks = ",".join("?" * len(job_ids))
        rows = conn.execute(
            f"""
            SELECT s.job_id, s.page_id, p.url, s.title, s.heading_path, s.body, s.ord,
                   snippet(sections_fts, 2, '**', '**', ' … ', 24) AS snippet,
                   -bm25(sections_fts, {BM25_WEIGHTS}) AS score
            FROM sections_fts JOIN sections s ON s.id = sections_fts.rowid JOIN pages p ON p.id = s.page_id
            WHERE sections_fts MATCH ? AND s.job_id IN ({marks})
            ORDER BY bm25(sections_fts, {BM25_WEIGHTS}) LIMIT ?
            """,
            (match, *job_ids, limit),
        ).fetchall()
        return [SearchHit(r["job_id"], r["page_id"], r["url"], r["title"], r["heading_path"], r["body"],
                          r["snippet"], r["score"], r["ord"]) for r in rows]  # fmt: skip
