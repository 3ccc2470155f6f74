"""The order a site's own navigation reads in, for the paste and every export.

Documentation generators chain their pages: Sphinx (every theme), MkDocs, Material,
Docusaurus and VitePress put a "next page" link on each page that walks the book in its
table-of-contents order. Following those chains from the start page reads the site the
way its authors arranged it; URL paths sort the C API before the tutorial.

A page that was not crawled (a 404, the budget) breaks its chain; the page after it names
it as its "previous page", so the two ends are joined over the gap. A page that only names
its previous page joins the chain that way too.

The order: the chain holding the start page (from the chain's head), then the other
chains, longest first (the book before stray two-page runs), then the pages no chain
reaches, in discovery order. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..urls import dedup_key


@dataclass(frozen=True)
class OrderItem:
    """One completed page: `id` is its discovery order, `next_url`/`prev_url` its pager links."""

    id: int
    url: str
    final_url: str | None = None
    next_url: str | None = None
    prev_url: str | None = None


def reading_order(items: Iterable[OrderItem], start_url: str) -> list[int]:
    """Page ids in reading order."""
    pages = sorted(items, key=lambda p: p.id)
    by_key: dict[str, int] = {}
    for page in pages:
        for url in (page.url, page.final_url):
            if url:
                by_key.setdefault(dedup_key(url), page.id)
    successor: dict[int, int] = {}
    has_predecessor: set[int] = set()

    def link(page_id: int, target: int | None) -> None:
        if target is not None and target != page_id and page_id not in successor and target not in has_predecessor:
            successor[page_id] = target
            has_predecessor.add(target)

    for page in pages:  # the first page (in discovery order) to name a page as its next wins
        link(page.id, by_key.get(dedup_key(page.next_url)) if page.next_url else None)
    # over a gap: A's next is missing and B names that same missing page as its previous
    after_missing = {dedup_key(p.prev_url): p.id for p in pages if p.prev_url and dedup_key(p.prev_url) not in by_key}
    for page in pages:
        if page.next_url and page.id not in successor:
            link(page.id, after_missing.get(dedup_key(page.next_url)))
    for page in pages:  # pages that name only their previous page
        if page.prev_url and page.id not in has_predecessor:
            previous = by_key.get(dedup_key(page.prev_url))
            if previous is not None and not _reaches(successor, page.id, previous):
                link(previous, page.id)
    chains = _chains([p.id for p in pages], successor, has_predecessor)
    start = by_key.get(dedup_key(start_url))
    first = [c for c in chains if start in c]
    linked = sorted((c for c in chains if len(c) > 1 and start not in c), key=lambda c: (-len(c), c[0]))
    alone = [c for c in chains if len(c) == 1 and start not in c]
    return [page_id for chain in (*first, *linked, *alone) for page_id in chain]


def _reaches(successor: dict[int, int], start: int, target: int) -> bool:
    """Does the chain from `start` reach `target`? (Joining them would close a loop.)"""
    seen = set()
    page: int | None = start
    while page is not None and page not in seen:
        if page == target:
            return True
        seen.add(page)
        page = successor.get(page)
    return False


def _chains(ids: list[int], successor: dict[int, int], has_predecessor: set[int]) -> list[list[int]]:
    """Each chain from its head; a cycle with no head starts at its first-discovered page."""
    seen: set[int] = set()
    chains = []
    heads = [i for i in ids if i not in has_predecessor]
    for head in heads + [i for i in ids if i in has_predecessor]:  # cycles last, each once
        if head in seen:
            continue
        chain = []
        page: int | None = head
        while page is not None and page not in seen:
            seen.add(page)
            chain.append(page)
            page = successor.get(page)
        chains.append(chain)
    return chains
