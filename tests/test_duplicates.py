"""The duplicate judgement on its own: a pure function of a page and its candidates."""

from __future__ import annotations

from docspasta.records import PageOutcome, PageStatus
from docspasta.store.duplicates import Candidates, StoredPage, judge

DONE = PageStatus.COMPLETED
SKETCH = tuple(range(0, 640, 10))  # 64 line hashes


def page(**fields) -> PageOutcome:
    base = dict(page_id=7, url="https://x.org/docs/a", status=DONE, markdown="text", content_hash="h7")
    return PageOutcome(**(base | fields))


def stored(url: str, status: PageStatus = DONE, *, id: int = 3, **fields) -> StoredPage:
    return StoredPage(id, url, status, **fields)


def test_a_page_that_is_not_completed_is_never_judged():
    failed = page(status=PageStatus.FAILED, reason="HTTP 500")
    verdict = judge(failed, Candidates(same_content=stored("https://x.org/docs/b")))
    assert verdict.outcome is failed and not verdict.remember_target and not verdict.demote


def test_a_new_page_is_kept_as_it_is():
    o = page()
    verdict = judge(o, Candidates())
    assert verdict.outcome is o and verdict.skip_target is None and verdict.demote == ()


def test_a_redirect_to_a_completed_page_is_its_duplicate_and_drops_its_text():
    o = page(final_url="https://x.org/docs/b", final_key="x.org/docs/b", block_hashes=("b1",))
    verdict = judge(o, Candidates(redirect_target=stored("https://x.org/docs/b")))
    assert verdict.outcome.status == PageStatus.SKIPPED
    assert verdict.outcome.reason == "duplicate of https://x.org/docs/b (redirect)"
    assert verdict.outcome.duplicate_of == "https://x.org/docs/b"
    assert verdict.outcome.markdown is None and verdict.outcome.block_hashes == ()


def test_a_redirect_to_an_unknown_url_is_remembered_and_to_a_pending_one_skips_it():
    o = page(final_url="https://x.org/docs/b", final_key="x.org/docs/b")
    unknown = judge(o, Candidates())
    assert unknown.outcome is o and unknown.remember_target
    pending = stored("https://x.org/docs/b", PageStatus.PENDING, id=9)
    verdict = judge(o, Candidates(redirect_target=pending))
    assert verdict.outcome is o and verdict.skip_target == pending and not verdict.remember_target


def test_a_redirect_to_its_own_row_is_no_duplicate():
    o = page(final_url="https://x.org/docs/a/", final_key="x.org/docs/a/")
    assert judge(o, Candidates(redirect_target=stored("https://x.org/docs/a", id=7))).outcome is o


def test_the_same_content_hash_makes_a_duplicate_and_keeps_what_the_redirect_learned():
    o = page(final_url="https://x.org/docs/b", final_key="x.org/docs/b")
    verdict = judge(o, Candidates(same_content=stored("https://x.org/docs/c")))
    assert verdict.outcome.reason == "duplicate of https://x.org/docs/c"
    assert verdict.remember_target  # the target is still recorded, so no link fetches it again


def test_near_duplicates_need_eighty_percent_of_their_lines():
    o = page(sketch=SKETCH)
    close = stored("https://x.org/docs/close", sketch=SKETCH[:-8] + tuple(range(1, 80, 10)))  # 56 of 64 shared
    far = stored("https://x.org/docs/far", sketch=SKETCH[:32] + tuple(range(1, 320, 10)))  # half shared
    assert judge(o, Candidates(near=[far])).outcome is o
    verdict = judge(o, Candidates(near=[far, close]))
    assert verdict.outcome.reason == "duplicate of https://x.org/docs/close (near-duplicate)"


def test_a_canonical_original_needs_half_the_text_in_common():
    o = page(canonical_key="x.org/docs/", sketch=SKETCH)
    home_unlike = stored("https://x.org/docs/", sketch=tuple(range(1, 640, 10)))
    assert judge(o, Candidates(canonical=home_unlike)).outcome is o  # every page naming the home page: kept
    home_alike = stored("https://x.org/docs/", sketch=SKETCH)
    verdict = judge(o, Candidates(canonical=home_alike))
    assert verdict.outcome.reason == "duplicate of https://x.org/docs/ (canonical)"


def test_short_pages_compare_text_blocks_when_they_have_no_sketch():
    o = page(canonical_key="x.org/docs/", block_hashes=("a", "b", "c"))
    assert judge(o, Candidates(canonical=stored("https://x.org/docs/", block_hashes=("a", "b")))).outcome.duplicate_of
    assert judge(o, Candidates(canonical=stored("https://x.org/docs/", block_hashes=("a", "x", "y")))).outcome is o


def test_pages_that_named_this_one_canonical_are_demoted_if_alike():
    o = page(sketch=SKETCH)
    alike = stored("https://x.org/docs/a?print=1", id=4, sketch=SKETCH)
    unlike = stored("https://x.org/docs/other", id=5, sketch=tuple(range(1, 640, 10)))
    verdict = judge(o, Candidates(naming_it=[alike, unlike]))
    assert verdict.outcome is o and verdict.demote == (alike,)


def test_the_rules_apply_in_order_redirect_first():
    o = page(final_url="https://x.org/docs/b", final_key="x.org/docs/b", sketch=SKETCH)
    verdict = judge(o, Candidates(redirect_target=stored("https://x.org/docs/b"),
                                  same_content=stored("https://x.org/docs/c", id=4)))  # fmt: skip
    assert verdict.outcome.reason.endswith("(redirect)")
