"""Read-only views of the job store, for the dashboard, the CLI and exports.

Every call opens a short-lived read-only connection (WAL lets it read while the
writer writes) and closes it, so readers never hold locks or see stale snapshots,
and nothing here can change the store.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ...errors import JobNotFoundError, StoreError
from ..reading_order import OrderItem, reading_order
from .writer import JobRecord, resolve_db_path


@contextlib.contextmanager
def reader(db_path: str | os.PathLike[str] | None = None) -> Iterator[sqlite3.Connection]:
    path = resolve_db_path(db_path)
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


def get_job(db_path: str | os.PathLike[str] | None, job_id: str) -> JobRecord:
    with reader(db_path) as conn:
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise JobNotFoundError(job_id)
    return JobRecord.from_row(row)


def list_jobs(
    db_path: str | os.PathLike[str] | None = None, *, owner: str | None = None, limit: int = 500
) -> list[JobRecord]:
    where, params = ("WHERE owner = ?", [owner]) if owner is not None else ("", [])
    with reader(db_path) as conn:
        rows = conn.execute(f"SELECT * FROM jobs {where} ORDER BY created_at DESC LIMIT ?", [*params, limit]).fetchall()
    return [JobRecord.from_row(r) for r in rows]


PAGE_COLUMNS = (
    "id, url, final_url, depth, discovered_from, found_by, status, reason, retries, http_status, "
    "content_type, fetch_ms, extract_ms, bytes, title, quality, quality_reasons, content_hash, words, seq, "
    "tokens, extractor, fidelity, duplicate_of, position, page_kind"
)


def pages(db_path: str | os.PathLike[str] | None, job_id: str, *, status: str | None = None) -> list[dict[str, Any]]:
    """Page rows without their Markdown or HTML (cheap enough for tables), in discovery order;
    `position` is the reading order of a finished job's completed pages."""
    where, params = "WHERE job_id = ?", [job_id]
    if status is not None:
        where += " AND status = ?"
        params.append(status)
    with reader(db_path) as conn:
        rows = conn.execute(f"SELECT {PAGE_COLUMNS} FROM pages {where} ORDER BY id", params).fetchall()
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class PageContent:
    """A completed page's metadata; its Markdown is read apart (`markdowns`), one page at a
    time, so an export never holds every page's text at once."""

    id: int
    url: str
    title: str
    depth: int
    quality: int
    quality_reasons: tuple[str, ...]
    seq: int
    words: int = 0
    tokens: int = 0
    extractor: str | None = None
    fidelity: dict[str, int] | None = None
    block_hashes: tuple[str, ...] = ()
    content_hash: str | None = None


