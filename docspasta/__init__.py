"""docspasta: turn a documentation website into one clean, LLM-ready Markdown paste."""

from .api import JobResult, crawl, crawl_async, resume, resume_async
from .errors import (
    DocspastaError,
    ExtractionError,
    FetchError,
    InvalidSettingError,
    InvalidURLError,
    JobBusyError,
    JobNotFoundError,
    StoreError,
)
from .settings import PRESETS, CrawlSettings

__version__ = "0.1.0"

__all__ = [
    "PRESETS",
    "CrawlSettings",
    "DocspastaError",
    "ExtractionError",
    "FetchError",
    "InvalidSettingError",
    "InvalidURLError",
    "JobBusyError",
    "JobNotFoundError",
    "JobResult",
    "StoreError",
    "crawl",
    "crawl_async",
    "resume",
    "resume_async",
]
