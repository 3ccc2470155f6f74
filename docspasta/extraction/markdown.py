"""Our HTML-to-Markdown rules, built for documentation.

What general extractors get wrong on docs and this gets right: code blocks verbatim in
fences with their language (whitespace kept, nothing escaped), inline code, heading
levels, GFM tables (HTML where GFM cannot express the table), nested lists, absolute
links, images as alt text with URL, admonitions as quotes, API signatures (`dt`) kept.
Input is an lxml element already stripped of chrome (docs_rules.strip_noise); the
converter also counts what went in and what came out, for the fidelity report.
"""

from __future__ import annotations

import copy
import re
from dataclasses import asdict, dataclass
from functools import lru_cache
from urllib.parse import urljoin

from lxml import etree

from .htmltree import Element, class_set, drop, text_of

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCK_TAGS = frozenset(
    "address article aside blockquote body center dd details dialog dir div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hgroup hr html li main menu nav ol p pre section summary table "
    "tbody td tfoot th thead tr ul".split()
)
CODE_TAGS = frozenset(("code", "kbd", "samp", "tt", "var"))
SKIP_TAGS = frozenset("script style noscript template svg button input select textarea iframe head title".split())
# What inline() and block() do with a tag, decided by one dict lookup (comments, processing
# instructions and entities, whose tag is a factory function, are skipped).
_PLAIN, _SKIP, _CODE, _BR, _IMG, _STRONG, _EM, _LINK, _BLOCK = range(9)
_INLINE_KIND: dict[object, int] = {
    **dict.fromkeys(BLOCK_TAGS, _BLOCK),
    **dict.fromkeys((etree.Comment, etree.ProcessingInstruction, etree.Entity, *SKIP_TAGS), _SKIP),
    **dict.fromkeys(CODE_TAGS, _CODE),
    **{"br": _BR, "img": _IMG, "strong": _STRONG, "b": _STRONG, "em": _EM, "i": _EM, "cite": _EM, "a": _LINK},
}
_UNRENDERED = (*SKIP_TAGS, etree.Comment, etree.ProcessingInstruction, etree.Entity)  # inline() drops their text
_HEADING, _PRE, _LIST, _TABLE, _DL, _QUOTE, _HR, _P = range(9, 17)
_BLOCK_KIND: dict[object, int] = {
    **dict.fromkeys(SKIP_TAGS, _SKIP),
    **dict.fromkeys(HEADINGS, _HEADING),
    **dict.fromkeys(("ul", "ol", "menu", "dir"), _LIST),
    **{"pre": _PRE, "table": _TABLE, "dl": _DL, "blockquote": _QUOTE, "hr": _HR, "p": _P},
}
ADMONITION_CLASSES = frozenset(
    "admonition note warning tip caution important attention danger hint seealso custom-block callout "
    "theme-admonition alert".split()
)
ADMONITION_TITLE = re.compile(r"(^|\s)(admonition-title|custom-block-title|admonitionHeading\w*|title)(\s|$)")
LANG_PATTERNS = (
    re.compile(r"(?:^|\s)highlight-([\w+#.-]+)"),
    re.compile(r"(?:^|\s)language-([\w+#.-]+)"),
    re.compile(r"(?:^|\s)lang-([\w+#.-]+)"),
    re.compile(r"brush:\s*([\w+#-]+)"),
)
LANG_ALIASES = {"python3": "python", "py": "python", "py3": "python", "sh": "sh", "shell-session": "console"}
NO_LANG = frozenset({"default", "none", "text", "plaintext", "plain", "txt", "nohighlight", "output", "notranslate"})
BARE_LANG_CLASSES = frozenset({"rust", "python", "java", "c", "cpp", "javascript", "js", "sql", "bash", "console"})
_SPACE = re.compile(r"[ \t\r\n\f\v]+")
_LINE_START = re.compile(r"^(#{1,6}\s|[-*+]\s|>|\d+[.)]\s|=+\s*$|-{3,}\s*$)")


