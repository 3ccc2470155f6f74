"""A 0-100 quality score for one page's Markdown, with the reasons that made it.

The score answers "is this worth a place in an LLM's context?": enough prose,
some structure, not a link farm, not an error page. Reasons are short strings with
their effect, e.g. "412 words (+40)", so a user tuning the threshold sees why.
"""

from __future__ import annotations

import re

# What is counted, line by line (re.M), and the same patterns after a line break: a
# literal first character lets the regex engine jump from break to break instead of
# trying every position (five times faster on a docs page). See _count_lines.
_HEADING = re.compile(r"^#{1,6} ", re.M)
_HEADING_AFTER_BREAK = re.compile(r"\n#{1,6} ")
_FENCE = re.compile(r"^```", re.M)
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.) ", re.M)
_LIST_ITEM_AFTER_BREAK = re.compile(r"\n\s*(?:[-*+]|\d+\.) ")
_ERROR_TITLE = re.compile(r"\b(404|not found|page not found|error 5\d\d|access denied|forbidden)\b", re.I)


def score(
    markdown: str, *, title: str, link_text_chars: int, text_chars: int, words: int | None = None
) -> tuple[int, tuple[str, ...]]:
    """Score a page; `link_text_chars`/`text_chars` come from the HTML's main body, `words`
    is len(markdown.split()) when the caller has it already."""
    if not markdown.strip():
        return 0, ("no extractable content (0)",)
    points = 0
    reasons: list[str] = []

    if words is None:
        words = len(markdown.split())
    length_points = 0 if words < 20 else 15 if words < 80 else 30 if words < 200 else 45
    points += length_points
    reasons.append(f"{words} words (+{length_points})")

    headings = _count_lines(markdown, _HEADING, _HEADING_AFTER_BREAK)
    if headings:
        points += 15
        reasons.append(f"{headings} headings (+15)")
    code_blocks = (markdown.startswith("```") + markdown.count("\n```")) // 2  # _FENCE's matches
    if code_blocks:
        points += 15
        reasons.append(f"{code_blocks} code blocks (+15)")
    list_items = _count_lines(markdown, _LIST_ITEM, _LIST_ITEM_AFTER_BREAK)
    if list_items:
        points += 10
        reasons.append(f"{list_items} list items (+10)")

    density = link_text_chars / text_chars if text_chars else 0.0
    if density > 0.6:
        points -= 25
        reasons.append(f"link density {density:.0%} (-25)")
    elif density < 0.3:
        points += 15
        reasons.append(f"link density {density:.0%} (+15)")

    if _ERROR_TITLE.search(title) and words < 200:
        points -= 50
        reasons.append(f"error-page title {title[:60]!r} (-50)")

    return max(0, min(100, points)), tuple(reasons)


def _count_lines(markdown: str, at_line_start: re.Pattern[str], after_break: re.Pattern[str]) -> int:
    """len(at_line_start.findall(markdown)): its match at the start of the text, then the
    matches of the same pattern preceded by the line break (none of them end with one, so
    the search from the end of the first match meets every line start the original meets)."""
    first = at_line_start.match(markdown)
    return bool(first) + len(after_break.findall(markdown, first.end() if first else 0))
