"""A job's stored pages as the paste, llms.txt, llms-full.txt, JSONL or a zip of pages.

Built from the store on demand, so the quality threshold and the token budget can be
changed after the crawl and every export follows them. All exports share one
selection: completed pages at or above the threshold, in the site's structure (URL
path order, a directory's index first), with text blocks that recur across the site
(navigation, banners) removed, optionally cut to the best pages that fit a budget.

Exports are streamed: the selection holds each page's metadata, not its Markdown, and
each format is written to its file page by page, so memory does not grow with the
site. Exact token counts, when asked for, come from a short-lived TokenCounter process
fed the same pieces.
"""

from __future__ import annotations

import io
import json
import os
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO, TypedDict, Unpack
from urllib.parse import unquote, urlsplit

from ..errors import ExportWriteError, InvalidSettingError, UnknownFormatError
from ..extraction.fingerprints import block_hash, split_blocks
from ..extraction.tokens import TokenCounter, estimate
from ..records import JobRecord, PageContent
from ..store import StoreReader

FORMATS = ("paste", "llms", "llms-full", "jsonl", "zip")
ORDERS = ("site", "url")  # site: the site's own reading order (reading_order.py); url: URL paths
FILE_NAMES = {"paste": "paste.md", "llms": "llms.txt", "llms-full": "llms-full.txt", "jsonl": "pages.jsonl",
              "zip": "pages.zip"}  # fmt: skip
MIME_TYPES = {"paste": "text/markdown", "llms": "text/plain", "llms-full": "text/plain",
              "jsonl": "application/x-ndjson", "zip": "application/zip"}  # fmt: skip

_HEADING = re.compile(r"^(#{1,6})(\s)", re.M)
_FENCE = re.compile(r"^\s*(```|~~~)")
_FIRST_HEADING = re.compile(r" {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*")
_RULE = re.compile(r"\A {0,3}(?:-{3,}|\*{3,}|_{3,})[ \t]*(?:\n|\Z)")
_MARKS = re.compile(r"[`*_]")
_INDEX_PAGE = re.compile(r"/(?:index\.html?|README\.md|index\.md)?")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_SENTENCE = re.compile(r"(.+?[.!?])(\s|$)")
INDEX_NAMES = frozenset({"", "index.html", "index.htm", "index", "index.php", "default.htm"})


@dataclass(frozen=True)
class Selection:
    """Which pages an export holds (metadata only), and what was left out and why."""

    job: JobRecord
    pages: list[PageContent]
    threshold: int
    store: StoreReader
    repeated: frozenset[str] = frozenset()
    below_threshold: int = 0
    over_budget: list[str] = field(default_factory=list)
    max_tokens: int | None = None
    site: str = ""  # the "— Site" part the pages' titles share, if any

    def markdowns(self) -> Iterator[tuple[PageContent, str]]:
        """Each selected page with its Markdown (repeated blocks removed), read one at a time."""
        for page, markdown in zip(self.pages, self.store.markdowns(p.id for p in self.pages), strict=True):
            if self.repeated and not self.repeated.isdisjoint(page.block_hashes):
                markdown = drop_blocks(markdown, self.repeated)
            yield page, markdown


@dataclass(frozen=True)
class ExportSummary:
    """What an export holds; `tokens` is the exact o200k count, None when not counted."""

    format: str
    pages: int
    tokens: int | None
    below_threshold: int
    over_budget: list[str]

    @property
    def file_name(self) -> str:
        return FILE_NAMES[self.format]

    @property
    def mime(self) -> str:
        return MIME_TYPES[self.format]


@dataclass(frozen=True)
class ExportResult(ExportSummary):
    """An export held in memory (the dashboard's download buttons need bytes)."""

    data: bytes = b""


class ExportOptions(TypedDict, total=False):
    """What `write_export` takes besides where and what: the keywords `export` and
    `export_to_file` pass through."""

    threshold: int | None
    max_tokens: int | None
    count_tokens: bool
    order: str


def export(store: StoreReader, job_id: str, fmt: str = "paste", **options: Unpack[ExportOptions]) -> ExportResult:
    """Build one export in memory; see `write_export`."""
    buffer = io.BytesIO()
    summary = write_export(buffer, store, job_id, fmt, **options)
    return ExportResult(**vars(summary), data=buffer.getvalue())


