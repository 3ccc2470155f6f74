"""How the frontier is ordered.

A strategy is data the frontier turns into its claim query: the ORDER BY over pending
pages and whether claims wait for shallower pages to finish first. The level barrier
is what makes BFS depth exact while batches are pipelined: no page at depth d+1 is
claimed while a page at depth d is still pending or in flight, so by the time a page
is claimed every shorter path to it has been seen.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Strategy:
    name: str
    order_by: str  # SQL over columns of `pages`; a fixed string from this module, never user input
    level_barrier: bool
    description: str


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy(
            "bfs",
            "depth, id",
            True,
            "Breadth-first: the start page, then everything it links to, then the next level.",
        ),
    )
}


def get_strategy(name: str) -> Strategy:
    return STRATEGIES[name]
