"""A page's links, packed for the store: what a refresh follows when the server answers
304 (no body to parse) or sends the very bytes it sent before (no need to parse them).

Packed in the extraction worker, off the event loop: zlib over JSON, a few KB a page.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Outlinks:
    links: tuple[str, ...]
    anchors: tuple[str, ...]
    refresh_url: str | None = None
    canonical_url: str | None = None


def pack(outlinks: Outlinks) -> bytes:
    data = [list(outlinks.links), list(outlinks.anchors), outlinks.refresh_url, outlinks.canonical_url]
    return zlib.compress(json.dumps(data, separators=(",", ":")).encode(), 1)


def unpack(packed: bytes) -> Outlinks:
    links, anchors, refresh_url, canonical_url = json.loads(zlib.decompress(packed))
    return Outlinks(tuple(links), tuple(anchors), refresh_url, canonical_url)
