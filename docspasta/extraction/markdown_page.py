"""Markdown in, ExtractedPage out: for pages whose source is Markdown (a Docsify site's
`.md` files, a page's Markdown twin), filled exactly as extract_page fills it for HTML.

The author's Markdown is the page: it is kept as written (front matter removed, line
endings and trailing blank lines tidied), never reflowed. Links are read the way a
renderer would see them: inline, reference, autolinks, bare GFM URLs and raw `<a href>`,
but not images and nothing inside code (fenced, indented, or a code span).

markdown-it-py is not installed in this environment (Streamlit 1.67 no longer pulls in
rich), so blocks are told apart by a line scanner (`code_lines`) that follows the
CommonMark rules that matter for links: fences indented with their list item, indented
code only after a blank line, tab stops of four.
"""

from __future__ import annotations

import codecs
import html
import re
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..urls import NON_PAGE_EXTENSIONS, normalize
from .extract import MAX_LINKS_PER_PAGE, ExtractedPage, ExtractInput
from .outlinks import Outlinks, pack

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: its BOM starts with UTF-16 LE's
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

# Block structure, one line at a time (after tabs are expanded)
_FENCE_OPEN = re.compile(r"(?P<indent> *)(?P<fence>`{3,}|~{3,})(?P<info>.*)")
_LIST_ITEM = re.compile(r"(?P<lead> *(?:[-*+]|\d{1,9}[.)]))(?P<gap> +|$)")
_QUOTE_MARKERS = re.compile(r" {0,3}>(?: ?>)* ?")
_ATX_H1 = re.compile(r" {0,3}#(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*")
_SETEXT_H1 = re.compile(r" {0,3}=+[ \t]*")
_HTML_H1 = re.compile(r"<h1\b[^>]*>(?P<text>.*?)</h1\s*>", re.I | re.S)

# Inline structure, over the text of the lines that are not code
_TEXT = r"(?:\\.|[^\[\]\\]|\[(?:\\.|[^\[\]\\])*\])*"  # link text: one level of nested brackets
_FLAT_TEXT = r"(?:\\.|[^\[\]\\])*"
_DEST = r"<[^<>\n]*>|(?:\\.|[^\s()\\]|\((?:\\.|[^\s()\\])*\))+"
_TITLE = r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|\((?:\\.|[^()\\])*\)"
_INLINE = re.compile(
    r"(?=[!\[<hH]|(?m:^) )(?<!\\)(?:"  # what every alternative starts with: a cheap test per position
    rf"(?m:^) {{0,3}}\[(?P<dlabel>(?!\^){_FLAT_TEXT})\]:[ \t]*\n?[ \t]*(?P<ddest>{_DEST})"  # [id]: url
    rf"|(?P<bang>!?)\[(?P<text>{_TEXT})\]\([ \t]*\n?[ \t]*(?P<dest>{_DEST})?"  # [text](url "title")
    rf"(?:[ \t]*\n?[ \t]+(?P<title>{_TITLE}))?[ \t]*\n?[ \t]*\)"
    rf"|(?P<rbang>!?)\[(?P<rtext>{_TEXT})\]\[(?P<label>{_FLAT_TEXT})\]"  # [text][id], [id][]
    rf"|(?P<sbang>!?)\[(?P<stext>(?!\^){_FLAT_TEXT})\](?![\[(:])"  # [id]
    r"|<(?P<auto>[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*)>"  # <https://...>
    r"|<a\b[^>]*?\bhref\s*=\s*(?:\"(?P<hq>[^\"]*)\"|'(?P<hs>[^']*)'|(?P<hu>[^\s\"'>]+))[^>]*>"  # <a href>
    r"(?:(?P<htext>(?:(?!</?a\b)[\s\S])*?)</a\s*>)?"
    r"|(?<![\w/<=\"'\]])(?P<bare>https?://[^\s<>]+)"  # GFM autolinks
    r")",
    re.I,
)
_CODE_SPAN = re.compile(r"(?<!`)(?P<ticks>`+)(?!`).+?(?<!`)(?P=ticks)(?!`)", re.S)
_DESTINATION = re.compile(  # a code span (kept as written), or an inline or definition destination
    _CODE_SPAN.pattern + r"|(?P<lead>\]\([ \t]*<?|^ {0,3}\[[^\]]+\]:[ \t]*<?)(?P<dest>[^\s()<>]+)"
)
_COMMENT = re.compile(r"<!--[\s\S]*?-->")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
_ESCAPED = re.compile(r"\\([!-/:-@\[-`{-~])")
_IMAGE = re.compile(rf"!\[{_TEXT}\]\((?:{_DEST})?[^)]*\)")
_LINK_MARKUP = re.compile(rf"\[({_TEXT})\](?:\((?:{_DEST})?[^)]*\)|\[{_FLAT_TEXT}\])")
_MARKUP_CHARS = re.compile(r"[!\[<`*_~\\&]")
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_EMPHASIS = re.compile(r"(\*{1,3}|_{1,3}|~~)(?=\S)(.+?)(?<=\S)\1")
_BARE_TRAILING = ".,:;!?*_~'\""
_ATTRIBUTES = re.compile(r"\s*(?:\{[^{}]*\}|:id=\S+)\s*$")  # `# Title {#id}`, Docsify's `:id=x`