def export_to_file(
    path: str | os.PathLike[str],
    store: StoreReader,
    job_id: str,
    fmt: str = "paste",
    **options: Unpack[ExportOptions],
) -> ExportSummary:
    """Write one export to `path` through a temporary file beside it, so a failure leaves
    an earlier file of that name as it was."""
    target = Path(path)
    partial = target.with_name(target.name + ".part")
    try:
        with open(partial, "wb") as out:
            summary = write_export(out, store, job_id, fmt, **options)
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ExportWriteError(f"cannot write {target}: {exc.strerror or exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return summary


def write_export(
    out: BinaryIO,
    store: StoreReader,
    job_id: str,
    fmt: str = "paste",
    *,
    threshold: int | None = None,
    max_tokens: int | None = None,
    count_tokens: bool = True,
    order: str = "site",
) -> ExportSummary:
    """Stream one export to `out`, page by page. Exact token counts (and a token budget,
    and JSONL's per-page counts) start a counter process for the length of the export;
    without them none is started."""
    if fmt not in FORMATS:
        raise UnknownFormatError(fmt, FORMATS)
    with TokenCounter() as counter:
        selection = select(store, job_id, threshold=threshold, order=order)
        if max_tokens:
            selection = fit(selection, max_tokens, counter)
        if fmt == "zip":
            total = _write_zip(selection, out, counter if count_tokens else None)
        else:
            for piece in _text_pieces(fmt, selection, counter):
                out.write(piece.encode("utf-8"))
                if count_tokens:
                    counter.feed(piece)  # the whole text's count, apart from any per-page counts
            total = counter.total() if count_tokens else None
    return ExportSummary(fmt, len(selection.pages), total, selection.below_threshold, selection.over_budget)


def select(store: StoreReader, job_id: str, *, threshold: int | None = None, order: str = "site") -> Selection:
    """The pages at or above the threshold, in reading (or URL) order, titles without the site part."""
    if order not in ORDERS:
        raise InvalidSettingError("order", order, "one of " + ", ".join(ORDERS))
    job = store.get_job(job_id)
    cutoff = job.settings.quality_threshold if threshold is None else threshold
    kept: list[PageContent] = []
    below = 0
    for page in store.completed_pages(job_id):
        if page.quality < cutoff:
            below += 1
        else:
            kept.append(page)
    if order == "site":
        positions = store.reading_positions(job_id, job.start_url)
        kept.sort(key=lambda p: (positions.get(p.id, len(positions)), p.id))
    else:
        kept.sort(key=lambda p: site_order(p.url))
    site = site_suffix([p.title for p in kept]) or _site_part(job.site_title or "", len(kept))
    if site:  # "Page — Site" on every page: the site part is noise in a paste that names the site once
        kept = [replace(p, title=short_title(p.title, site)) for p in kept]
    return Selection(job, kept, cutoff, store, store.repeated_blocks(job_id), below, site=site)


def site_order(url: str) -> tuple[str, ...]:
    """Sort key following the site's structure: path segments, a directory's index first."""
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.split("/")[1:]]
    if segments and segments[-1].lower() in INDEX_NAMES:
        segments[-1] = ""
    return (*segments, parts.query)


def outline_levels(urls: Iterable[str], deepest: int = 3) -> list[int]:
    """How far each page is indented in a contents list read in this order: under each
    directory index listed before it that holds it (`tutorial/index.html` heads
    `tutorial/intro.html`). A page whose directory has no index in the list sits under the
    nearest one that does, so pages never hang under an unrelated page before them."""
    levels: list[int] = []
    heads: list[str] = []  # the directories whose index pages are open, outermost first
    for url in urls:
        path = urlsplit(url).path or "/"
        directory = path[: path.rfind("/") + 1]
        is_index = path.rsplit("/", 1)[-1].lower() in INDEX_NAMES
        while heads and not (directory.startswith(heads[-1]) and not (is_index and directory == heads[-1])):
            heads.pop()
        levels.append(min(deepest, len(heads)))
        if is_index:
            heads.append(directory)
    return levels


# -- formats: each yields its text piece by piece ---------------------------------------


def paste(selection: Selection) -> Iterator[str]:
    """A title, what was left out, `## Contents`, then one `## <title>` section a page."""
    yield paste_head(selection)
    for page, markdown in selection.markdowns():
        yield _section(page, markdown, demote=2)


