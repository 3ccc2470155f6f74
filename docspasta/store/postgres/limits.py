"""Per-host limits that every worker of a job shares, kept in PostgreSQL.

A site must see docspasta's limits from all workers together, not once per worker:
- `host_slots` holds one row per request waiting or in flight; a request is granted a
  slot only while the host's granted rows stay under `per_host_concurrency` and the job's
  under its `concurrency` (counted under a per-job advisory lock, so two workers never
  both take the last slot), and only when no older request to that host is waiting (first
  come, first served across workers). A row is dropped when the request ends, when its
  time runs out, or when its worker's heartbeat on the job goes stale (a killed worker
  frees its slots in seconds);
- `host_pace` holds when a host's next request may start (min_delay, Crawl-delay and the
  adaptive 429/503 back-off): each request reserves its turn in one statement.

Times are the database's clock. The limits have their own small pool of async connections
on the worker's event loop: each call is a short statement or two, and must not queue
behind the writer thread's batch commits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from ...errors import StoreError, StoreUnavailableError
from .connect import CONNECT_OPTIONS, RECONNECT_FIRST_S, RECONNECT_MAX_S, configure_async_session, display_url
from .frontier import NOW, WORKER_STALE_S

log = logging.getLogger(__name__)

WAIT_TTL_S = 2.0  # a waiter keeps its place in line while it asks at least this often
HOLD_S = 5.0  # the longest a request may hold a host's turn before it is on the wire


async def _configure(conn: psycopg.AsyncConnection[Any]) -> None:
    await configure_async_session(conn)
    await conn.execute("SET lock_timeout = '5s'")  # a lock a vanished worker still holds: fail, and retry


class PostgresLimits:
    """The shared per-host state of every job this worker runs, on a small pool of async connections."""

    def __init__(
        self, url: str, worker: str, *, outage_s: float = 60.0, worker_stale_s: float = WORKER_STALE_S
    ) -> None:
        self.url = url
        self.worker = worker
        self.outage_s = outage_s  # how long the database may stay unreachable before calls give up
        self.worker_stale_s = worker_stale_s
        self._pool: AsyncConnectionPool[psycopg.AsyncConnection[dict[str, Any]]] = AsyncConnectionPool(
            make_conninfo(url, **CONNECT_OPTIONS),
            min_size=1,
            max_size=4,
            kwargs={"autocommit": True, "row_factory": dict_row},
            configure=_configure,
            check=AsyncConnectionPool.check_connection,  # a connection a server restart broke is replaced
            open=False,
            timeout=RECONNECT_MAX_S,
            name=f"docspasta-limits:{display_url(url)}",
        )

    async def start(self) -> PostgresLimits:
        await self._pool.open(wait=False)
        return self

    async def close(self) -> None:
        await self._pool.close()

    async def take_slot(self, job_id: str, host: str, token: str, *, job_cap: int, host_cap: int, ttl: float) -> bool:
        """Ask for a slot for one request to `host` under `token`; True once it is granted.
        Asking again with the same token keeps its place in line: the host's oldest waiter
        is granted first, so a worker that frees a slot cannot take it straight back while
        another worker waits. A waiter that stops asking for WAIT_TTL_S loses its place."""

        async def take(conn: psycopg.AsyncConnection[dict[str, Any]]) -> bool:
            cur = await conn.execute(
                "SELECT docspasta_take_slot(%s, %s, %s, %s, %s, %s, %s, %s, %s) AS granted",
                (job_id, host, token, self.worker, job_cap, host_cap, ttl, WAIT_TTL_S, self.worker_stale_s),
            )
            row = await cur.fetchone()
            return bool(row and row["granted"])

        return bool(await self._run(take))

    async def give_slot(self, token: str) -> None:
        """The request ended (or stopped waiting): its slot, or its place in line, goes."""

        async def give(conn: psycopg.AsyncConnection[dict[str, Any]]) -> None:
            await conn.execute("DELETE FROM host_slots WHERE token = %s", (token,))

        await self._run(give)

    async def turn(self, job_id: str, host: str, floor: float, token: str) -> tuple[bool, float, float, float]:
        """Take the host's turn if it is due and nobody holds it: (taken, seconds to wait
        otherwise, the host's interval, its floor). While the host has an interval, the
        turn is held until `release_turn` (the request is on the wire): the next turn is
        counted from then, on the database's clock, so a worker slow to send delays the
        next request instead of bunching it up with its own."""

        async def take(conn: psycopg.AsyncConnection[dict[str, Any]]) -> tuple[bool, float, float, float]:
            due = f"(p.next_at <= {NOW} AND (p.held_by IS NULL OR p.held_until < {NOW}))"
            interval = "greatest(p.delay, excluded.floor)"
            cur = await conn.execute(
                f"""
                INSERT INTO host_pace AS p (job_id, host, floor, delay, next_at, taker, held_by, held_until)
                VALUES (%(job)s, %(host)s, %(floor)s, %(floor)s, {NOW} + %(floor)s, %(token)s,
                        CASE WHEN %(floor)s > 0 THEN %(token)s END, {NOW} + %(hold)s)
                ON CONFLICT (job_id, host) DO UPDATE SET
                    floor = greatest(p.floor, excluded.floor),
                    delay = {interval},
                    next_at = CASE WHEN {due} THEN {NOW} + {interval} ELSE p.next_at END,
                    taker = CASE WHEN {due} THEN excluded.taker ELSE p.taker END,
                    held_by = CASE WHEN {due} THEN (CASE WHEN {interval} > 0 THEN excluded.taker END)
                                   ELSE p.held_by END,
                    held_until = CASE WHEN {due} THEN excluded.held_until ELSE p.held_until END
                RETURNING taker = %(token)s AS taken, delay, floor,
                    CASE WHEN held_by IS NOT NULL AND held_until > {NOW} THEN greatest(next_at - {NOW}, delay)
                         ELSE greatest(0, next_at - {NOW}) END AS wait
                """,
                {"job": job_id, "host": host, "floor": floor, "token": token, "hold": HOLD_S},
            )
            row = await cur.fetchone()
            assert row is not None
            return bool(row["taken"]), row["wait"], row["delay"], row["floor"]

        return await self._run(take)

    async def release_turn(self, job_id: str, host: str, token: str) -> None:
        """The request that holds the host's turn is on the wire (or will never be): the next
        turn comes one interval from now."""

        async def release(conn: psycopg.AsyncConnection[dict[str, Any]]) -> None:
            await conn.execute(
                f"UPDATE host_pace SET next_at = greatest(next_at, {NOW} + delay), held_by = NULL "
                "WHERE job_id = %s AND host = %s AND held_by = %s",
                (job_id, host, token),
            )

        await self._run(release)

    async def back_off(self, job_id: str, host: str, delay: float, wait: float) -> None:
        """Set the host's interval to `delay`, and let no request start for `wait` seconds."""

        async def back_off(conn: psycopg.AsyncConnection[dict[str, Any]]) -> None:
            await conn.execute(
                f"UPDATE host_pace SET delay = greatest(delay, %(delay)s), "
                f"next_at = greatest(next_at, {NOW} + %(wait)s) WHERE job_id = %(job)s AND host = %(host)s",
                {"job": job_id, "host": host, "delay": delay, "wait": wait},
            )

        await self._run(back_off)

    async def relax(self, job_id: str, host: str, delay: float) -> None:
        """Let the host's interval decay to `delay` (never below its floor)."""

        async def relax(conn: psycopg.AsyncConnection[dict[str, Any]]) -> None:
            await conn.execute(
                "UPDATE host_pace SET delay = greatest(floor, least(delay, %s)) WHERE job_id = %s AND host = %s",
                (delay, job_id, host),
            )

        await self._run(relax)

    async def _run(self, call: Any) -> Any:
        """Run `call(conn)`; a lost connection is re-opened with back-off for up to `outage_s`."""
        started, wait = time.monotonic(), RECONNECT_FIRST_S
        while True:
            try:
                async with self._pool.connection() as conn:
                    return await call(conn)
            except (psycopg.OperationalError, PoolTimeout) as exc:
                if time.monotonic() - started > self.outage_s:
                    raise StoreUnavailableError(
                        f"the database at {display_url(self.url)} has been unreachable for over "
                        f"{self.outage_s:g} s: {exc}"
                    ) from exc
                log.warning("the database at %s is unreachable (%s); retrying in %.2f s",
                            display_url(self.url), exc, wait)  # fmt: skip
                await asyncio.sleep(wait)
                wait = min(RECONNECT_MAX_S, wait * 2)
            except psycopg.Error as exc:
                raise StoreError(f"the database at {display_url(self.url)} failed: {exc}") from exc