@dataclass
class Fidelity:
    """What the main content had and what the Markdown kept."""

    pre_in: int = 0
    fences_out: int = 0
    tables_in: int = 0
    tables_out: int = 0
    headings_in: int = 0
    headings_out: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def convert(main: Element, base_url: str) -> tuple[str, Fidelity]:
    return _Converter(base_url).run(main)


class _Converter:
    def __init__(self, base_url: str) -> None:
        self.base = base_url
        self.fidelity = Fidelity()
        self.unrendered = True  # may main hold text inline() drops (skipped tags, comments)?

    def run(self, main: Element) -> tuple[str, Fidelity]:
        self._count_input(main)
        markdown = "\n\n".join(b for b in self.blocks(main) if b.strip())
        return markdown.strip(), self.fidelity

    def _count_input(self, main: Element) -> None:
        """What went in: code blocks, data tables (and div grids), headings; and whether any
        text will be left out (see _signature). One pass, lxml filtering the tags in C (four
        passes cost a tenth of a median page's conversion)."""
        f = self.fidelity
        self.unrendered = False
        for el in main.iter("pre", "table", "div", *HEADINGS, *_UNRENDERED):
            tag = el.tag
            if tag == "div":
                f.tables_in += bool(_grid_columns(el))
            elif tag == "pre":
                f.pre_in += 1
            elif tag == "table":
                f.tables_in += not is_layout_table(el)
            elif tag in HEADINGS:
                f.headings_in += 1
            else:
                self.unrendered = True

    # -- blocks -------------------------------------------------------------------------

    def blocks(self, el: Element) -> list[str]:
        """Render el's content as Markdown blocks (inline runs become paragraphs)."""
        out: list[str] = []
        text = el.text
        # whitespace opening a run is stripped when the run is flushed: not even collected
        # (it is most of the text between the blocks of a section)
        run: list[str] = [_text(text)] if text and not text.isspace() else []
        inline = self.inline
        for child in el:
            tag = child.tag
            if tag in BLOCK_TAGS or ((tag == "span" or tag == "a") and len(child) and _wraps_blocks(child)):
                if run:
                    _flush(run, out)
                    run = []
                out.extend(self.block(child))
            else:
                run.append(inline(child))
            tail = child.tail
            if tail and (run or not tail.isspace()):
                run.append(_text(tail))
        if run:
            _flush(run, out)
        return out

    def block(self, el: Element) -> list[str]:
        tag = el.tag
        kind = _BLOCK_KIND.get(tag)
        if kind is None:
            if self._is_admonition(el):
                return [self.admonition(el)]
            if tag == "div" and (columns := _grid_columns(el)):
                return [self.grid(el, columns)]
            return self.blocks(el)
        if kind == _P:  # inline(el) less its " {inner.strip()} " wrapping, which _tidy_inline undoes
            return [_escape_line_starts(_tidy_inline(self._inner(el) if len(el) else _text(el.text)))]
        if kind == _PRE:
            return [self.fence(el)]
        if kind == _DL:
            return self.definitions(el)
        if kind == _HEADING:
            text = self.inline(el).replace("\n", " ").strip()
            if not text:
                return []
            self.fidelity.headings_out += 1
            return [f"{'#' * HEADINGS[tag]} {text}"]
        if kind == _LIST:
            if _holds_sections(el):
                return self.blocks(el)  # sections laid out as a list (Javadoc): structure, not bullets
            return [self.listing(el, ordered=tag == "ol")]
        if kind == _TABLE:
            return self.table(el)
        if kind == _QUOTE:
            return [_quote("\n\n".join(self.blocks(el)))]
        if kind == _HR:
            return ["---"]
        return []  # _SKIP

    # -- code ---------------------------------------------------------------------------

    def fence(self, pre: Element) -> str:
        for br in pre.iter("br"):
            br.tail = "\n" + (br.tail or "")
        code = text_of(pre)
        if code.startswith("\n"):
            code = code[1:]
        code = code.rstrip()
        longest = max((len(m) for m in _FENCE_TICKS.findall(code)), default=2) if "```" in code else 2
        ticks = "`" * max(3, longest + 1)
        self.fidelity.fences_out += 1
        return f"{ticks}{_language(pre)}\n{code}\n{ticks}"

    # -- lists --------------------------------------------------------------------------

    def listing(self, el: Element, *, ordered: bool) -> str:
        items = []
        try:
            number = int(el.get("start", "1"))
        except ValueError:
            number = 1
        for li in el.iterchildren("li"):
            marker = f"{number}. " if ordered else "- "
            number += 1
            parts = self.blocks(li)
            if len(parts) < 2:  # the common item, one paragraph: never loose
                body = parts[0] if parts else ""
            else:
                loose = sum(not p.startswith(("- ", "1. ")) for p in parts) > 1
                body = ("\n\n" if loose else "\n").join(parts)
            # continuation lines indented under the marker, empty lines left empty
            items.append(marker + (_LINE_AFTER_BREAK.sub("\n" + " " * len(marker), body) if "\n" in body else body))
        return "\n".join(items)

    # -- tables -------------------------------------------------------------------------

    def table(self, el: Element) -> list[str]:
        rows = _rows(el)
        if not rows:
            return []
        cells = [list(row.iterchildren("th", "td")) for row in rows]
        if is_layout_table(el):  # columns of lists (indexes), one-cell wrappers: content, not data
            return [block for row in cells for cell in row for block in self.blocks(cell)]
        self.fidelity.tables_out += 1
        complex_ = any(c.get("rowspan", "1") != "1" or c.get("colspan", "1") != "1" for row in cells for c in row)
        complex_ = complex_ or bool(_BLOCKS_IN_CELLS(el))
        if complex_:
            return [_clean_html(el)]
        width = max(len(r) for r in cells)
        text_rows = [[self._cell(c) for c in row] + [""] * (width - len(row)) for row in cells]
        header, body = text_rows[0], text_rows[1:]
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
        lines += ["| " + " | ".join(row) + " |" for row in body]
        caption = el.find("caption")
        title = [f"*{self.inline(caption).strip()}*"] if caption is not None and text_of(caption).strip() else []
        return [*title, "\n".join(lines)]

    def grid(self, el: Element, columns: int) -> str:
        """Javadoc's div-grid summary tables: cells in row-major order, `columns` wide."""
        cells = [self._cell(c) for c in el if isinstance(c.tag, str) and c.tag == "div"]
        rows = [cells[i : i + columns] for i in range(0, len(cells), columns)]
        rows[-1] += [""] * (columns - len(rows[-1]))
        self.fidelity.tables_out += 1
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "|".join(" --- " for _ in range(columns)) + "|"]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows[1:]])

    def _cell(self, cell: Element) -> str:
        text = " ".join(part.strip() for part in self.blocks(cell))
        return text.replace("\n", " ").replace("|", "\\|").strip()

    # -- definition lists, admonitions ---------------------------------------------------

    def definitions(self, el: Element) -> list[str]:
        out: list[str] = []
        for child in el:
            if child.tag == "dt":
                value = child.get("class")
                signature = (value is not None and "sig" in class_set(value)) or child.get("id")
                if signature and (code := _signature(child, self.unrendered)):
                    out.append(f"`{code}`")
                    continue
                term = self.inline(child).replace("\n", " ").strip()
                if not term:
                    continue
                out.append(f"`{_SPACE.sub(' ', text_of(child)).strip()}`" if signature else f"**{term}**")
            elif child.tag == "dd":
                out.extend(self.blocks(child))
            elif isinstance(child.tag, str):
                out.extend(self.block(child))
        return out

    def _is_admonition(self, el: Element) -> bool:
        if el.tag not in ("div", "aside", "section"):
            return False
        value = el.get("class")
        return bool(value) and not ADMONITION_CLASSES.isdisjoint(class_set(value))

    def admonition(self, el: Element) -> str:
        title = ""
        for child in el:
            if not isinstance(child.tag, str):
                continue
            if ADMONITION_TITLE.search(child.get("class") or "") or child.tag in HEADINGS:
                title = _SPACE.sub(" ", text_of(child)).strip()
                drop(child)
            break
        body = "\n\n".join(self.blocks(el))
        head = f"**{title}**" if title else ""
        return _quote(f"{head}\n\n{body}".strip() if head else body)

    # -- inline -------------------------------------------------------------------------

    def inline(self, el: Element) -> str:
        """Called for every inline element of the page (a thousand on a median page): one
        dict lookup decides what the tag is, and leaves skip the join over their children."""
        kind = _INLINE_KIND.get(el.tag, _PLAIN)
        if kind == _SKIP:
            return ""
        if kind == _CODE:
            parent = el.getparent()
            if parent is not None and parent.tag != "pre":
                return _code_span(text_of(el))
        elif kind == _BR:
            return "\n"
        elif kind == _IMG:
            src = el.get("src") or el.get("data-src") or ""
            alt = _SPACE.sub(" ", el.get("alt") or "").strip()
            return f"![{alt}]({absolute(self.base, src)})" if src else alt
        inner = self._inner(el) if len(el) else _text(el.text)
        if kind in (_PLAIN, _CODE):
            return inner
        if kind == _LINK:
            return self.link(el, inner)
        if kind == _STRONG:
            return _wrap(inner, "**")
        if kind == _EM:
            return _wrap(inner, "*")
        return f" {inner.strip()} "  # block content inside inline context: keep it on its own line

    def _inner(self, el: Element) -> str:
        """el's text and its children's Markdown, each followed by its tail."""
        text = el.text
        parts = [_text(text)] if text else []
        inline = self.inline
        for child in el:
            parts.append(inline(child))
            tail = child.tail
            if tail:
                parts.append(_text(tail))
        return "".join(parts)

    def link(self, el: Element, label: str) -> str:
        href = el.get("href")
        href = href.strip() if href else ""
        label = label.strip()
        if not label:
            return ""
        if not href or href.startswith(("#", "javascript:")):
            return label
        return f"[{label}]({absolute(self.base, href)})"


