"""The frontier in PostgreSQL: pending pages claimed with `FOR UPDATE SKIP LOCKED` under a
lease measured on the database's clock, so any number of workers on any machines can
claim from one job without handing a page out twice or trusting a worker's clock.

Every function runs inside the caller's transaction, which has already locked the job's
row (`lock_job`): page counters live on that row, so taking it first keeps two writers of
one job from deadlocking over a link one inserts while the other waits for the row.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import psycopg

from ...records import Claim, FoundBy, NewLink, PageStatus, StrategyName
from ..claim_order import LEVEL_BARRIER, new_lease, order_by

NOW = "extract(epoch FROM clock_timestamp())::double precision"  # the database's clock, in epoch seconds
Conn = psycopg.Connection[dict[str, Any]]  # rows as dicts
WORKER_STALE_S = 15.0  # a worker silent this long on a job is gone: its pages and slots may be handed out again


def lock_job(conn: Conn, job_id: str) -> bool:
    """Lock the job's row for this transaction; False if there is no such job."""
    return conn.execute("SELECT 1 FROM jobs WHERE id = %s FOR UPDATE", (job_id,)).fetchone() is not None


def claim(
    conn: Conn,
    job_id: str,
    limit: int,
    strategy: StrategyName,
    lease_seconds: float,
    worker: str,
    *,
    refresh: bool = False,
) -> list[Claim]:
    if limit <= 0:
        return []
    level = ""
    if strategy in LEVEL_BARRIER:
        level = (
            "AND depth = (SELECT min(depth) FROM pages WHERE job_id = %(job)s AND status IN ('pending', 'processing'))"
        )
    order = order_by(strategy, refresh)
    rows = conn.execute(
        f"""
        WITH picked AS (
            SELECT id FROM pages WHERE job_id = %(job)s AND status = 'pending' {level}
            ORDER BY {order} LIMIT %(limit)s FOR UPDATE SKIP LOCKED
        ), claimed AS (
            UPDATE pages p SET status = 'processing', lease_until = {NOW} + %(seconds)s, lease = %(token)s,
                worker = %(worker)s, updated_at = {NOW}
            FROM picked WHERE p.id = picked.id
            RETURNING p.id, p.url, p.depth, p.retries, p.lease, p.score, p.found_by
        )
        SELECT id, url, depth, retries, lease FROM claimed ORDER BY {order}
        """,
        {"job": job_id, "limit": limit, "seconds": lease_seconds, "token": new_lease(), "worker": worker},
    ).fetchall()
    return [Claim(r["id"], r["url"], r["depth"], r["retries"], r["lease"]) for r in rows]


def room(conn: Conn, job_id: str, max_pages: int) -> int:
    """How many more pages may be claimed: completed and in-flight pages of every worker
    count against `max_pages`, so the budget is exact however many workers claim."""
    row = conn.execute(
        "SELECT completed + (SELECT count(*) FROM pages WHERE job_id = %(job)s AND status = 'processing') AS used "
        "FROM jobs WHERE id = %(job)s",
        {"job": job_id},
    ).fetchone()
    return max(0, max_pages - int(row["used"])) if row else 0


def release_leases(conn: Conn, job_id: str, leases: list[str]) -> int:
    """Return the pages held under these claims to pending."""
    if not leases:
        return 0
    return conn.execute(
        "UPDATE pages SET status = 'pending', lease_until = NULL, lease = NULL "
        "WHERE job_id = %s AND status = 'processing' AND lease = ANY(%s)",
        (job_id, leases),
    ).rowcount


def release_expired(conn: Conn, job_id: str, worker_stale_s: float) -> int:
    """Pages whose lease ran out, or whose worker has gone silent on the job (a killed
    machine's pages come back in seconds, not a whole lease), return to pending."""
    return conn.execute(
        f"""
        UPDATE pages p SET status = 'pending', lease_until = NULL, lease = NULL
        WHERE p.job_id = %(job)s AND p.status = 'processing' AND (p.lease_until < {NOW} OR (
            p.worker IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM job_workers w WHERE w.job_id = p.job_id AND w.worker = p.worker
                AND w.heartbeat_at > {NOW} - %(stale)s)))
        """,
        {"job": job_id, "stale": worker_stale_s},
    ).rowcount


