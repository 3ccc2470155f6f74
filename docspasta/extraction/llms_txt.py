"""Reading a site's /llms.txt (https://llmstxt.org): the pages its publisher chose for
language models, and the section each sits in.

The proposal's shape: an H1 title, an optional `> summary` blockquote, free text, then
H2 sections of `- [name](url): notes` lists; a section named "Optional" holds what can
be skipped. Real files stray from it (links in the prose, H3 subsections, reference
links), so any link outside code counts, under the H2 it follows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..urls import normalize
from .markdown_page import h1_in_prose, links_in_prose, prose, tidy

_H2 = re.compile(r" {0,3}##[ \t]+(?P<text>.*?)(?:[ \t]+#+)?[ \t]*")
_QUOTE = re.compile(r" {0,3}>[ \t]?(?P<text>.*)")
_HTML_START = re.compile(r"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.I | re.S)


@dataclass(frozen=True)
class LlmsTxt:
    title: str  # the H1
    summary: str  # the > blockquote, if any
    links: tuple[tuple[str, str, str], ...]  # (absolute normalised url, link title, its H2 section ("" before any))


def parse_llms_txt(text: str, url: str) -> LlmsTxt | None:
    """The llms.txt at `url`; None when the text is not one (HTML, such as a soft-404
    page, or neither a title nor a link). Relative links resolve against `url`."""
    if _HTML_START.match(text[:1024]):
        return None
    cleaned = prose(tidy(text.removeprefix("\ufeff")))
    sections = _sections(cleaned)
    title = h1_in_prose(sections[0][1])
    links = _links(sections, url)
    if not title and not links:
        return None
    return LlmsTxt(title=title, summary=_summary(sections[0][1]), links=links)


def _sections(cleaned: str) -> list[tuple[str, str]]:
    """(H2 heading, its text) in file order; the first is ("", what precedes any H2)."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    for line in cleaned.split("\n"):
        if heading := _H2.fullmatch(line):
            sections.append((" ".join(heading.group("text").split()), []))
        else:
            sections[-1][1].append(line)
    return [(heading, "\n".join(lines)) for heading, lines in sections]


def _summary(prelude: str) -> str:
    """The first blockquote before any section, its lines joined: the proposal's summary."""
    quoted: list[str] = []
    for line in prelude.split("\n"):
        if match := _QUOTE.fullmatch(line):
            quoted.append(match.group("text").strip())
        elif quoted:
            break
    return " ".join(part for part in quoted if part)


def _links(sections: list[tuple[str, str]], url: str) -> tuple[tuple[str, str, str], ...]:
    """Every section's links, resolved, in file order; a URL listed twice keeps its first
    place (an "Optional" repeat of a page listed above does not demote it)."""
    seen: dict[str, tuple[str, str, str]] = {}
    for heading, text in sections:
        for link in links_in_prose(text):
            if not link.href or link.href.startswith("#"):
                continue
            if (target := normalize(link.href, base=url)) is not None and target not in seen:
                seen[target] = (target, link.text, heading)
    return tuple(seen.values())
