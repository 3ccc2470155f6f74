"""A job's stored pages as the paste, llms.txt, llms-full.txt, JSONL or a zip of pages.

Built from the store on demand, so the quality threshold and the token budget can be
changed after the crawl and every export follows them. All exports share one
selection: completed pages at or above the threshold, in the site's structure (URL
path order, a directory's index first), with text blocks that recur across the site
(navigation, banners) removed, optionally cut to the best pages that fit a budget.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from dataclasses import dataclass, field, replace
from urllib.parse import unquote, urlsplit

from . import tokens
from .fingerprints import block_hash, split_blocks
from .reads import PageContent, completed_pages, get_job, repeated_blocks
from .store import JobRecord

FORMATS = ("paste", "llms", "llms-full", "jsonl", "zip")
FILE_NAMES = {"paste": "paste.md", "llms": "llms.txt", "llms-full": "llms-full.txt", "jsonl": "pages.jsonl",
              "zip": "pages.zip"}  # fmt: skip
MIME_TYPES = {"paste": "text/markdown", "llms": "text/plain", "llms-full": "text/plain",
              "jsonl": "application/x-ndjson", "zip": "application/zip"}  # fmt: skip

_HEADING = re.compile(r"^(#{1,6})(\s)", re.M)
_FENCE = re.compile(r"^\s*(```|~~~)")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)")
INDEX_NAMES = frozenset({"", "index.html", "index.htm", "index", "index.php", "default.htm"})


@dataclass(frozen=True)
class Selection:
    """Which pages an export holds, and what was left out and why."""

    job: JobRecord
    pages: list[PageContent]
    threshold: int
    below_threshold: int = 0
    over_budget: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    repeated_blocks_removed: int = 0


@dataclass(frozen=True)
class ExportResult:
    format: str
    data: bytes
    pages: int
    tokens: int
    below_threshold: int
    over_budget: list[str]

    @property
    def file_name(self) -> str:
        return FILE_NAMES[self.format]

    @property
    def mime(self) -> str:
        return MIME_TYPES[self.format]


def export(
    db_path: str | os.PathLike[str] | None,
    job_id: str,
    fmt: str = "paste",
    *,
    threshold: int | None = None,
    max_tokens: int | None = None,
) -> ExportResult:
    """Build one export; token counts are exact (o200k_base)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}")
    selection = select(db_path, job_id, threshold=threshold, max_tokens=max_tokens)
    if fmt == "zip":
        data, token_count = _zip(selection)
    else:
        text = {"paste": paste, "llms": llms_txt, "llms-full": llms_full, "jsonl": jsonl}[fmt](selection)
        data, token_count = text.encode("utf-8"), tokens.count(text)
    return ExportResult(fmt, data, len(selection.pages), token_count, selection.below_threshold,
                        selection.over_budget)  # fmt: skip


def select(
    db_path: str | os.PathLike[str] | None, job_id: str, *, threshold: int | None = None, max_tokens: int | None = None
) -> Selection:
    job = get_job(db_path, job_id)
    cutoff = job.settings.quality_threshold if threshold is None else threshold
    repeated = repeated_blocks(db_path, job_id)
    kept: list[PageContent] = []
    below = removed = 0
    for page in completed_pages(db_path, job_id):
        if page.quality < cutoff:
            below += 1
            continue
        if repeated and not repeated.isdisjoint(page.block_hashes):
            markdown, dropped = _drop_blocks(page.markdown, repeated)
            removed += dropped
            page = replace(page, markdown=markdown)
        kept.append(page)
    kept.sort(key=lambda p: site_order(p.url))
    site = _site_part(job.site_title or "", len(kept))
    if site:  # "Page — Site" on every page: the site part is noise in a paste that names the site once
        kept = [replace(p, title=short_title(p.title, site)) for p in kept]
    selection = Selection(job, kept, cutoff, below, repeated_blocks_removed=removed, max_tokens=max_tokens)
    return _fit(selection, max_tokens) if max_tokens else selection


