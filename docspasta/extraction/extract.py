"""HTML in, ExtractedPage out: title, Markdown, links, quality, fingerprints.

Pure and picklable: it runs in worker processes (pool.py). One parse serves
the links, the title and the Markdown. Pages from a known documentation generator go
through our docs rules (docs_rules.py + markdown.py); anything else falls back to
trafilatura. "Nothing extractable" and "needs JavaScript" are outcomes, not errors.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from ..urls import MAX_URL_LENGTH, normalize
from . import tokens
from .docs_rules import find_main, generator_from_markers, strip_noise, trim_tables_of_contents, whole_article
from .fingerprints import block_hashes, line_sketch
from .generated import PageKind, kind_from_page, source_language
from .htmltree import Element, class_set, drop, parse, text_of, visible_length
from .markdown import Fidelity, convert
from .markdown_sites import MarkdownShell, docsify_shell
from .outlinks import Outlinks, pack
from .quality import score

MAX_LINKS_PER_PAGE = 2000
MAX_REFRESH_DELAY_S = 5
JS_SHELL_MAX_TEXT = 200
APP_ROOT_IDS = frozenset({"root", "app", "__next", "__nuxt", "___gatsby", "svelte", "main-app"})

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_REFRESH = re.compile(r"""\s*(\d+(?:\.\d*)?)?\s*[;,]\s*(?:url\s*=\s*)?["']?([^"'\s][^"']*)""", re.I)
MARKDOWN_TYPES = ("text/markdown", "text/x-markdown")  # as fetching.fetch says; extraction may not import it
_ENABLE_JS = re.compile(r"enable javascript|javascript (is )?(required|disabled)|requires javascript", re.I)


@dataclass(frozen=True)
class ExtractInput:
    url: str
    body: bytes
    charset: str | None = None
    keep_html: bool = True
    markdown: str | None = None  # None: `body` is HTML; else Markdown whose links read as "plain", "docsify" or
    markdown_base: str | None = None  # "docsify-relative" (MarkdownShell.markdown_mode) say; a Docsify site's base


@dataclass(frozen=True)
class ExtractedPage:
    title: str
    markdown: str
    links: tuple[str, ...]
    quality: int
    quality_reasons: tuple[str, ...]
    content_hash: str | None
    words: int
    extract_ms: float
    html_gz: bytes | None
    extractor: str = "none"  # "docs:<generator>", "trafilatura" or "none"
    tokens: int = 0  # estimate; exports count exactly
    sketch: tuple[int, ...] | None = None  # for near-duplicate detection
    block_hashes: tuple[str, ...] = ()
    fidelity: dict[str, int] = field(default_factory=dict)
    needs_javascript: bool = False
    anchors: tuple[str, ...] = ()  # each link's anchor text, aligned with `links`
    refresh_url: str | None = None  # <meta http-equiv=refresh> within MAX_REFRESH_DELAY_S: a redirect
    canonical_url: str | None = None  # <link rel=canonical>, absolute
    next_url: str | None = None  # the "next page" link the generator's navigation gives (reading order)
    prev_url: str | None = None  # its "previous page" link (bridges a chain over a page that is missing)
    page_kind: str | None = None  # a generated page's kind (generated.PageKind), else None
    outlinks: bytes | None = None  # links, anchors, refresh and canonical URLs, packed (outlinks.pack)
    twin_url: str | None = None  # the page's Markdown twin: <link rel=alternate type=text/markdown>, absolute
    shell: MarkdownShell | None = None  # a Docsify-style shell: its content is Markdown files, fetched directly

    @property
    def has_content(self) -> bool:
        return bool(self.markdown.strip())

    @classmethod
    def scored(
        cls, markdown: str, *, title: str, link_chars: int, text_chars: int, started: float, **rest: Any
    ) -> ExtractedPage:
        """The page with what every source derives from its Markdown alike: score, hash,
        tokens and the sketches duplicate detection compares (one split serves them all)."""
        words = markdown.split()
        quality, reasons = score(markdown, title=title, link_text_chars=link_chars, text_chars=text_chars,
                                 words=len(words))  # fmt: skip
        return cls(
            title=title,
            markdown=markdown,
            quality=quality,
            quality_reasons=reasons,
            content_hash=hashlib.blake2b(" ".join(words).encode(), digest_size=16).hexdigest() if markdown else None,
            words=len(words),
            extract_ms=(time.perf_counter() - started) * 1000,
            tokens=tokens.estimate(markdown),
            sketch=line_sketch(markdown) if markdown else None,
            block_hashes=block_hashes(markdown),
            **rest,
        )


def extract_page(item: ExtractInput) -> ExtractedPage:
    if item.markdown is not None:
        from .markdown_page import extract_markdown  # it builds on this module's types

        return extract_markdown(item)
    started = time.perf_counter()
    html = decode_html(item.body, item.charset)
    tree = parse(html)
    markdown, title, extractor = "", "", "none"
    links: tuple[str, ...] = ()
    anchors: tuple[str, ...] = ()
    link_chars = text_chars = 0
    fidelity: dict[str, int] = {}
    needs_js = False
    refresh = canonical = next_url = prev_url = kind = twin = None
    shell: MarkdownShell | None = None
    if tree is not None:
        base, refresh = _base_and_refresh(tree, item.url)
        links, anchors, link_chars, pager = _links(tree, base)
        canonical, head_pager, twin = _head_links(tree, base)
        next_url, prev_url = head_pager.get("next") or pager.get("next"), head_pager.get("prev") or pager.get("prev")
        title = _title(tree)
        body = tree.find("body")
        text_chars = visible_length(body) if body is not None else 0
        kind = kind_from_page(tree, item.url)
        needs_js = kind is None and _is_javascript_shell(tree, text_chars)
        if kind is None and text_chars <= JS_SHELL_MAX_TEXT:
            shell = docsify_shell(html, item.url)
        if kind == PageKind.SOURCE:
            markdown, extractor = source_markdown(tree, item.url), "source-listing"
        elif not needs_js:
            markdown, extractor, fid = _markdown(tree, base, item)
            fidelity = fid.as_dict() if fid is not None else {}
    if not title:
        title = _first_heading(markdown) or item.url
    return ExtractedPage.scored(
        markdown,
        title=title,
        link_chars=link_chars,
        text_chars=text_chars,
        started=started,
        links=links,
        html_gz=zlib.compress(item.body, 6) if item.keep_html else None,
        extractor=extractor,
        fidelity=fidelity,
        needs_javascript=needs_js,
        anchors=anchors,
        refresh_url=refresh,
        canonical_url=canonical,
        next_url=next_url,
        prev_url=prev_url,
        page_kind=kind,
        outlinks=pack(Outlinks(links, anchors, refresh, canonical)),
        twin_url=twin,
        shell=shell,
    )


def _base_and_refresh(tree: Element, page_url: str) -> tuple[str, str | None]:
    """_base_url and the prompt meta refresh's target from one walk over the document
    instead of two (each a walk over every element)."""
    base_href, metas = "", []
    for el in tree.iter("base", "meta"):
        if el.tag == "meta":
            metas.append(el)
        elif not base_href:
            base_href = (el.get("href") or "").strip()
    base = (normalize(base_href, base=page_url) or page_url) if base_href else page_url
    return base, _refresh_target(metas, base)


def _refresh_target(metas: Iterable[Element], base: str) -> str | None:
    """The target of a prompt meta refresh (`0; url=...`): browsers and search engines treat it as a redirect."""
    for meta in metas:
        if (meta.get("http-equiv") or "").strip().lower() != "refresh":
            continue
        if match := _REFRESH.match(meta.get("content") or ""):
            delay, target = match.groups()
            if float(delay or 0) <= MAX_REFRESH_DELAY_S:
                return normalize(target.strip(), base=base)
    return None


def _head_links(tree: Element, base: str) -> tuple[str | None, dict[str, str], str | None]:
    """<link rel=canonical>, <link rel=next/prev> (the generator's next and previous page),
    and <link rel=alternate type=text/markdown> (the page's Markdown twin)."""
    canonical = twin = None
    pager: dict[str, str] = {}
    head = tree.find("head")
    for link in head.iter("link") if head is not None else ():
        rel = (link.get("rel") or "").lower().split()
        href = (link.get("href") or "").strip()
        if not href:
            continue
        if canonical is None and "canonical" in rel:
            canonical = normalize(href, base=base)
        for direction in ("next", "prev"):
            if direction in rel and direction not in pager and (url := normalize(href, base=base)):
                pager[direction] = url
        if twin is None and "alternate" in rel and (link.get("type") or "").strip().lower() in MARKDOWN_TYPES:
            twin = normalize(href, base=base)
    return canonical, pager, twin


def source_markdown(tree: Element, url: str) -> str:
    """A source listing as one fenced code block in its language: its code as written,
    without the listing's own back-links ("[docs]") or line-number gutters."""
    for el in list(tree.iter("a", "span", "div", "pre", "td")):
        classes = class_set(el.get("class") or "")
        if "viewcode-back" in classes or not classes.isdisjoint(_LINE_NUMBER_CLASSES):
            drop(el)
    code = "\n".join(text_of(pre).rstrip("\n") for pre in tree.iter("pre")).strip("\n")
    if not code.strip():
        return ""
    fence = "```"
    while fence in code:
        fence += "`"
    return f"{fence}{source_language(url)}\n{code}\n{fence}"


_LINE_NUMBER_CLASSES = frozenset({"linenos", "src-line-numbers", "line-numbers", "example-line-numbers", "lineno"})


def _markdown(tree: Element, base: str, item: ExtractInput) -> tuple[str, str, Fidelity | None]:
    found = find_main(tree)
    if found is not None:
        rule, main = found
        generator = rule if rule == "generic" else generator_from_markers(tree) or rule
        main = whole_article(main)
        strip_noise(main)
        trim_tables_of_contents(main)
        markdown, fidelity = convert(main, base)
        if markdown.strip():
            return markdown, f"docs:{generator}", fidelity
    return trafilatura_markdown(decode_html(item.body, item.charset), item.url), "trafilatura", None


def trafilatura_markdown(html: str, url: str) -> str:
    """The general-purpose fallback (and the benchmark's peer)."""
    import trafilatura  # only worker processes pay for it (~60 MB)

    result = trafilatura.extract(
        html,
        url=url,
        output_format="markdown",
        include_tables=True,
        include_formatting=True,
        include_links=False,
        include_images=False,
        include_comments=False,
        favor_recall=True,
        with_metadata=False,
        deduplicate=False,
    )
    return (result or "").strip()


def decode_html(body: bytes, charset: str | None) -> str:
    """BOM first, then the HTTP header, then <meta charset>, then UTF-8, then cp1252."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom) :].decode(encoding, errors="replace")
    candidates = [charset] if charset else []
    if match := _META_CHARSET.search(body[:4096]):
        candidates.append(match.group(1).decode("ascii", "ignore"))
    candidates.append("utf-8")
    for encoding in candidates:
        try:
            return body.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return body.decode("cp1252", errors="replace")


def _is_javascript_shell(tree: Element, text_chars: int) -> bool:
    """An app shell: scripts, an empty mount point or a "enable JavaScript" notice, no text."""
    if text_chars > JS_SHELL_MAX_TEXT or tree.find(".//script") is None:
        return False
    for el in tree.iter("div", "main", "section"):
        if el.get("id") in APP_ROOT_IDS and not text_of(el).strip():
            return True
    return any(_ENABLE_JS.search(text_of(n)) for n in tree.iter("noscript"))


def _base_url(tree: Element, page_url: str) -> str:
    for base in tree.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            return normalize(href, base=page_url) or page_url
    return page_url


def page_links(tree: Element, page_url: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Absolute, normalised link targets in page order (resolved against <base href>), and
    the first anchor text of each."""
    links, anchors, _, _ = _links(tree, _base_url(tree, page_url))
    return links, anchors


_PAGER_CLASSES = {  # Docusaurus, Material, VitePress ("pager-link next"): pager links without rel
    "next": frozenset({"pagination-nav__link--next", "md-footer__link--next"}),
    "prev": frozenset({"pagination-nav__link--prev", "md-footer__link--prev"}),
}


def _links(tree: Element, base: str) -> tuple[tuple[str, ...], tuple[str, ...], int, dict[str, str]]:
    """page_links, the characters of text inside <a> elements (for the link density), and
    the pager's next and previous page: one walk over the links, each one's text read once."""
    seen: dict[str, str] = {}
    link_chars = 0
    pager: dict[str, str] = {}
    directory = base[: base.rfind("/") + 1]
    for element in tree.iter("a", "area"):
        text = text_of(element)
        if element.tag == "a":
            link_chars += len(text.strip())
        if len(seen) >= MAX_LINKS_PER_PAGE:
            continue
        href = element.get("href")
        if not href or href.startswith("#"):
            continue
        # urljoin depends on the base's directory only, unless the href is a bare query
        url = _resolve_href(base if href.startswith("?") or "://" in href[:12] else directory, href)
        if url is None:
            continue
        if url not in seen:
            seen[url] = " ".join(text.split())[:120]
        if len(pager) < 2 and (direction := _pager_direction(element)) and direction not in pager:
            pager[direction] = url
    return tuple(seen), tuple(seen.values()), link_chars, pager


def _pager_direction(element: Element) -> str | None:
    """ "next" or "prev" for a pager link (rel=next/prev or a known pager class), else None."""
    rel = element.get("rel")
    if rel:
        for direction in ("next", "prev"):
            if direction in rel.lower().split():
                return direction
    value = element.get("class")
    if not value:
        return None
    classes = class_set(value)
    for direction, names in _PAGER_CLASSES.items():
        if not names.isdisjoint(classes) or ("pager-link" in classes and direction in classes):
            return direction
    return None


def _resolve_href(base: str, href: str) -> str | None:
    """normalize(href, base): the fragment is dropped, so `os.html#os.walk` and
    `os.html#os.stat` share one cache entry (most links in docs point at an anchor).

    Exact because normalize ignores the fragment, except that it strips the whole href
    (so the part before "#" must not end in whitespace) and refuses URLs over
    MAX_URL_LENGTH counting the fragment (so only short hrefs take this path)."""
    path, _, fragment = href.partition("#")
    if fragment and path and not path[-1].isspace() and len(base) + len(href) < MAX_URL_LENGTH - 16:
        return _resolve(base, path)
    return _resolve(base, href)


@lru_cache(maxsize=16384)
def _resolve(base: str, href: str) -> str | None:
    """Links repeat across a site's pages (navigation, same-directory links): resolve once."""
    return normalize(href, base=base)


def _title(tree: Element) -> str:
    title = tree.find(".//title")
    if title is not None and text_of(title).strip():
        return " ".join(text_of(title).split())
    h1 = tree.find(".//h1")
    return " ".join(text_of(h1).split()) if h1 is not None else ""


def _first_heading(markdown: str) -> str:
    for line in markdown.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""
