"""Turn a job's stored pages into the paste: one Markdown document for an LLM.

Built from the store on demand (never kept in memory during the crawl), so the
quality threshold can be changed after the crawl and the paste follows it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TextIO

from .reads import PageContent, completed_pages, get_job

_HEADING = re.compile(r"^(#{1,6})(\s)", re.M)
_FENCE = re.compile(r"^(```|~~~)")


@dataclass(frozen=True)
class PasteStats:
    pages: int
    left_out: int
    characters: int

    @property
    def tokens_estimate(self) -> int:
        return self.characters // 4


def write_paste(
    db_path: str | os.PathLike[str] | None, job_id: str, out: TextIO, *, threshold: int | None = None
) -> PasteStats:
    """Write the paste for `job_id` to `out`; pages below the threshold are left out."""
    job = get_job(db_path, job_id)
    cutoff = job.settings.quality_threshold if threshold is None else threshold
    kept: list[PageContent] = []
    left_out = 0
    for page in completed_pages(db_path, job_id):
        if page.quality >= cutoff:
            kept.append(_without_markdown(page))
        else:
            left_out += 1
    title = job.site_title or job.start_url
    head = [f"# {title}", "", f"> Source: {job.start_url} — {len(kept)} pages, crawled by docspasta.", ""]
    if left_out:
        head.insert(3, f"> {left_out} pages scoring below quality {cutoff} were left out.")
    anchors = _anchors(p.title for p in kept)
    head += ["## Contents", ""] + [f"- [{p.title}](#{a})" for p, a in zip(kept, anchors, strict=True)] + [""]
    chars = _write(out, "\n".join(head) + "\n")
    by_url = {p.url: a for p, a in zip(kept, anchors, strict=True)}
    for page in completed_pages(db_path, job_id):
        if page.url not in by_url:
            continue
        section = f"---\n\n## {page.title}\n\nSource: {page.url}\n\n{demote_headings(page.markdown, 2)}\n\n"
        chars += _write(out, section)
    return PasteStats(pages=len(kept), left_out=left_out, characters=chars)


def paste_text(db_path: str | os.PathLike[str] | None, job_id: str, *, threshold: int | None = None) -> str:
    import io

    buffer = io.StringIO()
    write_paste(db_path, job_id, buffer, threshold=threshold)
    return buffer.getvalue()


def demote_headings(markdown: str, levels: int) -> str:
    """Shift a page's headings down so they nest under its section (max level 6);
    lines inside fenced code are left alone."""
    out = []
    in_fence = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence:
            line = _HEADING.sub(lambda m: "#" * min(6, len(m.group(1)) + levels) + m.group(2), line)
        out.append(line)
    return "\n".join(out)


def _without_markdown(page: PageContent) -> PageContent:
    return PageContent(page.url, page.title, page.depth, page.quality, page.quality_reasons, "", page.seq)


def _anchors(titles: Iterable[str]) -> list[str]:
    """GitHub-style heading slugs, made unique with -1, -2 as GitHub does."""
    seen: dict[str, int] = {}
    anchors = []
    for title in titles:
        slug = re.sub(r"[^\w\- ]", "", title.lower()).strip().replace(" ", "-") or "page"
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.append(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _write(out: TextIO, text: str) -> int:
    out.write(text)
    return len(text)
