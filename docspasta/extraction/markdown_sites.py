"""Sites whose content is Markdown: Docsify-style shells (an HTML page that fetches `.md`
files named in its config and sidebar), and the shapes of a Markdown page's links there.

A shell is recognised from its HTML, without a browser; the crawl then fetches the
Markdown files themselves. Whether what came back is Markdown at all, and whether a
page's Markdown twin is its content or a stub, is judged here too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..urls import normalize


@dataclass(frozen=True)
class MarkdownShell:
    """Where a Markdown-rendering shell keeps its content."""

    kind: str  # "docsify"
    base_url: str  # absolute, ends with "/": where its .md files live (Docsify's basePath)
    homepage_url: str  # the shell's own content (Docsify: README.md under base_url, or `homepage`)
    nav_urls: tuple[str, ...] = ()  # navigation files whose links name the pages (_sidebar.md, _navbar.md)
    relative: bool = False  # Docsify's relativePath: links resolve against their file, not against base_url

    @property
    def markdown_mode(self) -> str:
        """How its Markdown files' links read (extract.ExtractInput.markdown)."""
        return "docsify-relative" if self.relative else "docsify"


def docsify_shell(html: str, page_url: str) -> MarkdownShell | None:
    """The Markdown behind a Docsify (or Docute) shell page; None for any other page.

    Called on every HTML page, so a page that never names either is refused with two
    substring searches ("ocsify", "ocute": either capitalisation of both names) before
    any regex runs. A page that merely mentions Docsify is no shell: it takes a
    `$docsify` config or a script loaded from a docsify path.
    """
    if "ocsify" not in html and "ocute" not in html:
        return None
    page_url = normalize(page_url) or page_url
    if (config := _docsify_config(html)) is not None or _DOCSIFY_SCRIPT.search(html):
        return _docsify(config or "", page_url)
    for docute in _DOCUTE_NEW.finditer(html):
        if _in_script(html, docute.start()):
            return _docute(_object_literal(html, docute.end() - 1), page_url)
    return None


_DOCSIFY_CONFIG = re.compile(r"\$docsify\s*=\s*(?:Object\.assign\(\s*\{[^{}]*\}\s*,\s*)?\{")
_DOCSIFY_SCRIPT = re.compile(r"<script\b[^>]*\bsrc\s*=\s*[\"']?[^\"'>\s]*docsify", re.I)
_DOCUTE_NEW = re.compile(r"new\s+Docute\s*\(\s*\{")
_MAX_CONFIG_CHARS = 50_000


def _docsify_config(html: str) -> str | None:
    """The text of the `window.$docsify = {...}` object literal in a script, None without
    one (a page showing a config in a code sample is about Docsify, not made with it)."""
    for match in _DOCSIFY_CONFIG.finditer(html):
        if _in_script(html, match.start()):
            return _object_literal(html, match.end() - 1)
    return None


def _in_script(html: str, position: int) -> bool:
    opened = max(html.rfind("<script", 0, position), html.rfind("<SCRIPT", 0, position))
    return opened > max(html.rfind("</script", 0, position), html.rfind("</SCRIPT", 0, position))


def _object_literal(text: str, start: int) -> str:
    """The JavaScript object literal opening at text[start] ("{"), up to its closing
    brace (or _MAX_CONFIG_CHARS when there is none): braces inside strings and comments
    do not count. Not a parser: enough to find the config's top-level keys."""
    depth, i, end = 0, start, min(len(text), start + _MAX_CONFIG_CHARS)
    while i < end:
        char = text[i]
        if char in "\"'`":
            close = text.find(char, i + 1)
            while close > 0 and text[close - 1] == "\\":
                close = text.find(char, close + 1)
            i = close if close > 0 else end
        elif text.startswith("//", i):
            newline = text.find("\n", i, end)
            i = newline if newline >= 0 else end
        elif text.startswith("/*", i):
            i = text.find("*/", i, end) + 1 or end
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[start : i + 1]
        i += 1
    return text[start:end]


def _option(config: str, name: str) -> str | bool | None:
    """A config key's value when it is a string or a boolean literal, else None. Keys
    may be quoted (`'basePath': ...`); the first occurrence wins."""
    pattern = rf"(?:^|[{{,\s])[\"']?{name}[\"']?\s*:\s*(?:([\"'`])((?:\\.|(?!\1).)*)\1|(true|false)\b)"
    match = re.search(pattern, config)
    if match is None:
        return None
    if match.group(3) is not None:
        return match.group(3) == "true"
    return match.group(2)