_YAML_TITLE = re.compile(r"title\s*:\s*(?P<value>.*)")
_TOML_TITLE = re.compile(r"title\s*=\s*(?P<value>.*)")
_YAML_LINE = re.compile(r"\s*(?:#.*|-.*|[^\s:#][^:]*:(?:\s.*)?|)|\s+\S.*")
_TOML_LINE = re.compile(r"\s*(?:#.*|\[.*\]|[\w\"'.-]+\s*=.*|)|\s+\S.*")


@dataclass(frozen=True)
class RawLink:
    """A link as written, before it is resolved."""

    href: str  # the destination, escapes and entities decoded
    text: str  # what a reader sees as the link (tags, images and emphasis removed)
    title: str = ""  # the link title (Docsify reads options from it: ':ignore', ':disabled')
    hidden_chars: int = 0  # characters of its markup a reader does not see (the target, brackets)


def extract_markdown(item: ExtractInput, *, site_base: str | None = None) -> ExtractedPage:
    """The ExtractedPage of a Markdown page (`item.markdown`: "plain" or "docsify").

    `site_base` is a Docsify site's basePath, against which its `#/route` and `/route`
    links resolve; without it they resolve against the origin, which is right only for
    a site served from the root (not for a GitHub Pages project site)."""
    started = time.perf_counter()
    front_title, markdown = split_front_matter(decode_markdown(item.body, item.charset))
    markdown = tidy(markdown)
    text = prose(markdown)
    raw = links_in_prose(text)
    docsify = item.markdown in ("docsify", "docsify-relative")
    base, relative = site_base or item.markdown_base, item.markdown != "docsify"
    links, anchors = resolve_links(raw, item.url, docsify=docsify, site_base=base, relative=relative)
    title = front_title or h1_in_prose(text) or item.url
    link_chars = sum(len(link.text) for link in raw)
    visible = len(markdown) - sum(link.hidden_chars for link in raw)  # as visible_length: no URLs
    markdown = absolute_destinations(markdown, item.url, docsify=docsify, site_base=base, relative=relative)
    return ExtractedPage.scored(
        markdown,
        title=title,
        link_chars=link_chars,
        text_chars=visible,
        started=started,
        links=links,
        html_gz=None,
        extractor="markdown",
        anchors=anchors,
        outlinks=pack(Outlinks(links, anchors, None, None)),
    )


def absolute_destinations(
    markdown: str, page_url: str, *, docsify: bool = False, site_base: str | None = None, relative: bool = True
) -> str:
    """The Markdown with its relative link and image destinations made absolute, as the
    HTML converter writes them: in a paste, `guide.md` no longer says which site or
    folder it meant. Docsify routes become the file they show. Code is left as written."""
    lines = markdown.split("\n")
    if not any("](" in line or "]:" in line for line in lines):
        return markdown

    def rewrite(match: re.Match[str]) -> str:
        dest = match.group("dest")
        if dest is None or urlsplit(dest).scheme or (dest.startswith(("#", "//")) and not dest.startswith("#/")):
            return match.group(0)
        target = docsify_target(dest, page_url, site_base, relative=relative) if docsify else urljoin(page_url, dest)
        return match.group("lead") + target if target else match.group(0)

    code = code_lines(lines)
    return "\n".join(
        line if is_code else _DESTINATION.sub(rewrite, line) for line, is_code in zip(lines, code, strict=True)
    )