def release(conn: Conn, job_id: str, page_ids: list[int] | None = None) -> int:
    """Return claimed pages to pending (all of the job's, or the given ones)."""
    if page_ids is not None and not page_ids:
        return 0
    sql = (
        "UPDATE pages SET status = 'pending', lease_until = NULL, lease = NULL "
        "WHERE job_id = %s AND status = 'processing'"
    )
    params: list[Any] = [job_id]
    if page_ids is not None:
        sql += " AND id = ANY(%s)"
        params.append(page_ids)
    return conn.execute(sql, params).rowcount


def add_links(conn: Conn, job_id: str, links: list[NewLink], *, max_depth: int | None = None) -> int:
    """Insert unseen links, in the order given; a shorter path to a known page lowers its depth.
    Returns rows added."""
    if not links:
        return 0
    columns = list(zip(*((l.url, l.url_key, l.depth, l.discovered_from, l.found_by, l.status, l.reason, l.score)
                         for l in links), strict=True))  # fmt: skip
    wanted = [l.found_by != FoundBy.ALIAS and l.reason in (None, "depth") for l in links]
    row = conn.execute(
        f"""
        WITH u AS (
            SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::text[], %s::text[], %s::text[], %s::text[],
                                 %s::float8[], %s::bool[]) WITH ORDINALITY
                AS u(url, url_key, depth, discovered_from, found_by, status, reason, score, wanted, n)
        ), added AS (
            INSERT INTO pages (job_id, url, url_key, depth, discovered_from, found_by, status, reason, score,
                               updated_at)
            SELECT %s, u.url, u.url_key, u.depth, u.discovered_from, u.found_by, u.status, u.reason, u.score, {NOW}
            FROM u ORDER BY u.n
            ON CONFLICT (job_id, url_key) DO NOTHING
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM added) AS added,
               (SELECT coalesce(json_agg(json_build_array(p.url_key, u.depth) ORDER BY u.n), '[]')
                FROM pages p JOIN u ON p.url_key = u.url_key
                WHERE p.job_id = %s AND u.wanted AND p.depth > u.depth) AS deeper
        """,
        [*(list(c) for c in columns), wanted, job_id, job_id],
    ).fetchone()  # one round trip: the rows added, and the known pages these links reach by a shorter path
    assert row is not None
    for key, depth in row["deeper"]:
        lower_depth(conn, job_id, key, depth, max_depth)
    return int(row["added"])


def lower_depth(conn: Conn, job_id: str, key: str, depth: int, max_depth: int | None) -> None:
    """Give a page its shorter depth and pass it on to what it links to, if it was crawled.

    A page skipped for depth comes back to the frontier once its depth is allowed; pages
    skipped for other reasons (out of scope, duplicates) are not pages of the crawl.
    """
    queue = deque([(key, depth)])
    while queue:
        key, depth = queue.popleft()
        row = conn.execute(
            "SELECT id, depth, status, reason FROM pages WHERE job_id = %s AND url_key = %s", (job_id, key)
        ).fetchone()
        if row is None or row["depth"] <= depth:
            continue
        if row["status"] == PageStatus.SKIPPED and row["reason"] != "depth":
            continue
        revive = row["status"] == PageStatus.SKIPPED and max_depth is not None and depth <= max_depth
        conn.execute(
            "UPDATE pages SET depth = %s, status = CASE WHEN %s THEN 'pending' ELSE status END, "
            "reason = CASE WHEN %s THEN NULL ELSE reason END WHERE id = %s",
            (depth, revive, revive, row["id"]),
        )
        if row["status"] == PageStatus.COMPLETED:
            children = conn.execute(
                "SELECT to_key FROM links WHERE job_id = %s AND from_id = %s", (job_id, row["id"])
            ).fetchall()
            queue.extend((child["to_key"], depth + 1) for child in children)


def record_outlinks(conn: Conn, job_id: str, page_id: int, keys: list[str]) -> None:
    if keys:
        conn.execute(
            "INSERT INTO links (job_id, from_id, to_key) SELECT %s, %s, k FROM unnest(%s::text[]) AS k "
            "ON CONFLICT DO NOTHING",
            (job_id, page_id, keys),
        )


def skip_pending(conn: Conn, job_id: str, reason: str) -> int:
    return conn.execute(
        "UPDATE pages SET status = 'skipped', reason = %s, lease_until = NULL WHERE job_id = %s AND status = 'pending'",
        (reason, job_id),
    ).rowcount
