"""HTML in, ExtractedPage out: title, Markdown, links, quality, fingerprints.

Pure and picklable: it runs in worker processes (extract_pool.py). One parse serves
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

from . import tokens
from .docs_rules import find_main, strip_noise
from .fingerprints import block_hashes, line_sketch
from .htmltree import Element, parse, text_of, visible_length
from .markdown import Fidelity, convert
from .quality import score
from .urls import MAX_URL_LENGTH, normalize

MAX_LINKS_PER_PAGE = 2000
MAX_REFRESH_DELAY_S = 5
JS_SHELL_MAX_TEXT = 200
APP_ROOT_IDS = frozenset({"root", "app", "__next", "__nuxt", "___gatsby", "svelte", "main-app"})

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_REFRESH = re.compile(r"""\s*(\d+(?:\.\d*)?)?\s*[;,]\s*(?:url\s*=\s*)?["']?([^"'\s][^"']*)""", re.I)
_ENABLE_JS = re.compile(r"enable javascript|javascript (is )?(required|disabled)|requires javascript", re.I)


@dataclass(frozen=True)
class ExtractInput:
    url: str
    body: bytes
    charset: str | None = None
    keep_html: bool = True


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

    @property
    def has_content(self) -> bool:
        return bool(self.markdown.strip())


def extract_page(item: ExtractInput) -> ExtractedPage:
    started = time.perf_counter()
    tree = parse(decode_html(item.body, item.charset))
    markdown, title, links, anchors, extractor = "", "", (), (), "none"
    link_chars = text_chars = 0
    fidelity: dict[str, int] = {}
    needs_js = False
    refresh = canonical = None
    if tree is not None:
        base, refresh = _base_and_refresh(tree, item.url)
        links, anchors, link_chars = _links(tree, base)
        canonical = _canonical(tree, base)
        title = _title(tree)
        body = tree.find("body")
        text_chars = visible_length(body) if body is not None else 0
        needs_js = _is_javascript_shell(tree, text_chars)
        if not needs_js:
            markdown, extractor, fid = _markdown(tree, base, item)
            fidelity = fid.as_dict() if fid is not None else {}
    if not title:
        title = _first_heading(markdown) or item.url
    words = markdown.split()  # one split for the word count, the score and the hash
    quality, reasons = score(markdown, title=title, link_text_chars=link_chars, text_chars=text_chars, words=len(words))
    return ExtractedPage(
        title=title,
        markdown=markdown,
        links=links,
        quality=quality,
        quality_reasons=reasons,
        content_hash=hashlib.blake2b(" ".join(words).encode(), digest_size=16).hexdigest() if markdown else None,
        words=len(words),
        extract_ms=(time.perf_counter() - started) * 1000,
        html_gz=zlib.compress(item.body, 6) if item.keep_html else None,
        extractor=extractor,
        tokens=tokens.estimate(markdown),
        sketch=line_sketch(markdown) if markdown else None,
        block_hashes=block_hashes(markdown),
        fidelity=fidelity,
        needs_javascript=needs_js,
        anchors=anchors,
        refresh_url=refresh,
        canonical_url=canonical,
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


def _canonical(tree: Element, base: str) -> str | None:
    head = tree.find("head")
    for link in head.iter("link") if head is not None else ():
        if "canonical" in (link.get("rel") or "").lower().split() and (href := (link.get("href") or "").strip()):
            return normalize(href, base=base)
    return None


def _markdown(tree: Element, base: str, item: ExtractInput) -> tuple[str, str, Fidelity | None]:
    found = find_main(tree)
    if found is not None:
        generator, main = found
        strip_noise(main)
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
    links, anchors, _ = _links(tree, _base_url(tree, page_url))
    return links, anchors


def _links(tree: Element, base: str) -> tuple[tuple[str, ...], tuple[str, ...], int]:
    """page_links, and the characters of text inside <a> elements (for the link density):
    one walk over the links, each one's text read once."""
    seen: dict[str, str] = {}
    link_chars = 0
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
        if url is not None and url not in seen:
            seen[url] = " ".join(text.split())[:120]
    return tuple(seen), tuple(seen.values()), link_chars


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