def decode_markdown(body: bytes, charset: str | None) -> str:
    """A BOM decides, then the HTTP charset, then UTF-8. Markdown has no <meta charset>,
    and a wrong guess should cost a few replacement characters, not the page."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace")
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # an unknown charset label
        return body.decode("utf-8", errors="replace")


def tidy(text: str) -> str:
    """Line endings as \\n, blank lines empty, no blank lines at either end. Trailing
    spaces on a line with text stay: two of them are a hard line break."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = ["" if not line.strip() else line for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    start = 0
    while start < len(lines) and not lines[start]:
        start += 1
    return "\n".join(lines[start:])


def split_front_matter(text: str) -> tuple[str, str]:
    """(the front matter's title or "", the Markdown without it). YAML (`---`) or TOML
    (`+++`) front matter at the very start; a `---` rule opening a document is told apart
    by what follows it, which must read as `key: value` lines."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip() not in ("---", "+++"):
        return "", text
    toml = lines[0].rstrip() == "+++"
    closers = ("+++",) if toml else ("---", "...")
    shape, title_line = (_TOML_LINE, _TOML_TITLE) if toml else (_YAML_LINE, _YAML_TITLE)
    for end in range(1, len(lines)):
        if lines[end].rstrip() in closers:
            block = lines[1:end]
            if not any(line.strip() for line in block) or not all(shape.fullmatch(line) for line in block):
                return "", text
            return _front_title(block, title_line), tidy("\n".join(lines[end + 1 :]))
    return "", text


def _front_title(block: list[str], title_line: re.Pattern[str]) -> str:
    """The top-level title's value: quoted, plain, or a YAML block scalar (`>`, `|`)."""
    for i, line in enumerate(block):
        if not (match := title_line.fullmatch(line)):
            continue
        value = match.group("value").strip()
        if value[:1] in (">", "|"):
            following = []
            for more in block[i + 1 :]:
                if more.strip() and not more[:1].isspace():
                    break
                following.append(more.strip())
            value = " ".join(part for part in following if part)
        elif value[:1] in ("'", '"') and value[-1:] == value[:1] and len(value) > 1:
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        return " ".join(value.split())
    return ""


def code_lines(lines: list[str]) -> list[bool]:
    """For each line, whether it is code (a fence, a fenced block's line, indented code).

    Fences and indentation are measured inside block quotes and relative to the list
    item a line belongs to: a fence indented with its item is still a fence, and a
    paragraph continued under an item is not indented code."""
    mask: list[bool] = []
    fence: tuple[str, int] | None = None
    items: list[int] = []  # content indents of the open list items, innermost last
    prev_blank, prev_code = True, False
    for raw_line in lines:
        line = _unquote(raw_line.expandtabs(4))
        stripped = line.strip()
        if fence is not None:
            mask.append(True)
            if stripped.startswith(fence[0] * fence[1]) and not stripped.strip(fence[0]):
                fence, prev_blank, prev_code = None, True, False  # a closed block ends like a paragraph
            continue
        if not stripped:
            mask.append(False)
            prev_blank = True
            continue
        indent = len(line) - len(line.lstrip(" "))
        item = _LIST_ITEM.match(line)
        if prev_blank or item:
            while items and indent < items[-1]:
                items.pop()  # left of an item's content after a blank line (or a sibling): the item ended
        container = items[-1] if items else 0
        is_code = indent >= container + 4 and (prev_blank or prev_code)
        if not is_code and (opened := _FENCE_OPEN.fullmatch(line)) and indent <= container + 3:
            marker = opened.group("fence")
            if not (marker[0] == "`" and "`" in opened.group("info")):
                fence, is_code = (marker[0], len(marker)), True
        if item and not is_code:
            gap = len(item.group("gap"))
            items.append(len(item.group("lead")) + (gap if 1 <= gap <= 4 else 1))
        mask.append(is_code)
        prev_blank, prev_code = False, is_code and fence is None
    return mask


def _unquote(line: str) -> str:
    """A line without its block-quote markers: what is inside a quote is measured there."""
    match = _QUOTE_MARKERS.match(line)
    return line[match.end() :] if match else line


def prose(markdown: str) -> str:
    """The Markdown with its code lines emptied (line count kept) and comments removed:
    the text in which links and headings can be."""
    lines = markdown.split("\n")
    kept = [("" if code else line) for line, code in zip(lines, code_lines(lines), strict=True)]
    return _COMMENT.sub(lambda m: "\n" * m.group(0).count("\n"), "\n".join(kept))


