"""Read-only views of the SQLite store, for the dashboard, the CLI and exports.

Every call opens a short-lived read-only connection (WAL lets it read while the
writer writes) and closes it, so readers never hold locks or see stale snapshots,
and nothing here can change the store.
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ...errors import JobNotFoundError, StoreError
from ...records import (
    Comparison,
    Control,
    JobRecord,
    JobStatus,
    JobStep,
    PageContent,
    PageDetail,
    PageStatus,
)
from ...settings import CrawlSettings
from ..location import DbSpec, resolve_db_path
from ..reading_order import OrderItem, reading_order

PAGE_COLUMNS = (
    "id, url, final_url, depth, discovered_from, found_by, status, reason, retries, http_status, "
    "content_type, fetch_ms, extract_ms, bytes, title, quality, quality_reasons, content_hash, words, seq, "
    "tokens, extractor, fidelity, duplicate_of, position, page_kind"
)


def job_from_row(row: sqlite3.Row | dict[str, Any]) -> JobRecord:
    data = dict(row)
    data["settings"] = CrawlSettings.from_json(data["settings"])
    data["status"], data["step"] = JobStatus(data["status"]), JobStep(data["step"])
    data["control"] = Control(data["control"]) if data["control"] else None
    return JobRecord(**{k: data[k] for k in JobRecord.__dataclass_fields__})


class SQLiteReader:
    """The store reader over one SQLite file (see contract.StoreReader)."""

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

    def get_job(self, job_id: str) -> JobRecord:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return job_from_row(row)

    def list_jobs(self, *, owner: str | None = None, limit: int = 500) -> list[JobRecord]:
        where, params = ("WHERE owner = ?", [owner]) if owner is not None else ("", [])
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT * FROM jobs {where} ORDER BY created_at DESC LIMIT ?", [*params, limit]
            ).fetchall()
        return [job_from_row(r) for r in rows]

    def running_job_count(self) -> int:
        with self._read() as conn:
            return conn.execute(
                "SELECT count(*) FROM jobs WHERE status IN (?, ?)", (JobStatus.PENDING, JobStatus.RUNNING)
            ).fetchone()[0]

    def pages(self, job_id: str, *, status: PageStatus | None = None) -> list[dict[str, Any]]:
        """`position` is the reading order of a finished job's completed pages."""
        where, params = "WHERE job_id = ?", [job_id]
        if status is not None:
            where += " AND status = ?"
            params.append(status)
        with self._read() as conn:
            rows = conn.execute(f"SELECT {PAGE_COLUMNS} FROM pages {where} ORDER BY id", params).fetchall()
        return [dict(r) for r in rows]

    def completed_pages(self, job_id: str) -> Iterator[PageContent]:
        with self._read() as conn:
            cursor = conn.execute(
                "SELECT id, url, title, depth, quality, quality_reasons, seq, words, tokens, extractor, "
                "fidelity, block_hashes, content_hash FROM pages "
                "WHERE job_id = ? AND status = ? ORDER BY seq",
                (job_id, PageStatus.COMPLETED),
            )
            for row in cursor:
                yield PageContent(
                    id=row["id"],
                    url=row["url"],
                    title=row["title"] or row["url"],
                    depth=row["depth"],
                    quality=row["quality"] or 0,
                    quality_reasons=tuple(json.loads(row["quality_reasons"] or "[]")),
                    seq=row["seq"],
                    words=row["words"] or 0,
                    tokens=row["tokens"] or 0,
                    extractor=row["extractor"],
                    fidelity=json.loads(row["fidelity"]) if row["fidelity"] else None,
                    block_hashes=tuple(json.loads(row["block_hashes"] or "[]")),
                    content_hash=row["content_hash"],
                )

    def markdowns(self, page_ids: Iterable[int]) -> Iterator[str]:
        with self._read() as conn:
            for page_id in page_ids:
                row = conn.execute("SELECT markdown FROM pages WHERE id = ?", (page_id,)).fetchone()
                yield (row[0] or "") if row else ""

    def reading_positions(self, job_id: str, start_url: str) -> dict[int, int]:
        """As stored when the job ended, else (a job still running, or crawled before
        positions were kept) worked out now by the same function."""
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, url, final_url, next_url, prev_url, position FROM pages WHERE job_id = ? AND status = ?",
                (job_id, PageStatus.COMPLETED),
            ).fetchall()
        if all(row["position"] is not None for row in rows):
            return {row["id"]: row["position"] for row in rows}
        items = [OrderItem(r["id"], r["url"], r["final_url"], r["next_url"], r["prev_url"]) for r in rows]
        return {page_id: n for n, page_id in enumerate(reading_order(items, start_url))}

    def repeated_blocks(self, job_id: str) -> frozenset[str]:
        with self._read() as conn:
            completed = conn.execute("SELECT completed FROM jobs WHERE id = ?", (job_id,)).fetchone()
            floor = max(3, math.ceil(0.3 * (completed[0] if completed else 0)))
            rows = conn.execute("SELECT hash FROM blocks WHERE job_id = ? AND pages >= ?", (job_id, floor)).fetchall()
        return frozenset(r[0] for r in rows)

    def events(self, job_id: str, *, limit: int = 50, after_id: int = 0) -> list[dict[str, Any]]:
        with self._read() as conn:
            rows = conn.execute(
                "SELECT id, ts, type, url, payload FROM events WHERE job_id = ? AND id > ? ORDER BY id DESC LIMIT ?",
                (job_id, after_id, limit),
            ).fetchall()
        return [dict(r) for r in rows]

    def page_detail(self, job_id: str, url: str) -> PageDetail:
        with self._read() as conn:
            row = conn.execute(
                "SELECT url, title, status, reason, quality, quality_reasons, markdown, fidelity, extractor "
                "FROM pages WHERE job_id = ? AND url = ?",
                (job_id, url),
            ).fetchone()
        if row is None:
            raise StoreError(f"job {job_id} has no page {url}")
        return PageDetail(
            url=row["url"],
            title=row["title"] or row["url"],
            status=PageStatus(row["status"]),
            reason=row["reason"],
            quality=row["quality"],
            quality_reasons=tuple(json.loads(row["quality_reasons"] or "[]")),
            markdown=row["markdown"] or "",
            fidelity=json.loads(row["fidelity"]) if row["fidelity"] else None,
            extractor=row["extractor"],
        )

    def get_comparison(self, comparison_id: str) -> Comparison:
        with self._read() as conn:
            row = conn.execute("SELECT * FROM comparisons WHERE id = ?", (comparison_id,)).fetchone()
            if row is None:
                raise StoreError(f"no comparison {comparison_id!r} in this database")
            jobs = conn.execute(
                "SELECT * FROM jobs WHERE comparison_id = ? ORDER BY created_at, rowid", (comparison_id,)
            ).fetchall()
        return Comparison(row["id"], row["start_url"], row["mode"], row["created_at"],
                          [(j["label"] or j["id"], job_from_row(j)) for j in jobs])  # fmt: skip

    def completion_times(self, job_id: str) -> list[float]:
        with self._read() as conn:
            start = conn.execute(
                "SELECT min(ts) FROM events WHERE job_id = ? AND type IN ('job_started', 'job_resumed')", (job_id,)
            ).fetchone()[0]
            rows = conn.execute(
                "SELECT ts FROM events WHERE job_id = ? AND type = 'page_completed' ORDER BY id", (job_id,)
            ).fetchall()
        return [r[0] - start for r in rows] if start is not None else []
