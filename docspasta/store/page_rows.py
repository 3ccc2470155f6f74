"""Between records and rows, for every backend: how a page's outcome becomes stored
columns, and stored rows become the records readers hand out (jobs, page contents,
page details, reading positions). The backends then differ only in their SQL.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..records import (
    Control,
    Finalize,
    JobRecord,
    JobStatus,
    JobStep,
    NewLink,
    PageContent,
    PageDetail,
    PageOutcome,
    PageStatus,
    RunBy,
)
from ..settings import CrawlSettings
from .duplicates import StoredPage
from .reading_order import OrderItem, reading_order

# the page columns a table shows (no Markdown or HTML), the same in every backend
PAGE_COLUMNS = (
    "id, url, final_url, depth, discovered_from, found_by, status, reason, retries, http_status, "
    "content_type, fetch_ms, extract_ms, bytes, title, quality, quality_reasons, content_hash, words, seq, "
    "tokens, extractor, fidelity, duplicate_of, position, page_kind, worker, reuse, etag, last_modified, source, "
    "source_note"
)
CONTENT_COLUMNS = (
    "id, url, title, depth, quality, quality_reasons, seq, words, tokens, extractor, fidelity, block_hashes, "
    "content_hash, source"
)
DETAIL_COLUMNS = (
    "url, title, status, reason, quality, quality_reasons, markdown, fidelity, extractor, source, source_note"
)
ORDER_COLUMNS = "id, url, final_url, next_url, prev_url, position"


def page_columns(o: PageOutcome) -> dict[str, Any]:
    """The `pages` columns a committed outcome sets (besides `updated_at` and the lease,
    which each backend sets from its clock). Text a page no longer holds (a duplicate's)
    is cleared, so only completed pages carry fingerprints."""
    completed = o.status == PageStatus.COMPLETED
    sketch = o.sketch if completed else None
    return {
        "status": o.status,
        "reason": o.reason,
        "final_url": o.final_url,
        "http_status": o.http_status,
        "content_type": o.content_type,
        "fetch_ms": o.fetch_ms,
        "extract_ms": o.extract_ms,
        "bytes": o.bytes,
        "title": o.title,
        "quality": o.quality,
        "quality_reasons": json.dumps(list(o.quality_reasons)) if o.quality_reasons else None,
        "content_hash": o.content_hash if completed else None,
        "words": o.words,
        "retries": o.retries,
        "markdown": o.markdown,
        "html_gz": o.html_gz,
        "extractor": o.extractor,
        "tokens": o.tokens,
        "sketch": json.dumps(sketch) if sketch is not None else None,
        **dict(zip(("band0", "band1", "band2", "band3"), bands(sketch), strict=True)),
        "block_hashes": json.dumps(list(o.block_hashes)) if o.block_hashes else None,
        "fidelity": json.dumps(o.fidelity) if o.fidelity else None,
        "duplicate_of": o.duplicate_of,
        "canonical_key": o.canonical_key,
        "next_url": o.next_url,
        "prev_url": o.prev_url,
        "page_kind": o.page_kind,
        "etag": o.etag,
        "last_modified": o.last_modified,
        "body_hash": o.body_hash,
        "outlinks": o.outlinks,
        "reuse": o.reuse,
        "source": o.source if completed else None,
        "source_note": o.source_note,
        "markdown_hash": markdown_hash(o.markdown) if o.markdown is not None else None,
    }


def markdown_hash(markdown: str) -> str:
    """What a change report compares: a page changed when its Markdown did."""
    return hashlib.blake2b(markdown.encode(), digest_size=16).hexdigest()


def lease_lost(stored: Mapping[str, Any] | None, o: PageOutcome) -> bool:
    """Whether an outcome comes under a lease its page no longer holds: the page was claimed
    again or released (storing it would overwrite newer work), or the lease ran out (its
    worker went unheard past it, so others may be about to redo the page). `stored` holds
    the page's `status`, `lease` and whether the lease has `expired`. An outcome without a
    lease is not fenced."""
    if o.lease is None:
        return False
    if stored is None or stored["status"] != PageStatus.PROCESSING or stored["lease"] != o.lease:
        return True
    return bool(stored["expired"])


def bands(sketch: tuple[int, ...] | None) -> tuple[int | None, ...]:
    """A page's four smallest line hashes: two pages sharing most lines share one of them."""
    head = sketch[:4] if sketch is not None else ()
    return (*head, *(None,) * (4 - len(head)))


def links_at_depth(o: PageOutcome, stored_depth: int | None, max_depth: int | None) -> list[NewLink]:
    """A page's depth may have been lowered while it was in flight: its links take the
    page's depth now (`stored_depth`), not the one it was claimed at."""
    if stored_depth is None or max_depth is None or stored_depth == o.depth:
        return o.links
    depth = stored_depth + 1
    status, reason = (PageStatus.PENDING, None) if depth <= max_depth else (PageStatus.SKIPPED, "depth")
    return [
        replace(l, depth=depth, status=status, reason=reason)
        if l.reason in (None, "depth")
        else replace(l, depth=depth)
        for l in o.links
    ]


def crawlable_keys(links: list[NewLink]) -> list[str]:
    """The outlinks a completed page passes a shorter depth on through."""
    return [l.url_key for l in links if l.reason in (None, "depth")]


def stored_page(row: Mapping[str, Any], status: PageStatus = PageStatus.COMPLETED) -> StoredPage:
    """A duplicate candidate from its row (`id`, `url`, and `sketch` / `block_hashes` if selected)."""
    sketch, hashes = row.get("sketch"), row.get("block_hashes")
    return StoredPage(
        row["id"],
        row["url"],
        status,
        tuple(json.loads(sketch)) if sketch else None,
        tuple(json.loads(hashes)) if hashes else (),
    )


def outcome_event(o: PageOutcome) -> tuple[str, str, dict[str, Any]]:
    """The event a committed page leaves: `page_<status>` with its reason, quality and title
    (and, in a refresh, how the page was taken over)."""
    payload = {"reason": o.reason, "quality": o.quality, "title": o.title}
    if o.reuse is not None:
        payload["reuse"] = o.reuse
    return f"page_{o.status}", o.url, payload


def finalize_verdict(row: Mapping[str, Any], max_pages: int) -> Finalize:
    """From the job's `status`, `step`, `completed` and its `processing` and `pending` page
    counts: who finalizes a job whose caller has nothing left to claim."""
    if row["status"] != JobStatus.RUNNING or row["step"] in (JobStep.FINALIZING, JobStep.DONE):
        return Finalize.ENDED
    if row["step"] == JobStep.DISCOVERY or row["processing"] > 0:
        return Finalize.WAIT
    if row["pending"] > 0 and row["completed"] < max_pages:
        return Finalize.WAIT
    return Finalize.YOURS


def job_record(row: Mapping[str, Any]) -> JobRecord:
    data = dict(row)
    data["settings"] = CrawlSettings.from_json(data["settings"])
    data["status"], data["step"] = JobStatus(data["status"]), JobStep(data["step"])
    data["control"] = Control(data["control"]) if data["control"] else None
    data["run_by"] = RunBy(data["run_by"])
    data["markdown_relative"] = bool(data.get("markdown_relative"))
    return JobRecord(**{k: data[k] for k in JobRecord.__dataclass_fields__})


def page_content(row: Mapping[str, Any]) -> PageContent:
    """From a row of CONTENT_COLUMNS."""
    return PageContent(
        id=row["id"],
        url=row["url"],
        title=row["title"] or row["url"],
        depth=row["depth"],
        quality=row["quality"] or 0,
        quality_reasons=tuple(json.loads(row["quality_reasons"] or "[]")),
        seq=row["seq"],
        words=row["words"] or 0,
        tokens=row["tokens"] or 0,
        extractor=row["extractor"],
        fidelity=json.loads(row["fidelity"]) if row["fidelity"] else None,
        block_hashes=tuple(json.loads(row["block_hashes"] or "[]")),
        content_hash=row["content_hash"],
        source=row["source"],
    )


def page_detail(row: Mapping[str, Any]) -> PageDetail:
    """From a row of DETAIL_COLUMNS."""
    return PageDetail(
        url=row["url"],
        title=row["title"] or row["url"],
        status=PageStatus(row["status"]),
        reason=row["reason"],
        quality=row["quality"],
        quality_reasons=tuple(json.loads(row["quality_reasons"] or "[]")),
        markdown=row["markdown"] or "",
        fidelity=json.loads(row["fidelity"]) if row["fidelity"] else None,
        extractor=row["extractor"],
        source=row["source"],
        source_note=row["source_note"],
    )


def positions(rows: list[Mapping[str, Any]], start_url: str) -> dict[int, int]:
    """Completed pages' places in the reading order (rows of ORDER_COLUMNS): as stored when
    the job ended, else (a job still running, or crawled before positions were kept)
    worked out now by the same function."""
    if all(row["position"] is not None for row in rows):
        return {row["id"]: row["position"] for row in rows}
    items = [OrderItem(r["id"], r["url"], r["final_url"], r["next_url"], r["prev_url"]) for r in rows]
    return {page_id: n for n, page_id in enumerate(reading_order(items, start_url))}


def repeated_floor(completed: int) -> int:
    """How many pages a text block must be on to count as repeated chrome: 3, and 30% of the job's."""
    return max(3, math.ceil(0.3 * completed))