def first_h1(markdown: str) -> str:
    """The first level-one heading outside code, "" when there is none."""
    return h1_in_prose(prose(markdown))


def h1_in_prose(text: str) -> str:
    """The first `# Title`, setext `Title` over `===`, or HTML <h1> (READMEs often open
    with a centred one) in text that prose() has cleared of code."""
    paragraph: list[str] = []
    for line in text.split("\n"):
        if atx := _ATX_H1.fullmatch(line):
            if title := inline_text(_ATTRIBUTES.sub("", atx.group("text") or "")):
                return title
        elif paragraph and _SETEXT_H1.fullmatch(line):
            if title := inline_text(" ".join(paragraph)):
                return title
        elif (h1 := _HTML_H1.search(line)) and (title := inline_text(h1.group("text"))):
            return title
        if line.strip():
            paragraph.append(line.strip())
        else:
            paragraph.clear()
    return ""


def inline_text(markup: str) -> str:
    """What a reader sees of inline Markdown: no images, tags, link targets, code ticks,
    emphasis markers or escapes; whitespace collapsed; at most 120 characters (as the
    anchors extract_page keeps)."""
    if not _MARKUP_CHARS.search(markup):
        return " ".join(markup.split())[:120]
    text = _IMAGE.sub("", markup)
    text = _LINK_MARKUP.sub(r"\1", text)
    text = _TAG.sub("", text).replace("`", "")
    text = _EMPHASIS.sub(r"\2", text)
    text = html.unescape(_ESCAPED.sub(r"\1", text))
    return " ".join(text.split())[:120]


def raw_links(markdown: str) -> list[RawLink]:
    """Every link in reading order, unresolved."""
    return links_in_prose(prose(markdown))


def links_in_prose(text: str) -> list[RawLink]:
    """The links in text that prose() has cleared of code: inline, reference (defined
    anywhere in the page), autolinks, bare URLs (GitHub-flavoured Markdown, which Docsify
    renders with, links them) and raw <a href>. Images are not links."""
    matches = [
        _Match(match, original)
        for original, masked in map(_mask_code_spans, _PARAGRAPH_BREAK.split(text))
        for match in _INLINE.finditer(masked)
    ]
    definitions = _definitions(matches)
    return [link for part in matches if (link := _raw_link(part, definitions)) is not None]


def _mask_code_spans(paragraph: str) -> tuple[str, str]:
    """(the paragraph, a copy of it with each code span blanked to the same length), so
    that no match starts inside code and every match's span indexes the original.
    Code spans do not cross paragraphs, hence one paragraph at a time."""
    masked = _CODE_SPAN.sub(lambda m: "`" + "\x00" * (len(m.group(0)) - 2) + "`", paragraph)
    return paragraph, masked


@dataclass(frozen=True)
class _Match:
    """A match in the masked copy, read from the original (code spans as written)."""

    match: re.Match[str]
    original: str

    def __call__(self, name: str) -> str | None:
        start, end = self.match.span(name)
        return self.original[start:end] if start >= 0 else None


def _definitions(matches: list[_Match]) -> dict[str, str]:
    """Reference definitions, label (case-folded, whitespace collapsed) -> destination;
    the first definition of a label wins, as in CommonMark."""
    found: dict[str, str] = {}
    for part in matches:
        if (label := part("dlabel")) is not None:
            found.setdefault(_label_key(label), _destination(part("ddest") or ""))
    return found


def _label_key(label: str) -> str:
    return " ".join(label.split()).casefold()


def _raw_link(part: _Match, definitions: dict[str, str]) -> RawLink | None:
    """The link a match of _INLINE stands for; None for images and undefined references."""
    whole = len(part.match.group(0))
    if (label := part("dlabel")) is not None:  # a definition: not shown at all
        return RawLink(_destination(part("ddest") or ""), inline_text(label), hidden_chars=whole)
    if (text := part("text")) is not None:
        if part("bang"):
            return None
        shown = inline_text(text)
        return RawLink(_destination(part("dest") or ""), shown, _title(part("title") or ""), whole - len(shown))
    if (text := part("rtext")) is None:
        text = part("stext")
    if text is not None:
        href = definitions.get(_label_key(part("label") or text))
        if href is None or part("rbang") or part("sbang"):
            return None
        shown = inline_text(text)
        return RawLink(href, shown, hidden_chars=whole - len(shown))
    if (auto := part("auto")) is not None:
        return RawLink(auto, auto)
    if (href := part("hq") or part("hs") or part("hu")) is not None:
        shown = inline_text(part("htext") or "")
        return RawLink(html.unescape(href), shown, hidden_chars=whole - len(shown))
    bare = _trim_bare(part("bare") or "")
    return RawLink(bare, bare) if bare else None


