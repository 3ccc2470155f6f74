"""Crawler traps: URL spaces that never end, bounded before they are fetched.

A calendar links to next month forever, a relative link (`a/`) on a page that answers
every path grows the path forever, a session id makes every visit a new URL. Depth
and max_pages bound these in the end, but a trap should not eat the budget: these
checks run on every discovered link and record what they cut as a skip reason.

Session ids are stripped by urls.normalize, so those URLs collapse into one.
"""

from __future__ import annotations

import threading
from collections import Counter
from urllib.parse import urlsplit

MAX_PATH_SEGMENTS = 24
MAX_SEGMENT_REPEATS = 3  # a segment this many times in one path is a loop (/a/b/a/b/a/)
MAX_QUERY_VARIANTS = 50  # distinct query strings followed for one path


def path_trap(url: str) -> str | None:
    """The reason a URL's path looks like a trap, or None. Pure: judged on the URL alone."""
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) > MAX_PATH_SEGMENTS:
        return f"trap: path deeper than {MAX_PATH_SEGMENTS} segments"
    counts = Counter(segments)
    repeated = [s for s, n in counts.items() if n >= MAX_SEGMENT_REPEATS]
    if repeated:
        return f"trap: path repeats segment {repeated[0][:40]!r} {counts[repeated[0]]} times"
    return None


class QueryVariants:
    """Per job: how many distinct query strings each path has been given; past the cap, a new one is a trap.

    Held in memory for a run; a resumed job starts counting again, so the cap bounds each run.
    The engine judges a big page's links off the loop, so the count is taken under a lock."""

    def __init__(self, cap: int = MAX_QUERY_VARIANTS) -> None:
        self.cap = cap
        self._seen: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def reason(self, url: str) -> str | None:
        base, sep, query = url.partition("?")
        if not sep:
            return None
        with self._lock:
            seen = self._seen.setdefault(base, set())
            if query in seen:
                return None
            if len(seen) >= self.cap:
                return f"trap: more than {self.cap} query variants of {urlsplit(base).path[:80]}"
            seen.add(query)
        return None
