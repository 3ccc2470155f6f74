"""How a batch of outcomes is committed, once for every backend: the lease fence, the
duplicate verdict applied, the page written, its links added at its current depth, its
event. A backend supplies `PageWrites`, the statements inside its open transaction. Also
the name a writer signs the jobs it runs with."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import Any, Protocol

from ..records import FoundBy, NewLink, PageOutcome, PageStatus
from . import duplicates
from .duplicates import Candidates, StoredPage
from .page_rows import crawlable_keys, lease_lost, links_at_depth, outcome_event
from .refresh import reused_outcome


def worker_name() -> str:
    """Who is running a job: `host:pid`, as `jobs.worker` records it."""
    return f"{socket.gethostname()}:{os.getpid()}"


class PageWrites(Protocol):
    """One backend transaction's statements for one job."""

    def held(self, page_id: int) -> Mapping[str, Any] | None:
        """The page's `status`, `lease`, `depth` and whether its lease has `expired`, as stored now."""

    def earlier(self, page_id: int) -> Mapping[str, Any] | None:
        """In a refresh: the earlier job's row for the page's URL (refresh.EARLIER_ROW's columns)."""

    def candidates(self, o: PageOutcome) -> Candidates: ...
    def add_links(self, links: list[NewLink], max_depth: int | None) -> int: ...
    def skip(self, page_id: int, reason: str) -> None: ...
    def demote(self, page: StoredPage, original: str) -> None: ...
    def write_page(self, o: PageOutcome) -> None: ...
    def record_outlinks(self, page_id: int, keys: list[str]) -> None: ...
    def event(self, type_: str, url: str | None, payload: dict[str, Any] | None) -> None: ...


def commit_outcomes(tx: PageWrites, outcomes: list[PageOutcome], max_depth: int | None) -> None:
    for outcome in outcomes:
        held = tx.held(outcome.page_id)
        if lease_lost(held, outcome):
            tx.event("page_fenced", outcome.url, {"reason": "lease lost"})
            continue
        if outcome.reuse is not None:
            outcome = reused_outcome(outcome, tx.earlier(outcome.page_id))
        outcome = _dedupe(tx, outcome)
        tx.write_page(outcome)
        if outcome.links:  # the page's depth may have been lowered while it was in flight
            links = links_at_depth(outcome, held["depth"] if held else None, max_depth)
            tx.add_links(links, max_depth)
            if outcome.status == PageStatus.COMPLETED:
                tx.record_outlinks(outcome.page_id, crawlable_keys(links))
        tx.event(*outcome_event(outcome))


def _dedupe(tx: PageWrites, o: PageOutcome) -> PageOutcome:
    """Look up the candidates, let `duplicates.judge` decide, apply its verdict."""
    if o.status != PageStatus.COMPLETED:
        return o
    candidates = tx.candidates(o)
    if o.reuse is not None:  # taken over: the earlier verdict on its content stands; a redirect is still remembered
        candidates = Candidates(redirect_target=candidates.redirect_target)
    verdict = duplicates.judge(o, candidates)
    if verdict.remember_target:
        alias = NewLink(o.final_url or "", o.final_key or "", o.depth, o.url, FoundBy.ALIAS,
                        PageStatus.SKIPPED, duplicates.reason_for_redirect(o.url))  # fmt: skip
        tx.add_links([alias], None)
    if verdict.skip_target is not None:
        tx.skip(verdict.skip_target.id, duplicates.reason_for_redirect(o.url))
    for page in verdict.demote:
        tx.demote(page, o.url)
    return verdict.outcome
