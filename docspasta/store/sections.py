"""A page's Markdown cut into the sections search indexes and returns: each heading (to
level 3) starts one, holding its text up to the next heading of level 3 or above, and
knowing its heading path (the page's title, then the headings above it). Pure; fences are
respected (a `#` line inside code is not a heading).

A search hit is then a section an agent can read on its own ("asyncio — Coroutines and
Tasks › Task Cancellation" and its text), not a whole page it has to wade through. A
section is stored as its place in the page's Markdown (`start`, `stop`), not a second copy,
and indexed without its link targets, which say nothing of the section's topic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import InvalidQueryError

MAX_LEVEL = 3  # deeper headings stay inside their section
PATH_SEPARATOR = " › "
SECTION_INSERT = (  # `?` placeholders: SQLite as is, PostgreSQL through QmarkConnection
    "INSERT INTO sections (job_id, page_id, ord, title, heading_path, headings, text, start, stop) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SNIPPET_WORDS = 32
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
_LINK_TARGET = re.compile(r"\]\([^)]*\)")  # [label](target): the label stays


@dataclass(frozen=True)
class Section:
    ord: int  # its place in the page
    heading_path: str  # "Page title › Heading › Subheading"
    headings: str  # the section's own heading (what the headings field of the index weighs)
    start: int  # where it is in the page's Markdown (characters)
    stop: int


def split_sections(markdown: str, title: str) -> list[Section]:
    """The page's sections, in order; text before the first heading is a section of its own
    (under the page's title), a heading with no text of its own is none. A page without
    headings is one section."""
    sections: list[Section] = []
    path: list[tuple[int, str]] = []
    heading, start, position = "", 0, 0
    fence: str | None = None

    def close(stop: int) -> None:
        text = markdown[start:stop].strip()
        if text and not (heading and "\n" not in text):
            names = [name for _, name in path]
            if not path or path[0][0] > 1:  # the page's own h1 names it; else its title does
                names.insert(0, title)
            sections.append(Section(len(sections), PATH_SEPARATOR.join(names), heading, start, stop))

    for line in markdown.splitlines(keepends=True):
        if fence is None and (match := _FENCE.match(line)):
            fence = match.group(1)[0] * 3
        elif fence is not None and line.strip().startswith(fence):
            fence = None
        elif fence is None and (match := _HEADING.match(line.rstrip("\r\n"))) and len(match.group(1)) <= MAX_LEVEL:
            close(position)
            level, name = len(match.group(1)), plain(match.group(2))
            path = [(lv, n) for lv, n in path if lv < level] + [(level, name)]
            heading, start = name, position
        position += len(line)
    close(position)
    return sections


def section_rows(job_id: str, page_id: int, title: str, markdown: str) -> list[tuple[object, ...]]:
    """The `sections` rows of a completed page, as both backends insert them (SECTION_INSERT)."""
    return [(job_id, page_id, s.ord, title, s.heading_path, s.headings, index_text(markdown[s.start : s.stop]),
             s.start, s.stop) for s in split_sections(markdown, title)]  # fmt: skip


def index_text(markdown: str) -> str:
    """What the index reads of a section: its words and code, without link targets (a
    cross-reference's URL would make every page that links to `asyncio-task.html` a hit for
    "asyncio task"). Markup needs no stripping: the tokenizers skip punctuation."""
    return _LINK_TARGET.sub("]", markdown)


def search_terms(query: str) -> list[str]:
    """The words of a search query, lowercased, each once, without English function words
    (both backends search for these; operators and quotes in a query are not syntax).
    InvalidQueryError if there are none."""
    words = list(dict.fromkeys(re.findall(r"\w+", query.lower())))
    if not words:
        raise InvalidQueryError(query)
    return [w for w in words if w not in STOPWORDS] or words  # "how to read a file" searches read, file


def snippet(text: str, terms: list[str], words: int = SNIPPET_WORDS) -> str:
    """The run of `words` words of a section's indexed text that holds the most query terms
    (matched by their stem-like start, as the index stems them), those **marked**."""
    tokens = text.split()
    if not tokens:
        return ""
    stems = [t[: max(4, len(t) - 2)] for t in terms]
    hit = [any(stem in token.lower() for stem in stems) for token in tokens]
    best = max(range(max(1, len(tokens) - words + 1)), key=lambda i: (sum(hit[i : i + words]), -i))
    shown = [f"**{token}**" if hit[i] else token for i, token in enumerate(tokens[best : best + words], best)]
    return ("… " if best else "") + " ".join(shown) + (" …" if best + words < len(tokens) else "")


def plain(text: str) -> str:
    """A heading's text without Markdown markup (code ticks, emphasis, link targets)."""
    return _MARKUP.sub(lambda m: m.group(1) or "", text).strip()