def _signature(dt: Element, unrendered: bool) -> str:
    """An API signature's text, when rendering the <dt> as inline Markdown (two dozen spans
    per signature in Sphinx) is sure to give a non-empty term: every text node reaches the
    inline rendering unless it is under a skipped tag or is a comment (looked for only
    if the content has some: `unrendered`). "" otherwise."""
    code = _collapse(text_of(dt)).strip()
    if code and not (unrendered and next(dt.iter(*_UNRENDERED), None) is not None):
        return code
    return ""


def _flush(run: list[str], out: list[str]) -> None:
    """A run of inline Markdown becomes a paragraph block, if it has any text."""
    text = "".join(run).strip()
    if text:
        out.append(_escape_line_starts(_tidy_inline(text)))


def _text(value: str | None) -> str:
    if not value:
        return ""
    if "\n" not in value and "  " not in value and "\t" not in value and "\r" not in value:
        return value
    if not value.strip(" \t\r\n\f\v"):
        return " "  # the whitespace between elements (mostly a bare line break): no regex
    # prose wrapped at 80 columns (and two spaces after a full stop): str.replace, no regex
    spaced = value.replace("\n", " ")
    if "\t" in spaced or "\r" in spaced or "\f" in spaced or "\v" in spaced:
        return _SPACE.sub(" ", value)
    while "  " in spaced:
        spaced = spaced.replace("  ", " ")
    return spaced


