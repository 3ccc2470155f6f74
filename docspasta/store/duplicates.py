"""Is a page a duplicate of one already stored? A pure judgement every backend calls.

A backend looks up the candidates (the page stored at the redirect's target, a page with
the same content hash, pages sharing a band of the line sketch, the page named as
canonical, pages naming this one as canonical) inside its write transaction, and applies
the verdict there, so two workers can never both keep the same content. The rules live
here once, free of SQL, and are tested on their own (tests/test_duplicates.py).

    redirect   the page redirected to a URL the job already completed
    content    same content hash as a completed page
    near       at least 80% of its lines in common (estimated Jaccard of line sketches)
    canonical  it names a completed page as canonical and shares at least half its text;
               the check keeps a site whose every page names its home page as canonical
               (a common misconfiguration) from losing all but one page
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..extraction.fingerprints import jaccard
from ..records import PageOutcome, PageStatus

NEAR_DUPLICATE_JACCARD = 0.8
CANONICAL_JACCARD = 0.5  # a page naming another as canonical needs only this much text in common


@dataclass(frozen=True)
class StoredPage:
    """A candidate as the store holds it."""

    id: int
    url: str
    status: PageStatus
    sketch: tuple[int, ...] | None = None
    block_hashes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Candidates:
    redirect_target: StoredPage | None = None  # the page stored under the outcome's final URL
    same_content: StoredPage | None = None  # a completed page with the outcome's content hash
    near: Sequence[StoredPage] = ()  # completed pages sharing a band of its sketch
    canonical: StoredPage | None = None  # the completed page it names as canonical
    naming_it: Sequence[StoredPage] = ()  # completed pages that name it as their canonical


@dataclass(frozen=True)
class Verdict:
    outcome: PageOutcome  # as committed, or rewritten as a skipped duplicate
    remember_target: bool = False  # the redirect target is new: record it so no link fetches it again
    skip_target: StoredPage | None = None  # a pending or skipped target: now a duplicate of this page
    demote: tuple[StoredPage, ...] = ()  # completed pages naming this one canonical: now its duplicates


def judge(o: PageOutcome, candidates: Candidates) -> Verdict:
    if o.status != PageStatus.COMPLETED:
        return Verdict(o)
    remember, skip_target = False, None
    if o.final_key:
        target = candidates.redirect_target
        if target is None:
            remember = True
        elif target.id != o.page_id:
            if target.status == PageStatus.COMPLETED:
                return Verdict(as_duplicate(o, target.url, "redirect"))
            if target.status in (PageStatus.PENDING, PageStatus.SKIPPED):
                skip_target = target
    if candidates.same_content is not None:
        return Verdict(as_duplicate(o, candidates.same_content.url, None), remember, skip_target)
    for other in candidates.near:
        if o.sketch is not None and other.sketch and jaccard(other.sketch, o.sketch) >= NEAR_DUPLICATE_JACCARD:
            return Verdict(as_duplicate(o, other.url, "near-duplicate"), remember, skip_target)
    original = candidates.canonical
    if o.canonical_key and original is not None and similarity(original, o) >= CANONICAL_JACCARD:
        return Verdict(as_duplicate(o, original.url, "canonical"), remember, skip_target)
    demote = tuple(p for p in candidates.naming_it if similarity(p, o) >= CANONICAL_JACCARD)
    return Verdict(o, remember, skip_target, demote)


def similarity(page: StoredPage, o: PageOutcome) -> float:
    """Estimated Jaccard of two pages' lines; for short pages (no sketch), of their text blocks."""
    if page.sketch and o.sketch is not None:
        return jaccard(page.sketch, o.sketch)
    theirs, ours = set(page.block_hashes), set(o.block_hashes)
    return len(theirs & ours) / len(theirs | ours) if theirs and ours else 0.0


def as_duplicate(o: PageOutcome, original: str, kind: str | None) -> PageOutcome:
    reason = f"duplicate of {original}" + (f" ({kind})" if kind else "")
    return replace(
        o,
        status=PageStatus.SKIPPED,
        reason=reason,
        duplicate_of=original,
        markdown=None,
        html_gz=None,
        block_hashes=(),
    )


def reason_for_redirect(url: str) -> str:
    """The reason a redirect's target (remembered or skipped) records."""
    return f"duplicate of {url} (redirect)"


def reason_for_canonical(url: str) -> str:
    return f"duplicate of {url} (canonical)"