def _destination(dest: str) -> str:
    if dest.startswith("<") and dest.endswith(">"):
        dest = dest[1:-1]
    return html.unescape(_ESCAPED.sub(r"\1", dest)).strip()


def _title(title: str) -> str:
    return html.unescape(_ESCAPED.sub(r"\1", title[1:-1])) if len(title) >= 2 else ""


def _trim_bare(url: str) -> str:
    """GFM's end of a bare URL: trailing punctuation is the sentence's, and so is a
    closing parenthesis without an opening one in the URL."""
    while url and (url[-1] in _BARE_TRAILING or (url[-1] == ")" and url.count(")") > url.count("("))):
        url = url[:-1]
    return url


def resolve_links(
    raw: list[RawLink], page_url: str, *, docsify: bool = False, site_base: str | None = None, relative: bool = True
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Absolute, normalised link targets in reading order, deduplicated (at most
    MAX_LINKS_PER_PAGE), and each one's first anchor text. A page repeats its links (a
    navigation file, a reference used ten times): each distinct one is resolved once."""
    seen: dict[str, str] = {}
    resolved: dict[tuple[str, str], str | None] = {}
    for link in raw:
        if len(seen) >= MAX_LINKS_PER_PAGE:
            break
        key = (link.href, link.title if docsify else "")
        if key not in resolved:
            resolved[key] = _resolve(link, page_url, docsify, site_base, relative)
        if (url := resolved[key]) is not None and url not in seen:
            seen[url] = link.text
    return tuple(seen), tuple(seen.values())


def _resolve(link: RawLink, page_url: str, docsify: bool, site_base: str | None, relative: bool) -> str | None:
    if docsify:
        return docsify_target(link.href, page_url, site_base, title=link.title, relative=relative)
    return None if not link.href or link.href.startswith("#") else normalize(link.href, base=page_url)


def docsify_target(
    href: str, page_url: str, site_base: str | None = None, *, title: str = "", relative: bool = True
) -> str | None:
    """The Markdown file a Docsify link shows, or the URL itself when it is not a route.

    Routes (`#/guide`, `guide`, `/guide`, `dir/`) name files: `guide.md`, `dir/README.md`.
    Links with a scheme or host leave the site and stay as they are; so do files with an
    extension (`.png`, `.html`) and links titled ':ignore'; ':disabled' ones are no links.
    Relative routes resolve against the Markdown file when `relative` (Docsify's
    relativePath), else, like root-relative ones (and `#/` ones), against `site_base`,
    Docsify's basePath when the caller knows it, else the origin.
    The query of a route (`?id=section`, a heading) is the router's, never the server's.
    """
    if ":disabled" in title:
        return None
    if href.startswith("#/"):
        href = href[1:]
    elif not href or href.startswith("#"):
        return None
    parts = urlsplit(href)
    if parts.scheme or parts.netloc:
        return normalize(href)
    if not parts.path:
        return None  # `?id=x`: a section of this page
    root = site_base or _origin(page_url)
    base = page_url if relative and not parts.path.startswith("/") else root
    path = parts.path.lstrip("/") if parts.path.startswith("/") else parts.path
    if ":ignore" in title or _is_file(path):
        return normalize(urlunsplit(("", "", path, parts.query, "")), base=base)
    return normalize(_route_file(path), base=base)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


def _route_file(path: str) -> str:
    """Docsify's file for a route: `dir/` -> `dir/README.md`, `guide` -> `guide.md`."""
    if path.endswith("/"):
        return path + "README.md"
    return path if path.lower().endswith((".md", ".markdown")) else path + ".md"


def _is_file(path: str) -> bool:
    """A path to a file that is not a route: an HTML page or an asset (`.png`, `.pdf`)."""
    last = path.rsplit("/", 1)[-1]
    extension = last.rsplit(".", 1)[-1].lower() if "." in last else ""
    return extension in ("html", "htm") or (extension in NON_PAGE_EXTENSIONS and extension not in ("md", "markdown"))
