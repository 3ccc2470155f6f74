"""Lint and format are part of the test command, so CI enforces them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")


@pytest.mark.skipif(RUFF is None, reason="ruff is not installed (pip install -e '.[test]')")
@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff(command):
    targets = [p for p in ("docspasta", "tests", "app.py", "pages", "bench") if (ROOT / p).exists()]
    proc = subprocess.run([RUFF, *command, *targets], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_types():
    """mypy over the package: type hints on public functions are checked, not decoration."""
    mypy = pytest.importorskip("mypy", reason="mypy is not installed (pip install -e '.[test]')")
    assert mypy is not None
    proc = subprocess.run([sys.executable, "-m", "mypy", "docspasta"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