def site_order(url: str) -> tuple[str, ...]:
    """Sort key following the site's structure: path segments, a directory's index first."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/")[1:]]
    if segments and segments[-1].lower() in INDEX_NAMES:
        segments[-1] = ""
    return (*segments, parts.query)


# -- formats --------------------------------------------------------------------------


def paste(selection: Selection) -> str:
    job, pages = selection.job, selection.pages
    head = [f"# {site_title(selection)}", "", f"> Source: {job.start_url} · {len(pages)} pages · docspasta"]
    head += [f"> {line}" for line in _left_out_notes(selection)]
    anchors = _anchors(p.title for p in pages)
    head += ["", "## Contents", ""]
    base_depth = min((len(site_order(p.url)) for p in pages), default=0)
    for page, anchor in zip(pages, anchors, strict=True):
        indent = "  " * max(0, min(3, len(site_order(page.url)) - base_depth))
        head.append(f"{indent}- [{page.title}](#{anchor})")
    sections = [_section(p, demote=2) for p in pages]
    return "\n".join(head) + "\n\n" + "".join(sections)


def llms_full(selection: Selection) -> str:
    head = [f"# {site_title(selection)}", "", f"> {site_summary(selection)}", ""]
    return "\n".join(head) + "\n" + "".join(_section(p, demote=1) for p in selection.pages)


def llms_txt(selection: Selection) -> str:
    """The llms.txt index: site title, summary, a section per top-level path, one line a page."""
    lines = [f"# {site_title(selection)}", "", f"> {site_summary(selection)}", ""]
    prefix = selection.job.scope_prefix or "/"
    groups: dict[str, list[PageContent]] = {}
    for page in selection.pages:
        rest = urlsplit(page.url).path[len(prefix) :] if urlsplit(page.url).path.startswith(prefix) else ""
        head = rest.split("/", 1)[0] if "/" in rest else ""
        groups.setdefault(head, []).append(page)
    for head, pages in groups.items():
        lines += [f"## {_section_name(head)}", ""]
        for page in pages:
            sentence = first_sentence(page.markdown)
            lines.append(f"- [{page.title}]({page.url})" + (f": {sentence}" if sentence else ""))
        lines.append("")
    return "\n".join(lines)


def jsonl(selection: Selection) -> str:
    rows = []
    for page in selection.pages:
        rows.append(json.dumps({
            "url": page.url, "title": page.title, "depth": page.depth, "quality": page.quality,
            "quality_reasons": list(page.quality_reasons), "words": len(page.markdown.split()),
            "tokens": tokens.count(page.markdown), "extractor": page.extractor, "fidelity": page.fidelity,
            "content_hash": page.content_hash, "markdown": page.markdown,
        }, ensure_ascii=False))  # fmt: skip
    return "\n".join(rows) + ("\n" if rows else "")


def _zip(selection: Selection) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    total = 0
    used: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        index = llms_txt(selection)
        archive.writestr("llms.txt", index)
        total += tokens.count(index)
        for page in selection.pages:
            name = _unique(page_path(page.url), used)
            text = f"# {page.title}\n\nSource: {page.url}\n\n{page.markdown}\n"
            archive.writestr(name, text)
            total += tokens.count(text)
    return buffer.getvalue(), total


def page_path(url: str) -> str:
    """`https://x.org/docs/guide/install.html` -> `docs/guide/install.md`; a directory -> `.../index.md`."""
    parts = urlsplit(url)
    segments = [re.sub(r"[^\w.\-]+", "_", unquote(s)) or "_" for s in parts.path.split("/")[1:]]
    if not segments or segments[-1] in ("", "_") or segments[-1].lower() in INDEX_NAMES:
        segments = [*segments[:-1], "index"] if segments else ["index"]
    segments = [s for s in segments if s not in (".", "..")] or ["index"]
    stem = re.sub(r"\.(html?|php|aspx?)$", "", segments[-1], flags=re.I)
    if parts.query:
        stem += "_" + re.sub(r"[^\w\-]+", "_", parts.query)[:60]
    return "/".join([*segments[:-1], stem + ".md"])


# -- pieces ---------------------------------------------------------------------------


SEPARATORS = (" — ", " – ", " | ", " - ")


def site_title(selection: Selection) -> str:
    job = selection.job
    title = job.site_title or job.start_url
    return _site_part(title, len(selection.pages)) or title


def _site_part(title: str, pages: int) -> str:
    """ "Page — Site" titles: the site part (when there is more than one page)."""
    for separator in SEPARATORS:
        if separator in title and pages > 1:
            return title.rsplit(separator, 1)[-1].strip()
    return ""


def short_title(title: str, site: str) -> str:
    for separator in SEPARATORS:
        if title.endswith(separator + site) and len(title) > len(separator + site):
            return title[: -len(separator + site)].strip()
    return title


def site_summary(selection: Selection) -> str:
    start = next((p for p in selection.pages if p.url == selection.job.start_url), None)
    page = start or (selection.pages[0] if selection.pages else None)
    sentence = first_sentence(page.markdown) if page else ""
    return sentence or f"Documentation from {selection.job.start_url}, {len(selection.pages)} pages."


def first_sentence(markdown: str, limit: int = 200) -> str:
    for block in split_blocks(markdown):
        if block.startswith(("#", "```", "~~~", "|", ">", "-", "*", "<", "!")) or len(block) < 20:
            continue
        text = " ".join(_LINK.sub(r"\1", block).split()).replace("**", "").replace("`", "")
        sentence = ""
        for match in _SENTENCE.finditer(text):  # "Welcome." alone says little: take sentences up to 40 chars
            sentence = text[: match.end(1)]
            if len(sentence) >= 40:
                break
        sentence = sentence or text
        return sentence if len(sentence) <= limit else sentence[: limit - 1].rsplit(" ", 1)[0] + "…"
    return ""


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


def _section(page: PageContent, *, demote: int) -> str:
    hashes = "#" * demote
    return f"---\n\n{hashes} {page.title}\n\nSource: {page.url}\n\n{demote_headings(page.markdown, demote)}\n\n"


def _left_out_notes(selection: Selection) -> list[str]:
    notes = []
    if selection.below_threshold:
        notes.append(f"{selection.below_threshold} pages scoring below quality {selection.threshold} were left out.")
    if selection.over_budget:
        shown = ", ".join(selection.over_budget[:20]) + (" …" if len(selection.over_budget) > 20 else "")
        notes.append(f"{len(selection.over_budget)} pages left out to fit {selection.max_tokens:,} tokens: {shown}")
    return notes


def _fit(selection: Selection, budget: int) -> Selection:
    """Keep the best pages (quality, then structure) whose sections fit the budget."""

    def structure(p: PageContent) -> int:
        return (p.fidelity or {}).get("headings_out", 0) + (p.fidelity or {}).get("fences_out", 0)

    ranked = sorted(selection.pages, key=lambda p: (-p.quality, -structure(p), p.depth, site_order(p.url)))
    overhead = tokens.count(paste(replace(selection, pages=[]))) + 200
    kept: list[PageContent] = []
    used = overhead
    for page in ranked:
        cost = tokens.count(_section(page, demote=2)) + tokens.estimate(page.title) + 8
        if used + cost <= budget:
            kept.append(page)
            used += cost
    kept_urls = {p.url for p in kept}
    left = [p.url for p in ranked if p.url not in kept_urls]
    fitted = replace(selection, pages=sorted(kept, key=lambda p: site_order(p.url)), over_budget=left)
    while fitted.pages and tokens.count(paste(fitted)) > budget:  # the estimate was short: drop the weakest
        weakest = min(fitted.pages, key=lambda p: (p.quality, structure(p)))
        fitted = replace(fitted, pages=[p for p in fitted.pages if p is not weakest],
                         over_budget=[*fitted.over_budget, weakest.url])  # fmt: skip
    return fitted


def _drop_blocks(markdown: str, repeated: frozenset[str]) -> tuple[str, int]:
    kept, dropped = [], 0
    for block in split_blocks(markdown):
        if not block.startswith(("```", "~~~", "#")) and block_hash(block) in repeated:
            dropped += 1
        else:
            kept.append(block)
    return "\n\n".join(kept), dropped


def _section_name(head: str) -> str:
    if not head:
        return "Overview"
    name = re.sub(r"[-_]+", " ", re.sub(r"\.html?$", "", head)).strip()
    return name[:1].upper() + name[1:] if name else head


def _anchors(titles) -> list[str]:
    """GitHub-style heading slugs, made unique with -1, -2 as GitHub does."""
    seen: dict[str, int] = {"contents": 1}
    anchors = []
    for title in titles:
        slug = re.sub(r"[^\w\- ]", "", title.lower()).strip().replace(" ", "-") or "page"
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.append(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _unique(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate in used:
        candidate = re.sub(r"(\.md)$", f"-{n}\\1", name)
        n += 1
    used.add(candidate)
    return candidate


def paste_text(db_path: str | os.PathLike[str] | None, job_id: str, *, threshold: int | None = None) -> str:
    """The paste as text (for the Python API's `JobResult.paste()`)."""
    return paste(select(db_path, job_id, threshold=threshold))