_WRAPPED_BLOCKS = frozenset({"pre", "div", "p", "table", "ul", "ol"})
_LINE_AFTER_BREAK = re.compile(r"\n(?=[^\n])")


def _wraps_blocks(el: Element) -> bool:
    """An inline-tagged element (span, a) wrapping block content is treated as a block."""
    return any(c.tag in _WRAPPED_BLOCKS for c in el)


def absolute(base: str, href: str) -> str:
    """urljoin with the common cases first: absolute hrefs as they are, and a cache keyed
    on the base's directory so a site's repeated relative links resolve once.

    Most links in docs point at an anchor (`os.html#os.path.join`: 86% of the Python
    docs' links) and anchors rarely repeat, so the fragment is joined outside the cache:
    urljoin passes a fragment through untouched unless it holds a tab or line break
    (which urljoin deletes), or the path before it is empty or starts with a space or
    control character (which urljoin strips)."""
    if href.startswith(("http://", "https://")):
        return href
    if href.startswith("?"):
        return urljoin(base, href)
    directory = base[: base.rfind("/") + 1]
    path, _, fragment = href.partition("#")
    if fragment and path[:1] > " " and "\t" not in fragment and "\n" not in fragment and "\r" not in fragment:
        return f"{_join(directory, path)}#{fragment}"
    return _join(directory, href)


