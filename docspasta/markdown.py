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

from .htmltree import Element, drop, text_of

HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
BLOCK_TAGS = frozenset(
    "address article aside blockquote body center dd details dialog dir div dl dt fieldset figcaption figure "
    "footer form h1 h2 h3 h4 h5 h6 header hgroup hr html li main menu nav ol p pre section summary table "
    "tbody td tfoot th thead tr ul".split()
)
SKIP_TAGS = frozenset("script style noscript template svg button input select textarea iframe head title".split())
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

    def run(self, main: Element) -> tuple[str, Fidelity]:
        f = self.fidelity
        f.pre_in = sum(1 for _ in main.iter("pre"))  # lxml filters by tag in C
        f.tables_in = sum(not is_layout_table(t) for t in main.iter("table")) + sum(
            1 for d in main.iter("div") if _grid_columns(d)
        )
        f.headings_in = sum(1 for _ in main.iter("h1", "h2", "h3", "h4", "h5", "h6"))
        markdown = "\n\n".join(b for b in self.blocks(main) if b.strip())
        return markdown.strip(), f

    # -- blocks -------------------------------------------------------------------------

    def blocks(self, el: Element) -> list[str]:
        """Render el's content as Markdown blocks (inline runs become paragraphs)."""
        out: list[str] = []
        run: list[str] = [_text(el.text)]
        for child in el:
            tag = child.tag if isinstance(child.tag, str) else ""
            if tag in BLOCK_TAGS or (tag and self._is_block_content(child)):
                self._flush(run, out)
                out.extend(self.block(child))
                run = [_text(child.tail)]
            else:
                run.append(self.inline(child) if tag else "")
                run.append(_text(child.tail))
        self._flush(run, out)
        return out

    def block(self, el: Element) -> list[str]:
        tag = el.tag
        if tag in SKIP_TAGS:
            return []
        if tag in HEADINGS:
            text = self.inline(el).replace("\n", " ").strip()
            if not text:
                return []
            self.fidelity.headings_out += 1
            return [f"{'#' * HEADINGS[tag]} {text}"]
        if tag == "pre":
            return [self.fence(el)]
        if tag in ("ul", "ol", "menu", "dir"):
            if _holds_sections(el):
                return self.blocks(el)  # sections laid out as a list (Javadoc): structure, not bullets
            return [self.listing(el, ordered=tag == "ol")]
        if tag == "table":
            return self.table(el)
        if tag == "dl":
            return self.definitions(el)
        if tag == "blockquote":
            return [_quote("\n\n".join(self.blocks(el)))]
        if tag == "hr":
            return ["---"]
        if tag == "p":
            return [_escape_line_starts(_tidy_inline(self.inline(el)))]
        if self._is_admonition(el):
            return [self.admonition(el)]
        if tag == "div" and (columns := _grid_columns(el)):
            return [self.grid(el, columns)]
        return self.blocks(el)

    def _flush(self, run: list[str], out: list[str]) -> None:
        text = "".join(run).strip()
        if text:
            out.append(_escape_line_starts(_tidy_inline(text)))
        run.clear()

    def _is_block_content(self, el: Element) -> bool:
        """An inline-tagged element (span, a) wrapping block content is treated as a block."""
        return el.tag in ("span", "a") and any(c.tag in _WRAPPED_BLOCKS for c in el)

    # -- code ---------------------------------------------------------------------------

    def fence(self, pre: Element) -> str:
        for br in pre.iter("br"):
            br.tail = "\n" + (br.tail or "")
        code = text_of(pre)
        if code.startswith("\n"):
            code = code[1:]
        code = code.rstrip()
        longest = max((len(m) for m in re.findall(r"`{3,}", code)), default=2)
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
            loose = sum(not p.startswith(("- ", "1. ")) for p in parts) > 1
            body = ("\n\n" if loose else "\n").join(parts) or ""
            lines = body.split("\n")
            pad = " " * len(marker)
            items.append(marker + lines[0] + "".join("\n" + (pad + line if line else "") for line in lines[1:]))
        return "\n".join(items)

    # -- tables -------------------------------------------------------------------------

    def table(self, el: Element) -> list[str]:
        rows = el.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
        if not rows:
            return []
        cells = [row.xpath("./th | ./td") for row in rows]
        if is_layout_table(el):  # columns of lists (indexes), one-cell wrappers: content, not data
            return [block for row in cells for cell in row for block in self.blocks(cell)]
        self.fidelity.tables_out += 1
        complex_ = any(c.get("rowspan", "1") != "1" or c.get("colspan", "1") != "1" for row in cells for c in row)
        complex_ = complex_ or bool(el.xpath(".//td//pre | .//td//ul | .//td//ol | .//td//table | .//th//table"))
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
                term = self.inline(child).replace("\n", " ").strip()
                if not term:
                    continue
                signature = "sig" in (child.get("class") or "").split() or child.get("id")
                out.append(f"`{_SPACE.sub(' ', text_of(child)).strip()}`" if signature else f"**{term}**")
            elif child.tag == "dd":
                out.extend(self.blocks(child))
            elif isinstance(child.tag, str):
                out.extend(self.block(child))
        return out

    def _is_admonition(self, el: Element) -> bool:
        classes = set((el.get("class") or "").split())
        return el.tag in ("div", "aside", "section") and bool(classes & ADMONITION_CLASSES)

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
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in SKIP_TAGS or not tag:
            return ""
        if tag in ("code", "kbd", "samp", "tt", "var") and el.getparent() is not None and el.getparent().tag != "pre":
            return _code_span(text_of(el))
        if tag == "br":
            return "\n"
        if tag == "img":
            src = el.get("src") or el.get("data-src") or ""
            alt = _SPACE.sub(" ", el.get("alt") or "").strip()
            return f"![{alt}]({absolute(self.base, src)})" if src else alt
        inner = _text(el.text) + "".join(self.inline(c) + _text(c.tail) for c in el)
        if tag in ("strong", "b"):
            return _wrap(inner, "**")
        if tag in ("em", "i", "cite"):
            return _wrap(inner, "*")
        if tag == "a":
            return self.link(el, inner)
        if tag in BLOCK_TAGS:  # block content inside inline context: keep it on its own line
            return f" {inner.strip()} "
        return inner

    def link(self, el: Element, label: str) -> str:
        href = (el.get("href") or "").strip()
        label = label.strip()
        if not label:
            return ""
        if not href or href.startswith(("#", "javascript:")):
            return label
        return f"[{label}]({absolute(self.base, href)})"


