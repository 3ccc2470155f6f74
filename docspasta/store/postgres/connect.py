"""Connections to PostgreSQL: the writer's own, and a small pool per database for readers.

A URL is what `--db` takes (`postgresql://user:password@host:port/dbname`); it is shown
with its password masked wherever docspasta prints it.
"""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from ...errors import StoreError
from ..location import display as display_url

CONNECT_TIMEOUT_S = 10
RECONNECT_FIRST_S, RECONNECT_MAX_S = 0.25, 5.0  # back-off between attempts to reach a lost database
# a server that vanishes (a partition, a pulled cable) is noticed in about 10 s, not at the
# kernel's TCP timeout many minutes later: keepalives probe an idle connection, and
# tcp_user_timeout fails a write the server never acknowledges
CONNECT_OPTIONS: dict[str, Any] = {
    "connect_timeout": CONNECT_TIMEOUT_S,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}
_pools: dict[str, ConnectionPool[psycopg.Connection[dict[str, Any]]]] = {}
_pools_lock = threading.Lock()


# ...and the server notices a client that vanished: otherwise a worker cut off mid-transaction
# keeps its locks (the job's row, its slot lock) until the server's TCP gives up, hours later,
# and every other worker of the job waits on them
SESSION_SETTINGS = (
    "SET idle_in_transaction_session_timeout = '20s'",
    "SET tcp_keepalives_idle = 5",
    "SET tcp_keepalives_interval = 2",
    "SET tcp_keepalives_count = 3",
)


def connect(url: str) -> psycopg.Connection[dict[str, Any]]:
    """The writer's connection: autocommit outside explicit transactions, rows as dicts."""
    try:
        conn = psycopg.connect(url, autocommit=True, row_factory=dict_row, **CONNECT_OPTIONS)
        configure_session(conn)
        return conn
    except psycopg.Error as exc:
        raise StoreError(f"cannot connect to the database at {display_url(url)}: {_first_line(exc)}") from exc


def configure_session(conn: psycopg.Connection[Any]) -> None:
    for statement in SESSION_SETTINGS:
        conn.execute(statement)


async def configure_async_session(conn: psycopg.AsyncConnection[Any]) -> None:
    for statement in SESSION_SETTINGS:
        await conn.execute(statement)


def reader_pool(url: str) -> ConnectionPool[psycopg.Connection[dict[str, Any]]]:
    """One small pool of read-only connections per database, shared by every reader of it."""
    with _pools_lock:
        pool = _pools.get(url)
        if pool is None:
            connect(url).close()  # an unreachable server fails now, not after the pool's 30 s of retries
            pool = ConnectionPool(
                make_conninfo(url, **CONNECT_OPTIONS),
                min_size=0,
                max_size=4,
                kwargs={"autocommit": True, "row_factory": dict_row},
                configure=_read_only,
                check=ConnectionPool.check_connection,  # a connection a server restart broke is replaced
                open=True,
                timeout=CONNECT_TIMEOUT_S,
                name=f"docspasta-readers:{display_url(url)}",
            )
            _pools[url] = pool
        return pool


def _read_only(conn: psycopg.Connection[Any]) -> None:
    """Every statement on a reader's connection is read-only (a reader can change nothing)."""
    conn.execute("SET default_transaction_read_only = on")


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
