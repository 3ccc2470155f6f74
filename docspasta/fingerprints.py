"""Fingerprints of Markdown: 64-bit simhash for near-duplicate pages, and per-block
hashes for text that recurs across a site (navigation, banners, footers)."""

from __future__ import annotations

import hashlib
import re
import zlib

_FENCE = re.compile(r"^(`{3,}|~{3,})")
MASK64 = (1 << 64) - 1


_K = 0x9E3779B97F4A7C15


MIN_FEATURES = 16


def simhash(text: str) -> int | None:
    """Charikar simhash over the text's lines: similar pages differ in few bits.

    Lines, not word shingles: near-duplicate documentation (versioned copies, print
    views, `index.html` vs `/`) shares most lines verbatim, and hashing a few hundred
    lines in C is ~20x cheaper than thousands of shingles in Python. None for a page of
    fewer than 16 distinct lines, where a few shared lines would look like similarity.
    """
    features = set()
    for line in text.split("\n"):
        words = line.split()
        if words:
            h = zlib.crc32(" ".join(words).lower().encode())
            mixed = (h * _K) & MASK64
            features.add(mixed ^ (mixed >> 29) ^ (h << 7))
    if len(features) < MIN_FEATURES:  # too few lines for the bits to mean anything: exact hashes only
        return None
    bits = "".join(format(h & MASK64, "064b") for h in features)
    half = len(features) / 2
    value = 0
    for column in range(64):  # column 0 is the most significant bit
        if bits[column::64].count("1") > half:
            value |= 1 << (63 - column)
    return value


def to_signed(value: int) -> int:
    """SQLite integers are signed 64-bit."""
    return value - (1 << 64) if value >= 1 << 63 else value


def bands(value: int) -> tuple[int, int, int, int]:
    """Four 16-bit bands: two hashes within 3 bits share at least one band exactly."""
    value &= MASK64
    return tuple((value >> (16 * i)) & 0xFFFF for i in range(4))  # type: ignore[return-value]


def hamming(a: int, b: int) -> int:
    return ((a ^ b) & MASK64).bit_count()


def split_blocks(markdown: str) -> list[str]:
    """Top-level blocks (separated by blank lines); a fenced code block is one block."""
    blocks: list[str] = []
    current: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        marker = _FENCE.match(line)
        if fence is None and marker:
            fence = marker.group(1)[0] * len(marker.group(1))
        elif (
            fence is not None and line.strip().startswith(fence) and line.strip() == line.strip()[0] * len(line.strip())
        ):
            fence = None
        if not line.strip() and fence is None:
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