@lru_cache(maxsize=16384)
def _join(directory: str, href: str) -> str:
    return urljoin(directory, href)


def _tidy_inline(text: str) -> str:
    """Each line's whitespace runs collapsed to one space, lines stripped, empty lines dropped."""
    if "\n" not in text:
        return _collapse(text).strip()
    return "\n".join(line for line in map(str.strip, _LINE_SPACE.sub(" ", text).split("\n")) if line)


_LINE_SPACE = re.compile(r"[ \t\r\f\v]+")


def _collapse(text: str) -> str:
    """_SPACE.sub(" ", text), without running the regex on text it would not change."""
    if "  " in text or "\n" in text or "\t" in text or "\r" in text or "\f" in text or "\v" in text:
        return _SPACE.sub(" ", text)
    return text


def _wrap(text: str, mark: str) -> str:
    stripped = text.strip()
    if not stripped:
        return text
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return f"{lead}{mark}{stripped}{mark}{trail}"


def _code_span(text: str) -> str:
    text = _collapse(text)
    if not text.strip():
        return text
    if "`" not in text:
        return f"`{text}`"
    longest = max(len(m) for m in _BACKTICKS.findall(text))
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


_BACKTICKS = re.compile(r"`+")
_FENCE_TICKS = re.compile(r"`{3,}")


_BLOCKS_IN_CELLS = etree.XPath(".//td//pre | .//td//ul | .//td//ol | .//td//table | .//th//table")


def _rows(table: Element) -> list[Element]:
    """The table's rows in document order (XPath `./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr`,
    which compiled anew on every call cost more than the walk)."""
    rows = []
    for child in table:
        tag = child.tag
        if tag == "tr":
            rows.append(child)
        elif tag == "thead" or tag == "tbody" or tag == "tfoot":
            rows.extend(child.iterchildren("tr"))
    return rows


def is_layout_table(table: Element) -> bool:
    """A table used for layout: one cell, or no header cells and block content in cells."""
    cells = [c for row in _rows(table) for c in row.iterchildren("th", "td")]
    if len(cells) <= 1:
        return True
    has_header = any(c.tag == "th" for c in cells) or table.find("thead") is not None
    if has_header:
        return False
    # cells holding lists, code, nested tables or several paragraphs are page layout
    return any(
        any(b.tag in ("ul", "ol", "dl", "table", "pre", "div") for b in c) or sum(b.tag == "p" for b in c) > 1
        for c in cells
    )


def _unwrap(el: Element) -> None:
    """Replace an element by its content (text, children, tail), keeping document order."""
    parent = el.getparent()
    if parent is None:
        return
    index = parent.index(el)
    children = list(el)
    text = (el.text or "") + ("" if children else (el.tail or ""))
    previous = parent[index - 1] if index > 0 else None
    if previous is not None:
        previous.tail = (previous.tail or "") + text
    else:
        parent.text = (parent.text or "") + text
    for offset, child in enumerate(children):
        parent.insert(index + offset, child)
    if children:
        children[-1].tail = (children[-1].tail or "") + (el.tail or "")
    parent.remove(el)