def _docsify(config: str, page_url: str) -> MarkdownShell | None:
    """Docsify's defaults: the Markdown lives beside index.html (basePath), the homepage
    is README.md, and the sidebar and navbar are Markdown files only when asked for."""
    base_url = _base_url(_option(config, "basePath"), page_url)
    if base_url is None:
        return None
    homepage = _option(config, "homepage")
    homepage_url = normalize(homepage if isinstance(homepage, str) and homepage else "README.md", base=base_url)
    nav_urls = []
    for option, default in (("loadSidebar", "_sidebar.md"), ("loadNavbar", "_navbar.md")):
        value = _option(config, option)
        name = value if isinstance(value, str) and value else default if value is True else None
        if name and (url := normalize(name, base=base_url)):
            nav_urls.append(url)
    relative = _option(config, "relativePath") is True
    return MarkdownShell("docsify", base_url, homepage_url or base_url + "README.md", tuple(nav_urls), relative)


def _docute(config: str, page_url: str) -> MarkdownShell | None:
    """Docute 4: pages are `sourcePath` + route + ".md", the homepage README.md. Its
    sidebar and nav are JavaScript in the config, not files, so there are no nav_urls:
    the crawl follows the homepage's links only."""
    base_url = _base_url(_option(config, "sourcePath"), page_url)
    if base_url is None:
        return None
    return MarkdownShell("docute", base_url, normalize("README.md", base=base_url) or base_url + "README.md")


def _base_url(option: str | bool | None, page_url: str) -> str | None:
    """Where the Markdown files live, absolute and ending in "/": the option resolved
    against the shell page, or the shell page's directory."""
    directory = page_url.split("?", 1)[0].rsplit("/", 1)[0] + "/"
    if not isinstance(option, str) or not option.strip():
        return directory
    base = normalize(option.strip(), base=page_url)
    if base is None:
        return None
    return base if base.endswith("/") else base + "/"


_MARKDOWN_TYPES = frozenset({"text/markdown", "text/x-markdown", "text/plain", "application/octet-stream", ""})
_HTML_START = re.compile(rb"\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html[\s>])", re.I | re.S)
_BINARY_SAMPLE = 8192


def looks_like_markdown(body: bytes, content_type: str) -> str | None:
    """None when a response is plausibly Markdown, else why it is not, for the user.

    The question is whether a "Markdown" URL gave the author's text or something else in
    its place: the soft-404 HTML page a static host serves for any missing file (often
    with the Markdown content type the URL's extension earned), an image, an empty
    file. Markdown has no signature, so this only rules out what it cannot be."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    if not body.strip():
        return "empty"
    if _is_binary(body[:_BINARY_SAMPLE]):
        return "binary data"
    if media_type in ("text/html", "application/xhtml+xml") or _HTML_START.match(_text_start(body)):
        return "an HTML page, not Markdown"
    if media_type not in _MARKDOWN_TYPES:
        return f"served as {media_type}"
    return None


def _text_start(body: bytes) -> bytes:
    """The start of the body as ASCII-compatible bytes: past a UTF-8 BOM, and with the
    NULs of UTF-16 dropped so `<html` matches there too."""
    head = body[:1024]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head[2:].replace(b"\x00", b"")
    return head.removeprefix(b"\xef\xbb\xbf")


def _is_binary(sample: bytes) -> bool:
    """NUL bytes (outside UTF-16/32 text with a BOM), or control characters other than
    tab, line breaks, form feed and escape in more than 1% of the sample: what no text
    encoding gives, but compressed data and images do (an eighth of random bytes are
    controls). Bytes that are not UTF-8 are no sign: Latin-1 Markdown is still text."""
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False  # NULs are UTF-16's high bytes
    if b"\x00" in sample:
        return True
    controls = len(sample) - len(sample.translate(None, _CONTROLS))
    return controls > len(sample) / 100


_CONTROLS = bytes(c for c in range(32) if c not in (9, 10, 12, 13, 27))


TWIN_MIN_WORDS = 5
TWIN_MIN_SHARE = 0.5
TWIN_JUDGED_FROM = 40


def judge_twin(twin_words: int, html_words: int) -> str | None:
    """None when a page's Markdown twin carries its content, else why not ("a stub: ...").

    Twins are generated by the site (Mintlify, llms.txt plugins, `.md` routes) and some
    are placeholders: a title, a "see the docs" line, front matter only. A real twin has
    fewer words than the HTML's extraction only by the chrome it lacks (breadcrumbs,
    "edit this page", pager labels), which is well under half a page; so under half the
    HTML's words it is a stub. The share is only judged when the HTML has 40 words or
    more: an app shell's HTML has next to none, and there the twin is all there is. Under
    5 words a twin is a stub whatever the HTML says."""
    if twin_words < TWIN_MIN_WORDS or (html_words >= TWIN_JUDGED_FROM and twin_words < TWIN_MIN_SHARE * html_words):
        against = f" against {html_words} in the HTML" if html_words else ""
        return f"a stub: {twin_words} word{'s' if twin_words != 1 else ''}{against}"
    return None
