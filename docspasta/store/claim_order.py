"""Each strategy's claim order, as SQL every backend's claim query uses (SQLite and
PostgreSQL read these clauses alike).

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


def new_lease() -> str:
    """A claim's token: the fence its commit must still hold (unique enough across workers)."""
    return secrets.token_hex(8)