def _holds_sections(listing: Element) -> bool:
    """Do the list's items hold headings (li > h2, li > section > h2)? Looks two levels
    down only: a subtree search here made nested tables of contents quadratic."""
    for li in listing:
        for child in li:
            if child.tag in HEADINGS:
                return True
            if child.tag in ("section", "div") and any(g.tag in HEADINGS for g in child):
                return True
    return False


_GRID = re.compile(r"(?:^|\s)(two|three|four)-column-summary(?:\s|$)")


def _grid_columns(el: Element) -> int:
    value = el.get("class")
    if not value or "-column-summary" not in value:
        return 0
    match = _GRID.search(value)
    return {"two": 2, "three": 3, "four": 4}[match.group(1)] if match else 0


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _escape_line_starts(text: str) -> str:
    """A backslash before lines Markdown would read as a heading, list item, quote or rule."""
    if "\n" not in text:
        first = text[:1]
        if (first in _BLOCK_STARTERS or first.isdecimal()) and _LINE_START.match(text):
            return "\\" + text
        return text
    if not _may_start_block(text) and not _BREAK_THEN_BLOCK_START.search(text):
        return text
    return "\n".join(
        "\\" + line if _may_start_block(line) and _LINE_START.match(line) else line for line in text.split("\n")
    )


_BLOCK_STARTERS = frozenset("#-*+>=")
_BREAK_THEN_BLOCK_START = re.compile(r"\n[-#*+>=\d]")  # a line _may_start_block, after the first


def _may_start_block(line: str) -> bool:
    """Can _LINE_START match this line? Its first character decides (\\d is any decimal digit)."""
    first = line[:1]
    return first in _BLOCK_STARTERS or first.isdecimal()


def _language(pre: Element) -> str:
    candidates = [pre, *pre.iterchildren("code")]
    ancestor = pre.getparent()
    for _ in range(3):
        if ancestor is None:
            break
        candidates.append(ancestor)
        ancestor = ancestor.getparent()
    for el in candidates:
        names = el.keys()
        for attr in ("data-lang", "data-language", "language"):
            if attr in names and (value := (el.get(attr) or "").strip().lower()):
                return _lang_name(value)
        classes = (el.get("class") or "") if "class" in names else ""
        if classes and (language := _class_language(classes)) is not None:
            return language
        if el is pre:
            bare = [c for c in classes.split() if c in BARE_LANG_CLASSES]
            if bare:
                return _lang_name(bare[0])
    return ""


@lru_cache(maxsize=4096)
def _class_language(classes: str) -> str | None:
    """The language the first matching LANG_PATTERNS names in a class attribute ("" for
    a "no language" name), None if none matches. Cached: code blocks share a few classes."""
    for pattern in LANG_PATTERNS:
        if match := pattern.search(classes):
            return _lang_name(match.group(1).lower())
    return None


def _lang_name(value: str) -> str:
    value = LANG_ALIASES.get(value, value)
    return "" if value in NO_LANG else value


def _clean_html(table: Element) -> str:
    """A table GFM cannot express, as plain HTML: structure kept, attributes dropped."""
    clone = copy.deepcopy(table)
    clone.tail = None
    for el in list(clone.iter("colgroup", "col")):
        drop(el)
    for el in list(clone.iter()):
        if not isinstance(el.tag, str):
            continue
        if el.tag in ("p", "span", "div", "font", "center") and el is not clone:
            _unwrap(el)
            continue
        keep = {k: v for k, v in el.attrib.items() if k in ("colspan", "rowspan", "href", "src", "alt")}
        el.attrib.clear()
        el.attrib.update(keep)
    return etree.tostring(clone, encoding="unicode", method="html").strip()
