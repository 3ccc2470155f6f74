"""Each strategy's claim order, as SQL every backend's claim query uses (SQLite and
PostgreSQL read these clauses alike).

In a refresh, a page a sitemap dates after the earlier crawl scores higher, and BFS and DFS
take score into account within a level (`order_by`), so the news is checked first.

BFS also claims level by level (`LEVEL_BARRIER`: no page at depth d+1 while one at
depth d is pending or in flight), so depth is exact at claim time.
"""

from __future__ import annotations

import secrets

from ..records import StrategyName

ORDER_BY: dict[StrategyName, str] = {
    StrategyName.BFS: "depth, id",
    StrategyName.DFS: "depth DESC, id DESC",
    StrategyName.SITEMAP_FIRST: "CASE WHEN found_by = 'sitemap' THEN 0 ELSE 1 END, score DESC, depth, id",
    StrategyName.BEST_FIRST: "score DESC, depth, id",
}
LEVEL_BARRIER = frozenset({StrategyName.BFS})

# a refresh checks first, within a level, what the sitemaps say changed since the earlier crawl
_REFRESH_ORDER_BY: dict[StrategyName, str] = {
    StrategyName.BFS: "depth, score DESC, id",
    StrategyName.DFS: "depth DESC, score DESC, id DESC",
}


def order_by(strategy: StrategyName, refresh: bool = False) -> str:
    """The claim's ORDER BY: the strategy's, and in a refresh the sitemap's news first."""
    return _REFRESH_ORDER_BY.get(strategy, ORDER_BY[strategy]) if refresh else ORDER_BY[strategy]


def new_lease() -> str:
    """A claim's token: the fence its commit must still hold (unique enough across workers)."""
    return secrets.token_hex(8)
