"""A refresh in the store, once for every backend: the new job's settings and first
frontier, what a claim learns of the earlier job, how a page taken over is written, and
the rows a change report is made of. SQL with `?` placeholders (the PostgreSQL writer
runs it through `QmarkConnection`).

A refresh is a job whose `since_job` names the job it refreshes. Its frontier starts with
the start page and every page the earlier job completed (at their depths), so a page
still answering stays even when nothing links to it any more. Each claim carries what
the earlier job holds for its URL (`records.Earlier`); a page the server says is
unchanged (304) or sends the same bytes for comes back as an outcome with `reuse` set,
and the store fills it in from the earlier row here, in the commit's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..errors import RefreshRefusedError
from ..records import ACTIVE_JOB_STATUSES, Earlier, PageChangeRow, PageKind, PageOutcome, PageSource, PageStatus, Reuse
from ..settings import CrawlSettings

# the start page is the job's first row; then the earlier job's completed pages. Params: (job, now, since)
SEED_FROM_EARLIER = """
    INSERT INTO pages (job_id, url, url_key, depth, discovered_from, found_by, status, score, updated_at)
    SELECT ?, url, url_key, depth, discovered_from, found_by, 'pending', 0, ?
    FROM pages WHERE job_id = ? AND status = 'completed'
    ON CONFLICT (job_id, url_key) DO NOTHING
