from __future__ import annotations

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