def completed_pages(db_path: str | os.PathLike[str] | None, job_id: str) -> Iterator[PageContent]:
    """Completed pages' metadata in crawl order, streamed one at a time."""
    with reader(db_path) as conn:
        cursor = conn.execute(
            "SELECT id, url, title, depth, quality, quality_reasons, seq, words, tokens, extractor, "
            "fidelity, block_hashes, content_hash FROM pages "
            "WHERE job_id = ? AND status = 'completed' ORDER BY seq",
            (job_id,),
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


def markdowns(db_path: str | os.PathLike[str] | None, page_ids: Iterable[int]) -> Iterator[str]:
    """The Markdown of each page in `page_ids`, in that order, one at a time."""
    with reader(db_path) as conn:
        for page_id in page_ids:
            row = conn.execute("SELECT markdown FROM pages WHERE id = ?", (page_id,)).fetchone()
            yield (row[0] or "") if row else ""


def reading_positions(db_path: str | os.PathLike[str] | None, job_id: str, start_url: str) -> dict[int, int]:
    """Each completed page's position in the site's reading order: as stored when the job
    ended, else (a job still running, or crawled before positions were kept) worked out
    now by the same function."""
    with reader(db_path) as conn:
        rows = conn.execute(
            "SELECT id, url, final_url, next_url, prev_url, position FROM pages "
            "WHERE job_id = ? AND status = 'completed'",
            (job_id,),
        ).fetchall()
    if all(row["position"] is not None for row in rows):
        return {row["id"]: row["position"] for row in rows}
    items = [OrderItem(r["id"], r["url"], r["final_url"], r["next_url"], r["prev_url"]) for r in rows]
    order = reading_order(items, start_url)
    return {page_id: n for n, page_id in enumerate(order)}


def repeated_blocks(db_path: str | os.PathLike[str] | None, job_id: str) -> frozenset[str]:
    """Hashes of text blocks on at least 3 pages and at least 30% of the job's pages:
    navigation, banners and footers that survived the extractor."""
    with reader(db_path) as conn:
        completed = conn.execute("SELECT completed FROM jobs WHERE id = ?", (job_id,)).fetchone()
        floor = max(3, math.ceil(0.3 * (completed[0] if completed else 0)))
        rows = conn.execute("SELECT hash FROM blocks WHERE job_id = ? AND pages >= ?", (job_id, floor)).fetchall()
    return frozenset(r[0] for r in rows)


def events(
    db_path: str | os.PathLike[str] | None, job_id: str, *, limit: int = 50, after_id: int = 0
) -> list[dict[str, Any]]:
    with reader(db_path) as conn:
        rows = conn.execute(
            "SELECT id, ts, type, url, payload FROM events WHERE job_id = ? AND id > ? ORDER BY id DESC LIMIT ?",
            (job_id, after_id, limit),
        ).fetchall()
    return [dict(r) for r in rows]


@dataclass(frozen=True)
class PageDetail:
    url: str
    title: str
    status: str
    reason: str | None
    quality: int | None
    quality_reasons: tuple[str, ...]
    markdown: str
    fidelity: dict[str, int] | None = None
    extractor: str | None = None


def page_detail(db_path: str | os.PathLike[str] | None, job_id: str, url: str) -> PageDetail:
    with reader(db_path) as conn:
        row = conn.execute(
            "SELECT url, title, status, reason, quality, quality_reasons, markdown, fidelity, extractor FROM pages "
            "WHERE job_id = ? AND url = ?",
            (job_id, url),
        ).fetchone()
    if row is None:
        raise StoreError(f"job {job_id} has no page {url}")
    return PageDetail(
        url=row["url"],
        title=row["title"] or row["url"],
        status=row["status"],
        reason=row["reason"],
        quality=row["quality"],
        quality_reasons=tuple(json.loads(row["quality_reasons"] or "[]")),
        markdown=row["markdown"] or "",
        fidelity=json.loads(row["fidelity"]) if row["fidelity"] else None,
        extractor=row["extractor"],
    )


def running_job_count(db_path: str | os.PathLike[str] | None = None) -> int:
    with reader(db_path) as conn:
        return conn.execute("SELECT count(*) FROM jobs WHERE status IN ('pending', 'running')").fetchone()[0]


@dataclass(frozen=True)
class Comparison:
    id: str
    start_url: str
    mode: str
    created_at: float
    jobs: list[tuple[str, JobRecord]]  # (label, job), oldest crawl first


def get_comparison(db_path: str | os.PathLike[str] | None, comparison_id: str) -> Comparison:
    with reader(db_path) as conn:
        row = conn.execute("SELECT * FROM comparisons WHERE id = ?", (comparison_id,)).fetchone()
        if row is None:
            raise StoreError(f"no comparison {comparison_id!r} in this database")
        jobs = conn.execute(
            "SELECT * FROM jobs WHERE comparison_id = ? ORDER BY created_at, rowid", (comparison_id,)
        ).fetchall()
    return Comparison(row["id"], row["start_url"], row["mode"], row["created_at"],
                      [(j["label"] or j["id"], JobRecord.from_row(j)) for j in jobs])  # fmt: skip


def completion_times(db_path: str | os.PathLike[str] | None, job_id: str) -> list[float]:
    """Seconds from the job's first start to each page_completed event, in order."""
    with reader(db_path) as conn:
        start = conn.execute(
            "SELECT min(ts) FROM events WHERE job_id = ? AND type IN ('job_started', 'job_resumed')", (job_id,)
        ).fetchone()[0]
        rows = conn.execute(
            "SELECT ts FROM events WHERE job_id = ? AND type = 'page_completed' ORDER BY id", (job_id,)
        ).fetchall()
    return [r[0] - start for r in rows] if start is not None else []
