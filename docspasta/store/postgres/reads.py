"""Read-only views of the PostgreSQL store (see contract.StoreReader): the queries are
sql_reads.SQLReader's, run on read-only sessions from a small shared pool."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

import psycopg

from ...errors import StoreError
from ..location import display
from ..sql_reads import ReadConnection, SQLReader
from .connect import reader_pool


class QmarkConnection:
    """A psycopg connection that takes the `?` placeholders the shared queries are written with."""

    def __init__(self, conn: psycopg.Connection[dict[str, Any]]) -> None:
        self._conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> psycopg.Cursor[dict[str, Any]]:
        return self._conn.execute(sql.replace("%", "%%").replace("?", "%s"), params)


class PostgresReader(SQLReader):
    def __init__(self, url: str) -> None:
        self.url = url
        self.location = display(url)

    @contextlib.contextmanager
    def _read(self) -> Iterator[QmarkConnection]:
        try:
            with reader_pool(self.url).connection() as conn:
                yield QmarkConnection(conn)
        except psycopg.errors.UndefinedTable:
            raise StoreError(f"no docspasta tables in {self.location} yet; start a crawl first") from None
        except psycopg.Error as exc:
            raise StoreError(f"cannot read the database at {self.location}: {exc}") from exc
        except TimeoutError as exc:  # the pool found no connection in time
            raise StoreError(f"cannot connect to the database at {self.location}: {exc}") from exc

    def _search(
        self, conn: ReadConnection, terms: list[str], job_ids: list[str], limit: int, *, every_word: bool
    ) -> list[dict[str, Any]]:
        """`tsvector` (English stemming, weighted heading A, title B, words C) on its GIN index,
        ranked by ts_rank_cd; the section's Markdown cut from its page's for the hits only."""
        query = (" & " if every_word else " | ").join(terms)  # words only (search_terms): safe in to_tsquery
        marks = ",".join("?" * len(job_ids))
        rows = conn.execute(
            f"""
            WITH q AS (SELECT to_tsquery('english', ?) AS q),
            hits AS (
                SELECT s.id, ts_rank_cd(s.tsv, q.q, 32) AS score FROM sections s, q
                WHERE s.tsv @@ q.q AND s.job_id IN ({marks}) ORDER BY score DESC, s.id LIMIT ?
            )
            SELECT s.job_id, s.page_id, p.url, s.title, s.heading_path, s.ord, h.score,
                   substr(p.markdown, s.start + 1, s.stop - s.start) AS body
            FROM hits h JOIN sections s ON s.id = h.id JOIN pages p ON p.id = s.page_id ORDER BY h.score DESC, h.id
            """,
            (query, *job_ids, limit),
        ).fetchall()
        return [dict(r) for r in rows]

    def exists(self) -> bool:
        try:
            with self._read() as conn:
                row = conn.execute("SELECT to_regclass('jobs') IS NOT NULL AS found").fetchone()
                return bool(row and row["found"])
        except StoreError:
            return False
