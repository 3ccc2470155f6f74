"""docspasta: turn a documentation website into one clean, LLM-ready Markdown paste.

Names are imported on first use (PEP 562), so `import docspasta` stays light and the
extraction worker processes, which import `docspasta.extraction.worker`, never load httpx,
sqlite-utils or the engine.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "JobResult": "api",
    "crawl": "api",
    "crawl_async": "api",
    "resume": "api",
    "resume_async": "api",
    "refresh": "api",
    "refresh_async": "api",
    "changes": "api",
    "ChangeReport": "exports.changes",
    "NotARefreshError": "errors",
    "RefreshRefusedError": "errors",
    "DocspastaError": "errors",
    "ExtractionError": "errors",
    "FetchError": "errors",
    "InvalidSettingError": "errors",
    "InvalidURLError": "errors",
    "JobBusyError": "errors",
    "JobNotFoundError": "errors",
    "StoreError": "errors",
    "PRESETS": "settings",
    "CrawlSettings": "settings",
}

__all__ = [
    "PRESETS",
    "ChangeReport",
    "NotARefreshError",
    "RefreshRefusedError",
    "changes",
    "refresh",
    "refresh_async",
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
assert sorted(__all__) == sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'docspasta' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:
    from .api import JobResult, changes, crawl, crawl_async, refresh, refresh_async, resume, resume_async
    from .errors import (
        DocspastaError,
        ExtractionError,
        FetchError,
        InvalidSettingError,
        InvalidURLError,
        JobBusyError,
        JobNotFoundError,
        NotARefreshError,
        RefreshRefusedError,
        StoreError,
    )
    from .exports.changes import ChangeReport
    from .settings import PRESETS, CrawlSettings
