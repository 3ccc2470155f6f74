"""The store reader's queries, written once for every SQL backend.

A backend supplies `_read()`: a read-only connection whose `execute(sql, params)` takes
`?` placeholders and returns rows readable by column name (sqlite3's own, or PostgreSQL's
through `QmarkConnection`), with its driver's errors turned into StoreError. The SQL here
is the common subset both speak.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any, Protocol

from ..errors import JobNotFoundError, NotARefreshError, StoreError
from ..records import (
    Comparison,
    JobRecord,
    JobStatus,
    PageChangeRow,
    PageContent,
    PageDetail,
    PageStatus,
    SearchHit,
    Site,
)
from ..urls import dedup_key
from . import refresh
from .page_rows import (
    CONTENT_COLUMNS,
    DETAIL_COLUMNS,
    ORDER_COLUMNS,
    PAGE_COLUMNS,
    job_record,
    page_content,
    page_detail,
    positions,
    repeated_floor,
)
from .sections import index_text, search_terms, snippet


class Rows(Protocol):
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class ReadConnection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Rows: ...


class SQLReader:
    """contract.StoreReader over any connection `_read()` gives."""

    location: str

    def _read(self) -> contextlib.AbstractContextManager[ReadConnection]:
        raise NotImplementedError

    def exists(self) -> bool:
        raise NotImplementedError

    def get_job(self, job_id: str) -> JobRecord:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return job_record(row)

    def list_jobs(self, *, owner: str | None = None, limit: int = 500) -> list[JobRecord]:
        where, params = ("WHERE owner = ?", [owner]) if owner is not None else ("", [])
        with self._read() as conn:
            rows = conn.execute(f"SELECT * FROM jobs {where} ORDER BY created_at DESC LIMIT ?", [*params, limit])
            return [job_record(r) for r in rows.fetchall()]

    def running_job_count(self) -> int:
        with self._read() as conn:
            row = conn.execute(
                "SELECT count(*) AS n FROM jobs WHERE status IN (?, ?)", (JobStatus.PENDING, JobStatus.RUNNING)
            ).fetchone()
        return int(row["n"])

    def pages(self, job_id: str, *, status: PageStatus | None = None) -> list[dict[str, Any]]:
        """`position` is the reading order of a finished job's completed pages."""
        where, params = "WHERE job_id = ?", [job_id]
        if status is not None:
            where += " AND status = ?"
            params.append(status)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(f"SELECT {PAGE_COLUMNS} FROM pages {where} ORDER BY id", params)]

    def completed_pages(self, job_id: str) -> Iterator[PageContent]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {CONTENT_COLUMNS} FROM pages WHERE job_id = ? AND status = ? ORDER BY seq",
                (job_id, PageStatus.COMPLETED),
            )
            for row in rows:
                yield page_content(row)

    def markdowns(self, page_ids: Iterable[int]) -> Iterator[str]:
        with self._read() as conn:
            for page_id in page_ids:
                row = conn.execute("SELECT markdown FROM pages WHERE id = ?", (page_id,)).fetchone()
                yield (row["markdown"] or "") if row else ""

    def reading_positions(self, job_id: str, start_url: str) -> dict[int, int]:
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT {ORDER_COLUMNS} FROM pages WHERE job_id = ? AND status = ?", (job_id, PageStatus.COMPLETED)
            ).fetchall()
        return positions([dict(r) for r in rows], start_url)

    def repeated_blocks(self, job_id: str) -> frozenset[str]:
        with self._read() as conn:
            job = conn.execute("SELECT completed FROM jobs WHERE id = ?", (job_id,)).fetchone()
            floor = repeated_floor(job["completed"] if job else 0)
            rows = conn.execute("SELECT hash FROM blocks WHERE job_id = ? AND pages >= ?", (job_id, floor))
            return frozenset(r["hash"] for r in rows.fetchall())

    def events(self, job_id: str, *, limit: int = 50, after_id: int = 0) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, ts, type, url, payload FROM events WHERE job_id = ? AND id > ? ORDER BY id DESC LIMIT ?",
                (job_id, after_id, limit),
            )
            return [dict(r) for r in rows.fetchall()]

    def page_detail(self, job_id: str, url: str) -> PageDetail:
        with self._read() as conn:
            row = conn.execute(f"SELECT {DETAIL_COLUMNS} FROM pages WHERE job_id = ? AND url = ?", (job_id, url))
            found = row.fetchone()
        if found is None:
            raise StoreError(f"job {job_id} has no page {url}")
        return page_detail(found)

    def get_comparison(self, comparison_id: str) -> Comparison:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM comparisons WHERE id = ?", (comparison_id,)).fetchone()
            if row is None:
                raise StoreError(f"no comparison {comparison_id!r} in this database")
            jobs = conn.execute(
                "SELECT * FROM jobs WHERE comparison_id = ? ORDER BY created_at, id", (comparison_id,)
            ).fetchall()
        return Comparison(row["id"], row["start_url"], row["mode"], row["created_at"],
                          [(j["label"] or j["id"], job_record(j)) for j in jobs])  # fmt: skip

    def locate(self, url: str, job_ids: Sequence[str]) -> tuple[str, str] | None:
        if not job_ids:
            return None
        marks = ",".join("?" * len(job_ids))
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT job_id, url FROM pages WHERE status = ? AND job_id IN ({marks}) "
                "AND (url_key = ? OR final_url = ?)",
                (PageStatus.COMPLETED, *job_ids, dedup_key(url), url),
            ).fetchall()
        stored = {r["job_id"]: r["url"] for r in rows}
        return next(((job, stored[job]) for job in job_ids if job in stored), None)

    def sites(self, *, owner: str | None = None) -> list[Site]:
        mine, params = ("AND owner = ?", [owner]) if owner is not None else ("", [])
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT * FROM jobs WHERE status = ? AND scope_host IS NOT NULL {mine} ORDER BY finished_at DESC, id",
                (JobStatus.COMPLETED, *params),
            ).fetchall()
        sites: dict[str, Site] = {}
        for job in map(job_record, rows):
            key = f"{job.scope_host}{job.scope_prefix or '/'}"
            if key in sites:
                sites[key] = replace(sites[key], crawls=sites[key].crawls + 1)
            else:
                sites[key] = Site(key, job.id, job.start_url, job.site_title, job.completed, job.finished_at, 1)
        return list(sites.values())

    def search(self, query: str, job_ids: Sequence[str], *, limit: int = 10) -> list[SearchHit]:
        terms = search_terms(query)
        if not job_ids or limit < 1:
            return []
        with self._read() as conn:
            rows = self._search(conn, terms, list(job_ids), limit, every_word=True)
            if len(rows) < limit:  # then sections with some of the words, after those with all
                seen = {(r["page_id"], r["ord"]) for r in rows}
                more = self._search(conn, terms, list(job_ids), limit + len(rows), every_word=False)
                rows += [r for r in more if (r["page_id"], r["ord"]) not in seen][: limit - len(rows)]
        return [
            SearchHit(
                r["job_id"],
                r["page_id"],
                r["url"],
                r["title"],
                r["heading_path"],
                r["body"],
                snippet(index_text(r["body"]), terms),
                float(r["score"]),
                r["ord"],
            )  # fmt: skip
            for r in rows
        ]

    def _search(
        self, conn: ReadConnection, terms: list[str], job_ids: list[str], limit: int, *, every_word: bool
    ) -> list[dict[str, Any]]:
        """Rows of the best matching sections: job_id, page_id, url, title, heading_path, body
        (the section's Markdown), ord, score (higher is better)."""
        raise NotImplementedError

    def change_rows(self, job_id: str) -> list[PageChangeRow]:
        with self._read() as conn:
            job = conn.execute("SELECT since_job FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if job is None:
                raise JobNotFoundError(job_id)
            since = job["since_job"]
            if since is None:
                raise NotARefreshError(job_id)
            if conn.execute("SELECT 1 FROM jobs WHERE id = ?", (since,)).fetchone() is None:
                raise NotARefreshError(
                    job_id, f"job {since}, which job {job_id} refreshed, was deleted: there is nothing to compare with"
                )
            rows = conn.execute(refresh.CHANGE_ROWS, (since, job_id, since, job_id)).fetchall()
        return [refresh.change_row(r) for r in rows]

    def completion_times(self, job_id: str) -> list[float]:
        """Seconds from the job's first start to each page_completed event, in order."""
        with self._read() as conn:
            start = conn.execute(
                "SELECT min(ts) AS start FROM events WHERE job_id = ? AND type IN ('job_started', 'job_resumed')",
                (job_id,),
            ).fetchone()
            rows = conn.execute(
                "SELECT ts FROM events WHERE job_id = ? AND type = 'page_completed' ORDER BY id", (job_id,)
            ).fetchall()
        first = start["start"] if start else None
        return [r["ts"] - first for r in rows] if first is not None else []