"""

EARLIER_FIELDS = "e.status, e.etag, e.last_modified, e.body_hash, e.final_url, e.title, e.outlinks, e.source"


def earlier_for_claims(count: int) -> str:
    """What the earlier job holds for each claimed page (by the new row's id). Params: (since, *ids)."""
    marks = ",".join("?" * count)
    return (
        f"SELECT n.id AS page_id, {EARLIER_FIELDS} FROM pages n "
        f"JOIN pages e ON e.job_id = ? AND e.url_key = n.url_key WHERE n.id IN ({marks})"
    )


# the earlier row a reused outcome is filled from. Params: (since, page id)
EARLIER_ROW = """
    SELECT e.status, e.reason, e.final_url, e.content_type, e.title, e.markdown, e.quality, e.quality_reasons,
           e.content_hash, e.words, e.extractor, e.tokens, e.sketch, e.block_hashes, e.fidelity, e.duplicate_of,
           e.canonical_key, e.next_url, e.prev_url, e.page_kind, e.html_gz, e.outlinks, e.etag, e.last_modified,
           e.body_hash, e.bytes, e.source, e.source_note
    FROM pages n JOIN pages e ON e.job_id = ? AND e.url_key = n.url_key WHERE n.id = ?
"""

# every URL either job completed, side by side. Params: (since, job, since, job)
CHANGE_ROWS = """
    SELECT n.url, n.status, n.reason, n.http_status, n.reuse, n.markdown_hash, e.status AS was_status,
           e.markdown_hash AS was_markdown_hash, n.id AS page_id, e.id AS was_page_id,
           coalesce(n.position, e.position) AS position
    FROM pages n LEFT JOIN pages e ON e.job_id = ? AND e.url_key = n.url_key
    WHERE n.job_id = ? AND (n.status = 'completed' OR e.status = 'completed')
    UNION ALL
    SELECT e.url, NULL, NULL, NULL, NULL, NULL, e.status, e.markdown_hash, NULL, e.id, e.position
    FROM pages e WHERE e.job_id = ? AND e.status = 'completed'
      AND NOT EXISTS (SELECT 1 FROM pages n WHERE n.job_id = ? AND n.url_key = e.url_key)
"""


def refresh_settings(since_id: str, status: str, settings_json: str, overrides: Mapping[str, Any]) -> CrawlSettings:
    """The refresh's settings: the earlier job's, every one of them (the address guard's
    included), with the few a refresh may change (`max_pages`, `conditional`). Refused
    while the earlier job has not ended."""
    if status in ACTIVE_JOB_STATUSES:
        raise RefreshRefusedError(since_id, status)
    earlier = CrawlSettings.from_json(settings_json)
    wanted = {k: v for k, v in overrides.items() if v is not None}
    return CrawlSettings.from_dict({**earlier.to_dict(), **wanted}) if wanted else earlier


def earlier_record(row: Mapping[str, Any]) -> Earlier:
    outlinks = row["outlinks"]
    return Earlier(
        status=PageStatus(row["status"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        body_hash=row["body_hash"],
        final_url=row["final_url"],
        title=row["title"],
        outlinks=bytes(outlinks) if outlinks is not None else None,  # PostgreSQL hands out memoryview
        source=row["source"],
    )


def reused_outcome(o: PageOutcome, row: Mapping[str, Any] | None) -> PageOutcome:
    """A refresh's outcome for a page taken over from the earlier job (`o.reuse` set): the
    earlier row's content and verdict, this fetch's facts. With no earlier row (the earlier
    job was deleted meanwhile) a kept page stays failed and a reused one fails with why."""
    if row is None:
        if o.reuse == Reuse.KEPT:
            return replace(o, reuse=None)
        return replace(o, status=PageStatus.FAILED, reuse=None,
                       reason="the earlier job's page is gone (deleted while refreshing); refresh again")  # fmt: skip
    kept = o.reuse == Reuse.KEPT
    sketch, hashes, fidelity = row["sketch"], row["block_hashes"], row["fidelity"]
    html_gz, outlinks = row["html_gz"], row["outlinks"]
    return replace(
        o,
        status=PageStatus(row["status"]),
        reason=f"kept from the earlier crawl: this one failed ({o.reason})" if kept else row["reason"],
        final_url=row["final_url"] if kept else o.final_url,
        content_type=row["content_type"],
        bytes=o.bytes if o.reuse == Reuse.SAME_BYTES else 0,
        title=row["title"],
        markdown=row["markdown"],
        quality=row["quality"],
        quality_reasons=tuple(json.loads(row["quality_reasons"] or "[]")),
        content_hash=row["content_hash"],
        words=row["words"],
        extractor=row["extractor"],
        source=PageSource(row["source"]) if row["source"] else None,
        source_note=row["source_note"],
        tokens=row["tokens"],
        sketch=tuple(json.loads(sketch)) if sketch else None,
        block_hashes=tuple(json.loads(hashes)) if hashes else (),
        fidelity=json.loads(fidelity) if fidelity else None,
        duplicate_of=row["duplicate_of"],
        canonical_key=row["canonical_key"],
        next_url=row["next_url"],
        prev_url=row["prev_url"],
        page_kind=PageKind(row["page_kind"]) if row["page_kind"] else None,
        html_gz=bytes(html_gz) if html_gz is not None else None,
        outlinks=bytes(outlinks) if outlinks is not None else None,
        etag=row["etag"] if kept else o.etag,
        last_modified=row["last_modified"] if kept else o.last_modified,
        body_hash=row["body_hash"] if o.reuse != Reuse.SAME_BYTES else o.body_hash,
    )


def change_row(row: Mapping[str, Any]) -> PageChangeRow:
    return PageChangeRow(
        url=row["url"],
        status=PageStatus(row["status"]) if row["status"] else None,
        reason=row["reason"],
        http_status=row["http_status"],
        reuse=Reuse(row["reuse"]) if row["reuse"] else None,
        markdown_hash=row["markdown_hash"],
        was_status=PageStatus(row["was_status"]) if row["was_status"] else None,
        was_markdown_hash=row["was_markdown_hash"],
        page_id=row["page_id"],
        was_page_id=row["was_page_id"],
        position=row["position"],
    )


def attach_earlier(claims: Sequence[Any], rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The claims, each with what the earlier job holds for its URL (if anything)."""
    by_id = {row["page_id"]: earlier_record(row) for row in rows}
    return [replace(c, earlier=by_id.get(c.page_id)) for c in claims]
