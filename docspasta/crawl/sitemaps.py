"""Sitemaps: `Sitemap:` lines in robots.txt, sitemap indexes, url sets, gzip. Pure parsing.

Broken XML is parsed as far as it goes (lxml's recovering parser), entities are never
resolved and nothing is fetched from inside the XML; gzip is inflated under a cap so a
compressed bomb stops there. The engine does the fetching, bounded in files and URLs.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree

MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit for an uncompressed file
_PARSER = etree.XMLParser(recover=True, resolve_entities=False, no_network=True, huge_tree=False)


@dataclass
class Sitemap:
    urls: list[tuple[str, float]] = field(default_factory=list)  # (loc, priority 0-1)
    sitemaps: list[str] = field(default_factory=list)  # nested sitemaps of an index
    error: str | None = None
    lastmod: dict[str, float] = field(default_factory=dict)  # loc -> its <lastmod>, epoch seconds


def robots_sitemaps(text: str) -> list[str]:
    """The `Sitemap:` URLs a robots.txt lists (the field name is case-insensitive)."""
    found = []
    for line in text.splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip().lower() == "sitemap" and value.strip():
            found.append(value.split("#", 1)[0].strip())
    return found


def inflate(data: bytes, limit: int | None = None) -> bytes:
    """Gunzip if gzipped (by magic bytes, whatever the URL says), never past `limit`."""
    limit = MAX_SITEMAP_BYTES if limit is None else limit
    if not data.startswith(b"\x1f\x8b"):
        return data
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, limit)
    if inflater.unconsumed_tail:
        raise ValueError(f"sitemap inflates past {limit:,} bytes")
    return out


def parse_sitemap(data: bytes) -> Sitemap:
    """A <urlset> or a <sitemapindex>, namespaced or not; what can be read of broken XML."""
    try:
        root = etree.fromstring(inflate(data), _PARSER)
    except (ValueError, zlib.error) as exc:
        return Sitemap(error=str(exc))
    except etree.XMLSyntaxError as exc:
        return Sitemap(error=f"not XML: {exc}")
    if root is None:
        return Sitemap(error="not XML: empty document")
    result = Sitemap()
    kind = etree.QName(root).localname
    for entry in root:
        if not isinstance(entry.tag, str):
            continue
        values = {
            etree.QName(child).localname: (child.text or "").strip() for child in entry if isinstance(child.tag, str)
        }
        loc = values.get("loc")
        if not loc:
            continue
        if kind == "sitemapindex" or etree.QName(entry).localname == "sitemap":
            result.sitemaps.append(loc)
        else:
            result.urls.append((loc, _priority(values.get("priority"))))
            if (when := _lastmod(values.get("lastmod"))) is not None:
                result.lastmod[loc] = when
    return result


def _lastmod(value: str | None) -> float | None:
    """A W3C datetime (`2024-05-01`, `2024-05-01T10:00:00+02:00`, `...Z`) as epoch seconds, UTC when unzoned."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def _priority(value: str | None) -> float:
    try:
        return min(1.0, max(0.0, float(value))) if value else 0.5
    except ValueError:
        return 0.5
