"""What changed between a refresh and the job it refreshes: the report, per-page diffs,
and an export an LLM can read ("what changed since"), all from a `StoreReader`.

A page is *changed* when its Markdown differs (a change only in scripts or markup that
leaves the Markdown equal is not a change), *added* when it is completed now and was not
before, *removed* when it was completed and now is not (404/410, a redirect out of scope,
skipped now), *kept* when the refresh failed for a passing reason and the earlier page
stands. Pages the refresh has not reached yet (still pending) are not in the report.
"""

from __future__ import annotations

import difflib
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..errors import UnknownFormatError
from ..records import PageChange, PageChangeRow, PageStatus, Reuse
from ..store import StoreReader
from .export import demote_headings, short_title, site_suffix

CHANGE_FORMATS = ("md", "jsonl")
DIFF_LINES_SHOWN = 60  # a changed page's diff goes into the Markdown export up to this many lines
_IN_FLIGHT = (PageStatus.PENDING, PageStatus.PROCESSING)


@dataclass(frozen=True)
class PageChangeEntry:
    url: str
    change: PageChange
    reason: str | None  # why a page was removed or kept
    page_id: int | None  # in the refresh
    was_page_id: int | None  # in the earlier job
    position: int | None


@dataclass(frozen=True)
class ChangeReport:
    job_id: str
    since: str
    entries: list[PageChangeEntry] = field(default_factory=list)  # every page but the unchanged, in reading order
    unchanged: int = 0
    unchecked: int = 0  # earlier pages the refresh has not reached yet (it is still running, or stopped)

    def urls(self, change: PageChange) -> list[str]:
        return [e.url for e in self.entries if e.change == change]

    @property
    def nothing_changed(self) -> bool:
        return not any(e.change in (PageChange.ADDED, PageChange.CHANGED, PageChange.REMOVED) for e in self.entries)

    def counts(self) -> dict[str, int]:
        counts = {c.value: len(self.urls(c)) for c in PageChange if c != PageChange.UNCHANGED}
        return counts | {PageChange.UNCHANGED.value: self.unchanged}

    def to_dict(self) -> dict[str, Any]:
        """What `docspasta changes --json` prints; other tools read these keys."""
        return {
            "since": self.since,
            "added": self.urls(PageChange.ADDED),
            "changed": self.urls(PageChange.CHANGED),
            "removed": self.urls(PageChange.REMOVED),
            "unchanged": self.unchanged,
            "job_id": self.job_id,
            "kept": self.urls(PageChange.KEPT),
            "unchecked": self.unchecked,
        }


def classify(row: PageChangeRow) -> tuple[PageChange, str | None] | None:
    """One URL's change, with the reason for a removal or a kept page; None when the
    refresh has not reached it yet."""
    if row.status == PageStatus.COMPLETED:
        if row.reuse == Reuse.KEPT:
            return PageChange.KEPT, row.reason
        if row.was_status != PageStatus.COMPLETED:
            return PageChange.ADDED, None
        same = row.markdown_hash is not None and row.markdown_hash == row.was_markdown_hash
        return (PageChange.UNCHANGED if same else PageChange.CHANGED), None
    if row.status in _IN_FLIGHT:
        return None
    if row.status is None:
        return PageChange.REMOVED, "not in the refresh"
    return PageChange.REMOVED, row.reason or (f"HTTP {row.http_status}" if row.http_status else row.status)


def change_report(store: StoreReader, job_id: str) -> ChangeReport:
    """The report of a refresh (NotARefreshError for a job that refreshes nothing)."""
    job = store.get_job(job_id)
    rows = store.change_rows(job_id)
    entries, unchanged, unchecked = [], 0, 0
    for row in rows:
        verdict = classify(row)
        if verdict is None:
            unchecked += 1
            continue
        change, reason = verdict
        if change == PageChange.UNCHANGED:
            unchanged += 1
            continue
        entries.append(PageChangeEntry(row.url, change, reason, row.page_id, row.was_page_id, row.position))
    order = list(PageChange)
    entries.sort(key=lambda e: (order.index(e.change), e.position if e.position is not None else 1 << 30, e.url))
    assert job.since_job is not None  # change_rows refused a job that refreshes nothing
    return ChangeReport(job_id, job.since_job, entries, unchanged, unchecked)


def page_diff(store: StoreReader, report: ChangeReport, entry: PageChangeEntry, *, context: int = 3) -> str:
    """A unified diff of a page's Markdown, earlier job to refresh ('' for a page in neither)."""
    before, after = _markdown(store, entry.was_page_id), _markdown(store, entry.page_id)
    if entry.change == PageChange.REMOVED:
        after = ""
    lines = difflib.unified_diff(
        before.splitlines(),
        after.splitlines(),
        fromfile=f"{entry.url} (job {report.since})",
        tofile=f"{entry.url} (job {report.job_id})",
        lineterm="",
        n=context,
    )
    return "\n".join(lines)


