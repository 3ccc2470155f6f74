from __future__ import annotations

import os
import secrets
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fixture_server import FixtureServer  # noqa: E402

# Settings for crawling the fixture sites on 127.0.0.1: answers come in milliseconds, so a
# short timeout and no retries keep a failing case fast. Files add what they test on top.
FAST: dict = {"timeout": 1.0, "retries": 0}


@pytest.fixture
def site():
    """The fixture docs site on a fresh 127.0.0.1 port, with an empty request log."""
    with FixtureServer() as server:
        yield server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "jobs.db"


@pytest.fixture(params=["sqlite", "postgres"])
def any_db(request, db_path):
    """The same test on each store backend: a SQLite file, or a fresh PostgreSQL database."""
    return request.getfixturevalue("pg_url") if request.param == "postgres" else db_path


def wait_until(predicate, timeout: float = 30.0, *, what: str = "the condition", poll: float = 0.02) -> None:
    """Poll `predicate` until it is true; fail saying what was awaited and for how long."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(poll)


def pages_by_path(db_path, job_id: str, base: str) -> dict[str, dict]:
    """A job's page rows keyed by URL with `base` taken off the front (e.g. '/docs/a.html')."""
    from docspasta.store import open_reader

    return {row["url"].removeprefix(base): row for row in open_reader(db_path).pages(job_id)}


@pytest.fixture(scope="session")
def pg_server():
    """A throwaway PostgreSQL cluster for this test process (tests/pg_server.py). Tests that
    use it run in one xdist worker (their `xdist_group`), so one cluster serves them all.
    Missing PostgreSQL skips them locally and fails them under CI=true."""
    from pg_server import PostgresServer

    try:
        server = PostgresServer().__enter__()
    except (FileNotFoundError, RuntimeError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is needed under CI=true: {exc}")
        pytest.skip(f"no PostgreSQL server to start: {exc}")
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database on the test cluster."""
    import psycopg

    name = "t_" + secrets.token_hex(6)
    with psycopg.connect(pg_server.url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return pg_server.url.rsplit("/", 1)[0] + "/" + name


def pytest_collection_modifyitems(config, items):
    """PostgreSQL tests share one worker (and so one cluster); browser tests share another
    worker rather than run two Chromiums and two dashboards at once."""
    for item in items:
        on_postgres = getattr(getattr(item, "callspec", None), "params", {}).get("any_db") == "postgres"
        if "pg_server" in getattr(item, "fixturenames", ()) or on_postgres:
            item.add_marker(pytest.mark.xdist_group("postgres"))
            item.add_marker(pytest.mark.postgres)
        elif item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group("browser"))
