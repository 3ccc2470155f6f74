"""A page's Markdown cut into the sections search indexes and returns: each heading (to
level 3) starts one, holding its text up to the next heading of level 3 or above, and
knowing its heading path (the page's title, then the headings above it). Pure; fences are
respected (a `#` line inside code is not a heading).

A search hit is then a section an agent can read on its own ("asyncio — Coroutines and
Tasks › Task Cancellation" and its text), not a whole page it has to wade through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidQueryError

MAX_LEVEL = 3  # deeper headings stay inside their section
SECTION_INSERT = (  # `?` placeholders: SQLite as is, PostgreSQL through QmarkConnection
    "INSERT INTO sections (job_id, page_id, ord, title, heading_path, headings, body) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
PATH_SEPARATOR = " › "
# English function words a question is full of ("how do I ...") and that say nothing of the
# topic; PostgreSQL's English configuration drops the same kind, so both backends agree
STOPWORDS = frozenset(
    "a an and are as at be but by can do does for from how i if in into is it its my no not of on or so "
    "such that the their then there these they this to was we what when where which while who why will "
    "with you your".split()
)
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_MARKUP = re.compile(r"[`*_]|\[([^\]]*)\]\([^)]*\)")


@dataclass(frozen=True)
class Section:
    ord: int  # its place in the page
    heading_path: str  # "Page title › Heading › Subheading"
    headings: str  # the section's own heading (what the headings field of the index weighs)
    markdown: str  # the heading line and its text


def split_sections(markdown: str, title: str) -> list[Section]:
    """The page's sections, in order; text before the first heading is a section of its own
    (under the page's title). A page without headings is one section."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    heading = ""
    fence: str | None = None

    def close() -> None:
        text = "\n".join(lines).strip()
        if text and not (heading and "\n" not in text):  # a heading with no text of its own is no hit
            names = [name for _, name in path]
            if not path or path[0][0] > 1:  # the page's own h1 names it; else its title does
                names.insert(0, title)
            sections.append(Section(len(sections), PATH_SEPARATOR.join(names), heading, text))

    for line in markdown.splitlines():
        if fence is None and (match := _FENCE.match(line)):
            fence = match.group(1)[0] * 3
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is None and (match := _HEADING.match(line)) and len(match.group(1)) <= MAX_LEVEL:
            close()
            level, name = len(match.group(1)), plain(match.group(2))
            path = [(lv, n) for lv, n in path if lv < level] + [(level, name)]
            heading, lines = name, []
        lines.append(line)
    close()
    return sections


def search_terms(query: str) -> list[str]:
    """The words of a search query, lowercased, each once, without English function words
    (both backends search for these; operators and quotes in a query are not syntax).
    InvalidQueryError if there are none."""
    words = list(dict.fromkeys(re.findall(r"\w+", query.lower())))
    if not words:
        raise InvalidQueryError(query)
    return [w for w in words if w not in STOPWORDS] or words  # "how to read a file" searches read, file


def plain(text: str) -> str:
    """A heading's text without Markdown markup (code ticks, emphasis, link targets)."""
    return _MARKUP.sub(lambda m: m.group(1) or "", text).strip()


def section_rows(
    job_id: str, page_id: int, title: str, markdown: str
) -> list[tuple[str, int, int, str, str, str, str]]:
    """The `sections` rows of a completed page: (job_id, page_id, ord, title, heading_path,
    headings, body), as both backends insert them."""
    return [(job_id, page_id, s.ord, title, s.heading_path, s.headings, s.markdown)
            for s in split_sections(markdown, title)]  # fmt: skip