def _markdown(store: StoreReader, page_id: int | None) -> str:
    return next(store.markdowns([page_id]), "") if page_id is not None else ""


def changes_markdown(store: StoreReader, report: ChangeReport) -> Iterator[str]:
    """What changed, for a model to read: the counts, the changed pages (what changed in
    them as a diff, when it is short, then the page in full), the added pages in full, and
    the removed ones listed with why. Titles lose the site's suffix, as in the paste."""
    job = store.get_job(report.job_id)
    since = store.get_job(report.since)
    suffix = site_suffix([p.title for p in store.completed_pages(report.job_id)])
    site = suffix or job.site_title or since.site_title or job.start_url
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(since.started_at or since.created_at))
    counts = report.counts()
    yield f"# What changed in {site} since {when}\n\n"
    yield (
        f"Refresh {report.job_id} of {job.start_url} against job {report.since}: "
        f"{counts['added']} added, {counts['changed']} changed, {counts['removed']} removed, "
        f"{counts['unchanged']} unchanged pages"
        + (f", {counts['kept']} kept from the earlier crawl because refreshing them failed" if counts["kept"] else "")
        + (f"; {report.unchecked} not checked yet" if report.unchecked else "")
        + ".\n\n"
    )
    if report.nothing_changed:
        yield "Nothing changed.\n"
    for change, heading in ((PageChange.CHANGED, "Changed pages"), (PageChange.ADDED, "Added pages")):
        entries = [e for e in report.entries if e.change == change]
        if entries:
            yield f"## {heading}\n\n"
        for entry in entries:
            detail = store.page_detail(report.job_id, entry.url)
            yield f"### {short_title(detail.title, suffix)}\n\nSource: {entry.url}\n\n"
            if change == PageChange.CHANGED:
                yield _what_changed(store, report, entry)
            yield f"{demote_headings(detail.markdown, 3)}\n\n"
    for change, heading in ((PageChange.REMOVED, "Removed pages"), (PageChange.KEPT, "Pages kept unchecked")):
        entries = [e for e in report.entries if e.change == change]
        if entries:
            yield f"## {heading}\n\n" + "".join(f"- {e.url} ({e.reason})\n" for e in entries) + "\n"


def _what_changed(store: StoreReader, report: ChangeReport, entry: PageChangeEntry) -> str:
    diff = page_diff(store, report, entry, context=1).splitlines()[2:]  # the ---/+++ lines name the page again
    added = sum(1 for line in diff if line.startswith("+") and line[1:].strip())
    removed = sum(1 for line in diff if line.startswith("-") and line[1:].strip())
    counts = f"What changed: {_lines(added)} added, {_lines(removed)} removed"
    if len(diff) > DIFF_LINES_SHOWN:
        return counts + " (the page in full follows).\n\n"
    body = "\n".join(diff)
    fence = "`" * max(4, 1 + max((len(run) for run in re.findall(r"`+", body)), default=0))  # longer than any inside
    return f"{counts}:\n\n{fence}diff\n{body}\n{fence}\n\nThe page now:\n\n"


def _lines(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"


def changes_jsonl(store: StoreReader, report: ChangeReport) -> Iterator[str]:
    """One JSON object per page that is not unchanged: its change, reason, title, its Markdown
    now (added, changed) and the unified diff (changed, removed)."""
    for entry in report.entries:
        record: dict[str, Any] = {"url": entry.url, "change": entry.change, "reason": entry.reason}
        if entry.change in (PageChange.ADDED, PageChange.CHANGED, PageChange.KEPT):
            detail = store.page_detail(report.job_id, entry.url)
            record |= {"title": detail.title, "markdown": detail.markdown}
        if entry.change in (PageChange.CHANGED, PageChange.REMOVED):
            record["diff"] = page_diff(store, report, entry)
        yield json.dumps(record, ensure_ascii=False) + "\n"


def write_changes(out: BinaryIO, store: StoreReader, job_id: str, fmt: str = "md") -> ChangeReport:
    """Stream a refresh's change export (`md` or `jsonl`) to `out`; returns the report."""
    if fmt not in CHANGE_FORMATS:
        raise UnknownFormatError(fmt, CHANGE_FORMATS)
    report = change_report(store, job_id)
    pieces = changes_markdown(store, report) if fmt == "md" else changes_jsonl(store, report)
    for piece in pieces:
        out.write(piece.encode("utf-8"))
    return report
