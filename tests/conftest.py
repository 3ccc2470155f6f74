from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fixture_server import FixtureServer  # noqa: E402


@pytest.fixture
def site():
    """The fixture docs site on a fresh 127.0.0.1 port, with an empty request log."""
    with FixtureServer() as server:
        yield server


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "jobs.db"
