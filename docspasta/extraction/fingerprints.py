"""Fingerprints of Markdown: line sketches for near-duplicate pages, and per-block
hashes for text that recurs across a site (navigation, banners, footers)."""

from __future__ import annotations

import hashlib
import heapq
import re
import zlib

_FENCE = re.compile(r"^(`{3,}|~{3,})")


MIN_LINES = 16
SKETCH_SIZE = 64


def line_sketch(text: str) -> tuple[int, ...] | None:
    """A bottom-k sketch of the page's distinct lines: the 64 smallest line hashes.

    Near-duplicate documentation (versioned copies, print views, `index.html` vs `/`)
    shares most of its lines verbatim, so Jaccard similarity of line sets is the right
    measure; comparing two sketches estimates it. None for pages of fewer than 16
    distinct lines, where a few shared lines would look like similarity.
    """
    hashes = {zlib.crc32(" ".join(line.split()).lower().encode()) for line in text.split("\n") if line.strip()}
    if len(hashes) < MIN_LINES:
        return None
    return tuple(heapq.nsmallest(SKETCH_SIZE, hashes))


def jaccard(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Estimated Jaccard similarity of two line sets from their bottom-k sketches."""
    union = heapq.nsmallest(SKETCH_SIZE, set(a) | set(b))
    in_a, in_b = set(a), set(b)
    return sum(1 for h in union if h in in_a and h in in_b) / len(union) if union else 0.0


def split_blocks(markdown: str) -> list[str]:
    """Top-level blocks (separated by blank lines); a fenced code block is one block."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        stripped = line.strip()  # once per line, and the fence regex only where a fence can start
        if fence is None:
            if line[:1] in "`~" and (marker := _FENCE.match(line)):
                fence = marker.group(1)
        elif stripped.startswith(fence) and stripped == stripped[0] * len(stripped):
            fence = None
        if not stripped and fence is None:
            if current:
                blocks.append("\n".join(current))
                current = []
            continue
        current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def block_hash(block: str) -> str:
    return hashlib.blake2b(" ".join(block.split()).encode(), digest_size=8).hexdigest()


def block_hashes(markdown: str) -> tuple[str, ...]:
    """Hashes of the blocks that could be site chrome: prose blocks, not code or headings."""
    seen: dict[str, None] = {}
    for block in split_blocks(markdown):
        if block.startswith(("```", "~~~", "#")) or len(block) < 20:
            continue
        seen.setdefault(block_hash(block))
    return tuple(seen)