def _text(value: str | None) -> str:
    if not value:
        return ""
    if "\n" not in value and "  " not in value and "\t" not in value and "\r" not in value:
        return value
    return _SPACE.sub(" ", value)


_WRAPPED_BLOCKS = frozenset({"pre", "div", "p", "table", "ul", "ol"})


def absolute(base: str, href: str) -> str:
    """urljoin with the common cases first: absolute hrefs as they are, and a cache keyed
    on the base's directory so a site's repeated relative links resolve once."""
    if href.startswith(("http://", "https://")):
        return href
    if href.startswith("?"):
        return urljoin(base, href)
    return _join(base[: base.rfind("/") + 1], href)


@lru_cache(maxsize=16384)
def _join(directory: str, href: str) -> str:
    return urljoin(directory, href)


def _tidy_inline(text: str) -> str:
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _wrap(text: str, mark: str) -> str:
    stripped = text.strip()
    if not stripped:
        return text
    lead = " " if text[:1].isspace() else ""
    trail = " " if text[-1:].isspace() else ""
    return f"{lead}{mark}{stripped}{mark}{trail}"


def _code_span(text: str) -> str:
    text = _SPACE.sub(" ", text)
    if not text.strip():
        return text
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def is_layout_table(table: Element) -> bool:
    """A table used for layout: one cell, or no header cells and block content in cells."""
    rows = table.xpath("./tr | ./thead/tr | ./tbody/tr | ./tfoot/tr")
    cells = [c for row in rows for c in row.xpath("./th | ./td")]
    if len(cells) <= 1:
        return True
    has_header = any(c.tag == "th" for c in cells) or bool(table.xpath("./thead"))
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
    match = _GRID.search(el.get("class") or "")
    return {"two": 2, "three": 3, "four": 4}[match.group(1)] if match else 0


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _escape_line_starts(text: str) -> str:
    return "\n".join("\\" + line if _LINE_START.match(line) else line for line in text.split("\n"))


def _language(pre: Element) -> str:
    candidates = [pre, *pre.iterchildren("code")]
    ancestor = pre.getparent()
    for _ in range(3):
        if ancestor is None:
            break
        candidates.append(ancestor)
        ancestor = ancestor.getparent()
    for el in candidates:
        for attr in ("data-lang", "data-language", "language"):
            if value := (el.get(attr) or "").strip().lower():
                return _lang_name(value)
        classes = el.get("class") or ""
        for pattern in LANG_PATTERNS:
            if match := pattern.search(classes):
                return _lang_name(match.group(1).lower())
        if el is pre:
            bare = [c for c in classes.split() if c in BARE_LANG_CLASSES]
            if bare:
                return _lang_name(bare[0])
    return ""


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
