"""The frontier: pending pages in SQLite, claimed with a lease.

Claims are one `UPDATE ... RETURNING` in the strategy's order. A claimed page is
`processing` until `lease_until`; a process that dies leaves leases that expire and
`release_expired` returns those pages to `pending`. Links are added with INSERT OR
IGNORE on (job_id, url_key), so a URL is fetched at most once per job however many
spellings of it are found; a shorter path to a page not yet crawled lowers its depth.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

from .strategies import Strategy


@dataclass(frozen=True)
class Claim:
    page_id: int
    url: str
    depth: int
    retries: int


@dataclass(frozen=True)
class NewLink:
    url: str
    url_key: str
    depth: int
    discovered_from: str | None
    found_by: str
    status: str  # 'pending' or 'skipped'
    reason: str | None = None


def claim(conn: sqlite3.Connection, job_id: str, limit: int, strategy: Strategy, lease_seconds: float) -> list[Claim]:
    if limit <= 0:
        return []
    level = ""
    if strategy.level_barrier:
        level = "AND depth = (SELECT min(depth) FROM pages WHERE job_id = :job AND status IN ('pending', 'processing'))"
    rows = conn.execute(
        f"""
        UPDATE pages SET status = 'processing', lease_until = :lease, updated_at = :now
        WHERE id IN (
            SELECT id FROM pages WHERE job_id = :job AND status = 'pending' {level}
            ORDER BY {strategy.order_by} LIMIT :limit
        )
        RETURNING id, url, depth, retries
        """,
        {"job": job_id, "limit": limit, "lease": time.time() + lease_seconds, "now": time.time()},
    ).fetchall()
    claims = [Claim(*row) for row in rows]
    order = {row[0]: i for i, row in enumerate(_ordered_ids(conn, [c.page_id for c in claims], strategy))}
    return sorted(claims, key=lambda c: order.get(c.page_id, 0))


def _ordered_ids(conn: sqlite3.Connection, ids: list[int], strategy: Strategy) -> list[tuple[int]]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return conn.execute(f"SELECT id FROM pages WHERE id IN ({marks}) ORDER BY {strategy.order_by}", ids).fetchall()


def release_expired(conn: sqlite3.Connection, job_id: str) -> int:
    cur = conn.execute(
        "UPDATE pages SET status = 'pending', lease_until = NULL "
        "WHERE job_id = ? AND status = 'processing' AND lease_until < ?",
        (job_id, time.time()),
    )
    return cur.rowcount


def release(conn: sqlite3.Connection, job_id: str, page_ids: list[int] | None = None) -> int:
    """Return claimed pages to pending (all of the job's, or the given ones)."""
    if page_ids is None:
        sql, params = "WHERE job_id = ? AND status = 'processing'", [job_id]
    elif not page_ids:
        return 0
    else:
        marks = ",".join("?" * len(page_ids))
        sql, params = f"WHERE job_id = ? AND status = 'processing' AND id IN ({marks})", [job_id, *page_ids]
    return conn.execute(f"UPDATE pages SET status = 'pending', lease_until = NULL {sql}", params).rowcount


def add_links(conn: sqlite3.Connection, job_id: str, links: list[NewLink], now: float) -> int:
    """Insert unseen links; lower the depth of known, uncrawled ones. Returns rows added."""
    before = conn.total_changes
    conn.executemany(
        "INSERT OR IGNORE INTO pages "
        "(job_id, url, url_key, depth, discovered_from, found_by, status, reason, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(job_id, l.url, l.url_key, l.depth, l.discovered_from, l.found_by, l.status, l.reason, now) for l in links],
    )
    added = conn.total_changes - before
    # A shorter path to a page not yet crawled: take the smaller depth, and a page
    # skipped only for depth comes back if the new depth is allowed.
    conn.executemany(
        """
        UPDATE pages SET depth = :depth, discovered_from = :src,
            status = CASE WHEN status = 'skipped' AND reason = 'depth' AND :status = 'pending'
                          THEN 'pending' ELSE status END,
            reason = CASE WHEN status = 'skipped' AND reason = 'depth' AND :status = 'pending'
                          THEN NULL ELSE reason END
        WHERE job_id = :job AND url_key = :key AND depth > :depth
          AND (status = 'pending' OR (status = 'skipped' AND reason = 'depth'))
        """,
        [
            {"depth": l.depth, "src": l.discovered_from, "status": l.status, "job": job_id, "key": l.url_key}
            for l in links
            if l.found_by != "alias"
        ],
    )
    return added


def skip_pending(conn: sqlite3.Connection, job_id: str, reason: str) -> int:
    return conn.execute(
        "UPDATE pages SET status = 'skipped', reason = ?, lease_until = NULL WHERE job_id = ? AND status = 'pending'",
        (reason, job_id),
    ).rowcount
