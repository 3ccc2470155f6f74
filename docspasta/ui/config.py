"""Deployment settings for the dashboard, from the environment or `st.secrets`.

Local by default. Hosted (`DOCSPASTA_HOSTED=1` or `hosted = true` in secrets): every
visitor sees only their own jobs, max pages is capped and so is the number of crawls
running at once across all visitors, and the address guard cannot be opened: a visitor
can never make the server fetch a private or loopback address.

Hosted dashboards do not render JavaScript pages (Chromium wants several hundred MB; a
Community Cloud container has 1 GB) unless `DOCSPASTA_RENDER=1` (or `render = true` in
secrets) says this one may; locally the render setting defaults to auto.

Local: `DOCSPASTA_ALLOW_PRIVATE=1` ticks "Allow private/local addresses" by default, for
crawling docs served on your own machine or network.

`run_crawls` (`DOCSPASTA_RUN_CRAWLS`): whether the app runs crawls itself. On by default
with SQLite; off with a PostgreSQL store, where `docspasta worker` processes run them and
the app only submits jobs and reads progress.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import streamlit as st

from ..store import StoreReader, is_postgres, open_reader, resolve


@dataclass(frozen=True)
class UIConfig:
    db: str  # the store, as --db takes it (resolved)
    hosted: bool
    max_pages_cap: int
    max_jobs: int
    allow_private_default: bool = False  # never true when hosted
    run_crawls: bool = True  # false: jobs wait for `docspasta worker` processes
    render_allowed: bool = True  # false (hosted, by default): crawls never start a browser

    @property
    def store(self) -> StoreReader:
        """A reader of the store (cheap: it connects per read)."""
        return open_reader(self.db)


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
    hosted = _truthy(_setting("hosted", "0"))
    db = resolve(_setting("db"))
    return UIConfig(
        db=db,
        hosted=hosted,
        max_pages_cap=int(_setting("max_pages", "500" if hosted else "100000") or 100000),
        max_jobs=int(_setting("max_jobs", "2" if hosted else "4") or 4),
        allow_private_default=not hosted and _truthy(os.environ.get("DOCSPASTA_ALLOW_PRIVATE")),
        run_crawls=_truthy(_setting("run_crawls", "0" if is_postgres(db) else "1")),
        render_allowed=not hosted or _truthy(_setting("render", "0")),
    )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes")
