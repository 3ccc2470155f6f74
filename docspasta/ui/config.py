"""Deployment settings for the dashboard, from the environment or `st.secrets`.

Local by default. Hosted (`DOCSPASTA_HOSTED=1` or `hosted = true` in secrets): every
visitor sees only their own jobs, max pages is capped and so is the number of crawls
running at once across all visitors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from ..store import resolve_db_path


@dataclass(frozen=True)
class UIConfig:
    db_path: Path
    hosted: bool
    max_pages_cap: int
    max_jobs: int


def _setting(name: str, default: str | None = None) -> str | None:
    env = os.environ.get(f"DOCSPASTA_{name.upper()}")
    if env is not None:
        return env
    try:
        value = st.secrets.get(name.lower())
    except Exception:  # no secrets file: that is the normal local case
        value = None
    return str(value) if value is not None else default


def load_config() -> UIConfig:
    hosted = (_setting("hosted", "0") or "0").lower() in ("1", "true", "yes")
    return UIConfig(
        db_path=resolve_db_path(_setting("db")),
        hosted=hosted,
        max_pages_cap=int(_setting("max_pages", "500" if hosted else "100000") or 100000),
        max_jobs=int(_setting("max_jobs", "2" if hosted else "4") or 4),
    )
