"""The names every package shares: statuses, steps, strategies, page kinds.

Each is a StrEnum whose values are the strings stored in the `jobs` and `pages` tables
and printed by `--json`: other tools read them, so the values never change. Members
compare equal to their strings (`JobStatus.COMPLETED == "completed"`).
"""

from __future__ import annotations

from enum import StrEnum


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


ACTIVE_JOB_STATUSES = (JobStatus.PENDING, JobStatus.RUNNING)


class JobStep(StrEnum):
    DISCOVERY = "discovery"
    CRAWLING = "crawling"
    FINALIZING = "finalizing"
    DONE = "done"


class PageStatus(StrEnum):
    PENDING = "pending"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"
    SKIPPED = "skipped"


class StrategyName(StrEnum):
    """How the frontier is ordered; the store turns each into its claim query."""

    BFS = "bfs"
    DFS = "dfs"
    SITEMAP_FIRST = "sitemap-first"
    BEST_FIRST = "best-first"


class ProcessingMode(StrEnum):
    BATCHED = "batched"
    PER_URL = "per-url"


class PageKind(StrEnum):
    """What a generated page is (extraction/generated.py)."""

    INDEX = "index"  # general index, per-letter index, module index
    SEARCH = "search"
    SOURCE = "source"  # highlighted source listing (Sphinx viewcode, rustdoc src, Javadoc src-html)
    PRINT = "print"  # the whole book on one page
