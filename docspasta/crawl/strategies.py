"""How the frontier is ordered, and the URL scorer best-first uses.

A strategy is a name (records.StrategyName) the store turns into its claim query: the
order over pending pages and whether claims wait for shallower pages to finish first
(store/claim_order.py). This module holds what the crawl needs: the descriptions and the
URL scorer. BFS claims level by level (no page at depth d+1 while one at depth d is
pending or in flight), so depth is exact as soon as a page is claimed. The other
strategies dive ahead; their depths are
made exact afterwards: each crawled page's outlinks are stored, and a shorter path found
later lowers the depths below it (frontier.add_links), reviving pages skipped for depth.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from ..records import StrategyName

STRATEGIES: dict[StrategyName, str] = {
    StrategyName.BFS: "Breadth-first: the start page, then everything it links to, then the next level.",
    StrategyName.DFS: "Depth-first: follow the newest, deepest links first.",
    StrategyName.SITEMAP_FIRST: "Sitemap-first: the sitemap's URLs in its priority order, then links.",
    StrategyName.BEST_FIRST: "Best-first: the most documentation-like URLs first (path keywords, depth, anchor text).",
}

DOC_WORDS = ("docs", "doc", "guide", "guides", "reference", "api", "tutorial", "tutorials", "getting-started",
             "quickstart", "howto", "manual", "library", "concepts", "usage", "install", "overview")  # fmt: skip
NOISE_WORDS = ("blog", "news", "changelog", "changes", "release-notes", "releases", "legal", "privacy", "terms",
               "search", "tag", "tags", "author", "authors", "archive", "genindex", "login", "signup")  # fmt: skip
_WORD = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def score_url(url: str, anchor: str = "") -> float:
    """How likely a URL is to be useful documentation (higher first in best-first)."""
    path = unquote(urlsplit(url).path).lower()
    words = set(_WORD.findall(path))
    segments = [s for s in path.split("/") if s]
    score = 10.0 - 1.5 * max(0, len(segments) - 1)
    score += 4.0 * len(words & set(DOC_WORDS))
    score -= 8.0 * len(words & set(NOISE_WORDS))
    text = anchor.lower()
    if any(w in text for w in ("guide", "tutorial", "reference", "api", "getting started", "introduction")):
        score += 3.0
    if any(w in text for w in ("blog", "changelog", "release notes", "privacy", "terms", "log in", "sign up")):
        score -= 5.0
    if urlsplit(url).query:
        score -= 3.0
    return round(score, 2)
