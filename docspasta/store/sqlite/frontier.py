"""The frontier: pending pages in SQLite, claimed with a lease.

Claims are one `UPDATE ... RETURNING` in the strategy's order. A claimed page is
`processing` until `lease_until`; a process that dies leaves leases that expire and
`release_expired` returns those pages to `pending`. Links are added with INSERT OR
IGNORE on (job_id, url_key), so a URL is fetched at most once per job however many
spellings of it are found; a shorter path to a page not yet crawled lowers its depth.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from typing import Any

from ...records import Claim, FoundBy, NewLink, PageStatus, StrategyName
from ..claim_order import LEVEL_BARRIER, new_lease, order_by


def claim(
    conn: sqlite3.Connection,
    job_id: str,
    limit: int,
    strategy: StrategyName,
    lease_seconds: float,
    now: float,
    *,
    refresh: bool = False,
) -> list[Claim]:
    if limit <= 0:
        return []
    level = ""
    if strategy in LEVEL_BARRIER:
        level = "AND depth = (SELECT min(depth) FROM pages WHERE job_id = :job AND status IN ('pending', 'processing'))"
    rows = conn.execute(
        f"""
        UPDATE pages SET status = 'processing', lease_until = :until, lease = :token, updated_at = :now
        WHERE id IN (
            SELECT id FROM pages WHERE job_id = :job AND status = 'pending' {level}
            ORDER BY {order_by(strategy, refresh)} LIMIT :limit
        )
        RETURNING id, url, depth, retries, lease
        """,
        {"job": job_id, "limit": limit, "until": now + lease_seconds, "token": new_lease(), "now": now},
    ).fetchall()
    claims = [Claim(*row) for row in rows]
    ids = [c.page_id for c in claims]
    order = {row[0]: i for i, row in enumerate(_ordered_ids(conn, ids, order_by(strategy, refresh)))}
    return sorted(claims, key=lambda c: order.get(c.page_id, 0))


def _ordered_ids(conn: sqlite3.Connection, ids: list[int], order: str) -> list[tuple[int]]:
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    return conn.execute(f"SELECT id FROM pages WHERE id IN ({marks}) ORDER BY {order}", ids).fetchall()


def room(conn: sqlite3.Connection, job_id: str, max_pages: int) -> int:
    """How many more pages may be claimed: completed and in-flight pages count against `max_pages`."""
    row = conn.execute(
        "SELECT completed + (SELECT count(*) FROM pages WHERE job_id = :job AND status = 'processing') "
        "FROM jobs WHERE id = :job",
        {"job": job_id},
    ).fetchone()
    return max(0, max_pages - int(row[0])) if row else 0


def release_expired(conn: sqlite3.Connection, job_id: str, now: float) -> int:
    cur = conn.execute(
        "UPDATE pages SET status = 'pending', lease_until = NULL, lease = NULL "
        "WHERE job_id = ? AND status = 'processing' AND lease_until < ?",
        (job_id, now),
    )
    return cur.rowcount


def release(conn: sqlite3.Connection, job_id: str, page_ids: list[int] | None = None) -> int:
    """Return claimed pages to pending (all of the job's, or the given ones)."""
    params: list[Any]
    if page_ids is None:
        sql, params = "WHERE job_id = ? AND status = 'processing'", [job_id]
    elif not page_ids:
        return 0
    else:
        marks = ",".join("?" * len(page_ids))
        sql, params = f"WHERE job_id = ? AND status = 'processing' AND id IN ({marks})", [job_id, *page_ids]
    return conn.execute(f"UPDATE pages SET status = 'pending', lease_until = NULL, lease = NULL {sql}", params).rowcount


def add_links(
    conn: sqlite3.Connection, job_id: str, links: list[NewLink], now: float, *, max_depth: int | None = None
) -> int:
    """Insert unseen links; a shorter path to a known page lowers its depth. Returns rows added."""
    before = conn.total_changes
    conn.executemany(
        "INSERT OR IGNORE INTO pages "
        "(job_id, url, url_key, depth, discovered_from, found_by, status, reason, score, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(job_id, l.url, l.url_key, l.depth, l.discovered_from, l.found_by, l.status, l.reason, l.score, now)
         for l in links],
    )  # fmt: skip
    added = conn.total_changes - before
    wanted = {l.url_key: l.depth for l in links if l.found_by != FoundBy.ALIAS and l.reason in (None, "depth")}
    for key, depth in _deeper_than(conn, job_id, wanted).items():
        lower_depth(conn, job_id, key, depth, max_depth)
    return added


def _deeper_than(conn: sqlite3.Connection, job_id: str, wanted: dict[str, int]) -> dict[str, int]:
    """Of the given keys, those stored with a larger depth than the new one."""
    found: dict[str, int] = {}
    keys = list(wanted)
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for key, depth in conn.execute(
            f"SELECT url_key, depth FROM pages WHERE job_id = ? AND url_key IN ({marks})", [job_id, *chunk]
        ):
            if depth > wanted[key]:
                found[key] = wanted[key]
    return found


def lower_depth(conn: sqlite3.Connection, job_id: str, key: str, depth: int, max_depth: int | None) -> None:
    """Give a page its shorter depth and pass it on to what it links to, if it was crawled.

    A page skipped for depth comes back to the frontier once its depth is allowed; pages
    skipped for other reasons (out of scope, duplicates) are not pages of the crawl.
    """
    queue = deque([(key, depth)])
    while queue:
        key, depth = queue.popleft()
        row = conn.execute(
            "SELECT id, depth, status, reason FROM pages WHERE job_id = ? AND url_key = ?", (job_id, key)
        ).fetchone()
        if row is None or row[1] <= depth:
            continue
        page_id, _, status, reason = row
        if status == PageStatus.SKIPPED and reason != "depth":
            continue
        revive = status == PageStatus.SKIPPED and max_depth is not None and depth <= max_depth
        conn.execute(
            "UPDATE pages SET depth = ?, status = CASE WHEN ? THEN 'pending' ELSE status END, "
            "reason = CASE WHEN ? THEN NULL ELSE reason END WHERE id = ?",
            (depth, revive, revive, page_id),
        )
        if status == PageStatus.COMPLETED:
            children = conn.execute("SELECT to_key FROM links WHERE job_id = ? AND from_id = ?", (job_id, page_id))
            queue.extend((child, depth + 1) for (child,) in children)


def record_outlinks(conn: sqlite3.Connection, job_id: str, page_id: int, keys: list[str]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO links (job_id, from_id, to_key) VALUES (?, ?, ?)",
        [(job_id, page_id, key) for key in keys],
    )


def skip_pending(conn: sqlite3.Connection, job_id: str, reason: str) -> int:
    return conn.execute(
        "UPDATE pages SET status = 'skipped', reason = ?, lease_until = NULL WHERE job_id = ? AND status = 'pending'",
        (reason, job_id),
    ).rowcount
