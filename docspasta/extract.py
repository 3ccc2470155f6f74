"""HTML in, ExtractedPage out: title, Markdown, links, quality, content hash.

Pure and picklable: it runs in worker processes (see extract_pool.py). One lxml
parse serves the links, the title and (handed on) trafilatura. trafilatura returning
None means "nothing extractable here" — an outcome recorded with the page, not an error.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import time
import zlib
from dataclasses import dataclass

import lxml.etree
import lxml.html

from .quality import score
from .urls import normalize

MAX_LINKS_PER_PAGE = 2000

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.I)
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


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

    @property
    def has_content(self) -> bool:
        return bool(self.markdown.strip())


def extract_page(item: ExtractInput) -> ExtractedPage:
    started = time.perf_counter()
    text = decode_html(item.body, item.charset)
    tree = _parse(text)
    if tree is None:
        markdown, title, links, link_chars, text_chars = "", "", (), 0, 0
    else:
        base = _base_url(tree, item.url)
        links = _links(tree, base)
        title = _title(tree)
        body = tree.find("body")
        text_chars = len(body.text_content().strip()) if body is not None else 0
        link_chars = sum(len(a.text_content().strip()) for a in tree.iter("a"))
        markdown = _markdown(tree, item.url)
    if not title:
        title = _first_heading(markdown) or item.url
    quality, reasons = score(markdown, title=title, link_text_chars=link_chars, text_chars=text_chars)
    return ExtractedPage(
        title=title,
        markdown=markdown,
        links=links,
        quality=quality,
        quality_reasons=reasons,
        content_hash=hashlib.blake2b(_hashable(markdown), digest_size=16).hexdigest() if markdown else None,
        words=len(markdown.split()),
        extract_ms=(time.perf_counter() - started) * 1000,
        html_gz=zlib.compress(item.body, 6) if item.keep_html else None,
    )


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


def _parse(text: str) -> lxml.html.HtmlElement | None:
    text = _XML_DECL.sub("", text.replace("\x00", ""), count=1)
    if not text.strip():
        return None
    try:
        return lxml.html.document_fromstring(text)
    except (lxml.etree.ParserError, ValueError):
        return None


def _base_url(tree: lxml.html.HtmlElement, page_url: str) -> str:
    for base in tree.iter("base"):
        href = (base.get("href") or "").strip()
        if href:
            return normalize(href, base=page_url) or page_url
    return page_url


def _links(tree: lxml.html.HtmlElement, base: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for element in tree.iter("a", "area"):
        href = element.get("href")
        if not href or href.startswith("#"):
            continue
        url = normalize(href, base=base)
        if url is not None:
            seen.setdefault(url)
            if len(seen) >= MAX_LINKS_PER_PAGE:
                break
    return tuple(seen)


def _title(tree: lxml.html.HtmlElement) -> str:
    title = tree.find(".//title")
    if title is not None and title.text_content().strip():
        return " ".join(title.text_content().split())
    h1 = tree.find(".//h1")
    return " ".join(h1.text_content().split()) if h1 is not None else ""


def _markdown(tree: lxml.html.HtmlElement, url: str) -> str:
    import trafilatura  # only worker processes pay for it (~60 MB)

    result = trafilatura.extract(
        tree,
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


def _first_heading(markdown: str) -> str:
    for line in markdown.splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


def _hashable(markdown: str) -> bytes:
    return " ".join(markdown.split()).encode("utf-8")