def paste_head(selection: Selection) -> str:
    job, pages = selection.job, selection.pages
    head = [f"# {site_title(selection)}", "", f"> Source: {job.start_url} · {len(pages)} pages · docspasta"]
    head += [f"> {line}" for line in _left_out_notes(selection)]
    anchors = _anchors(p.title for p in pages)
    head += ["", "## Contents", ""]
    levels = outline_levels(p.url for p in pages)
    for page, anchor, level in zip(pages, anchors, levels, strict=True):
        head.append(f"{'  ' * level}- [{page.title}](#{anchor})")
    return "\n".join(head) + "\n\n"


def llms_full(selection: Selection) -> Iterator[str]:
    yield "\n".join([f"# {site_title(selection)}", "", f"> {site_summary(selection)}", ""]) + "\n"
    for page, markdown in selection.markdowns():
        yield _section(page, markdown, demote=1)


def llms_txt(selection: Selection) -> Iterator[str]:
    """The llms.txt index: site title, summary, a section per top-level path, one line a page."""
    lines = [f"# {site_title(selection)}", "", f"> {site_summary(selection)}", ""]
    prefix = selection.job.scope_prefix or "/"
    groups: dict[str, list[str]] = {}
    named: dict[str, str] = {}  # a directory's name: the title of its index page, when it was crawled
    for page, markdown in selection.markdowns():
        path = urlsplit(page.url).path
        rest = path[len(prefix) :] if path.startswith(prefix) else ""
        head = rest.split("/", 1)[0] if "/" in rest else ""
        if head and _INDEX_PAGE.fullmatch(rest[len(head) :]):
            named[head] = page.title
        sentence = first_sentence(markdown)
        groups.setdefault(head, []).append(f"- [{page.title}]({page.url})" + (f": {sentence}" if sentence else ""))
    for head, entries in groups.items():
        lines += [f"## {named.get(head) or _section_name(head)}", "", *entries, ""]
    yield "\n".join(lines)


def jsonl(selection: Selection, counter: TokenCounter) -> Iterator[str]:
    """One page a line with its metadata and exact token count."""
    for page, markdown in selection.markdowns():
        yield json.dumps({
            "url": page.url, "title": page.title, "depth": page.depth, "quality": page.quality,
            "quality_reasons": list(page.quality_reasons), "words": len(markdown.split()),
            "tokens": counter.count(markdown), "source": page.source, "extractor": page.extractor,
            "fidelity": page.fidelity,
            "content_hash": page.content_hash, "markdown": markdown,
        }, ensure_ascii=False) + "\n"  # fmt: skip


def zip_entries(selection: Selection) -> Iterator[tuple[str, str]]:
    """(file name, text): llms.txt, then one Markdown file a page, named after its URL path."""
    yield "llms.txt", "".join(llms_txt(selection))
    used: set[str] = set()
    for page, markdown in selection.markdowns():
        yield _unique(page_path(page.url), used), f"# {page.title}\n\nSource: {page.url}\n\n{markdown}\n"


def _text_pieces(fmt: str, selection: Selection, counter: TokenCounter) -> Iterable[str]:
    if fmt == "jsonl":
        return jsonl(selection, counter)
    return {"paste": paste, "llms": llms_txt, "llms-full": llms_full}[fmt](selection)


def _write_zip(selection: Selection, out: BinaryIO, counter: TokenCounter | None) -> int | None:
    """The zip, one entry at a time; the token count is the sum of its files' counts."""
    total = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in zip_entries(selection):
            archive.writestr(name, text)
            if counter is not None:
                total += counter.count(text)
    return total if counter is not None else None


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
    """The site's name: the part its page titles share ("— Python 3.11 documentation"),
    else the start page's title."""
    job = selection.job
    title = job.site_title or job.start_url
    return selection.site or _site_part(title, len(selection.pages)) or title


def site_suffix(titles: list[str]) -> str:
    """The "Page — Site" part most titles end with (at least half of them, and two), or ""."""
    counts: dict[str, int] = {}
    for title in titles:
        for separator in SEPARATORS:
            if separator in title:
                part = title.rsplit(separator, 1)[-1].strip()
                counts[part] = counts.get(part, 0) + 1
                break
    best = max(counts, key=counts.__getitem__, default="")
    return best if best and counts[best] >= max(2, len(titles) / 2) else ""


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
    """The first sentence of the start page (else the first page), or a plain description."""
    start = next((p for p in selection.pages if p.url == selection.job.start_url), None)
    page = start or (selection.pages[0] if selection.pages else None)
    sentence = first_sentence(next(selection.store.markdowns([page.id]))) if page else ""
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


