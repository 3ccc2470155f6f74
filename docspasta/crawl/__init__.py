"""Crawling: the engine that runs one job, and what drives it.

Holds the engine (discovery, the claim/fetch/extract/commit loop, finalizing), frontier
strategies, sitemap and scope discovery, robots.txt, crawler-trap bounds, the dashboard's
background runner, comparison runs and the event-loop lag probe.

May import: fetching, extraction, the store, and the top-level modules.

`docspasta.crawl(url, ...)` is also the API's blocking crawl: this package's module
object is callable and forwards to `docspasta.api.crawl`, so the package and the
function share the name without either breaking.
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from ..api import crawl

        return crawl(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