def _section(page: PageContent, markdown: str, *, demote: int) -> str:
    hashes = "#" * demote
    body = demote_headings(without_title(markdown, page.title), demote)
    return f"---\n\n{hashes} {page.title}\n\nSource: {page.url}\n\n{body}\n\n"


def without_title(markdown: str, title: str) -> str:
    """The page without a first heading that only repeats its title (and a rule right
    under it): the section's own heading already says it, and a reader should not meet
    every page's name twice in a row."""
    lines = markdown.lstrip("\n").split("\n", 1)
    heading = _FIRST_HEADING.fullmatch(lines[0])
    if heading is None or _plain(heading.group(1)) != _plain(title):
        return markdown
    rest = lines[1].lstrip("\n") if len(lines) > 1 else ""
    return _RULE.sub("", rest, count=1).lstrip("\n")


def _plain(text: str) -> str:
    """Heading or title text as read: link targets, code and emphasis marks, spacing and case dropped."""
    return " ".join(_MARKS.sub("", _LINK.sub(r"\1", text)).split()).casefold()


def _left_out_notes(selection: Selection) -> list[str]:
    notes = []
    if selection.below_threshold:
        notes.append(f"{selection.below_threshold} pages scoring below quality {selection.threshold} were left out.")
    if selection.over_budget:
        shown = ", ".join(selection.over_budget[:20]) + (" …" if len(selection.over_budget) > 20 else "")
        notes.append(f"{len(selection.over_budget)} pages left out to fit {selection.max_tokens:,} tokens: {shown}")
    return notes


def fit(selection: Selection, budget: int, counter: TokenCounter) -> Selection:
    """Keep the best pages (quality, then structure) whose sections fit the budget.

    Each section is counted once, exactly; the paste's count is its head's plus its
    sections' (they meet at blank lines, where o200k tokens end), so the final check
    recounts only the head, which names the pages kept and left out.
    """

    def structure(p: PageContent) -> int:
        return (p.fidelity or {}).get("headings_out", 0) + (p.fidelity or {}).get("fences_out", 0)

    sections = {page.id: counter.count(_section(page, md, demote=2)) for page, md in selection.markdowns()}
    ranked = sorted(selection.pages, key=lambda p: (-p.quality, -structure(p), p.depth, site_order(p.url)))
    used = counter.count(paste_head(replace(selection, pages=[]))) + 200
    kept: list[PageContent] = []
    for page in ranked:
        cost = sections[page.id] + estimate(page.title) + 8  # its section and its line in the contents
        if used + cost <= budget:
            kept.append(page)
            used += cost
    kept_ids = {p.id for p in kept}
    left = [p.url for p in ranked if p.id not in kept_ids]
    kept_in_order = [p for p in selection.pages if p.id in kept_ids]
    fitted = replace(selection, pages=kept_in_order, over_budget=left,
                     max_tokens=budget)  # fmt: skip

    def total(s: Selection) -> int:
        return counter.count(paste_head(s)) + sum(sections[p.id] for p in s.pages)

    while fitted.pages and total(fitted) > budget:  # the contents estimate was short: drop the weakest
        weakest = min(fitted.pages, key=lambda p: (p.quality, structure(p)))
        fitted = replace(fitted, pages=[p for p in fitted.pages if p is not weakest],
                         over_budget=[*fitted.over_budget, weakest.url])  # fmt: skip
    return fitted


def drop_blocks(markdown: str, repeated: frozenset[str]) -> str:
    """The Markdown without the text blocks repeated across the site (code and headings stay)."""
    kept = [
        block
        for block in split_blocks(markdown)
        if block.startswith(("```", "~~~", "#")) or block_hash(block) not in repeated
    ]
    return "\n\n".join(kept)


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


def paste_text(store: StoreReader, job_id: str, *, threshold: int | None = None, order: str = "site") -> str:
    """The paste as text (for the Python API's `JobResult.paste()`)."""
    return "".join(paste(select(store, job_id, threshold=threshold, order=order)))
