"""Token counts: a fast estimate per page, the exact o200k count for exports.

The exact tokenizer (bpe-openai, vocabularies shipped in the wheel, no network) costs
~140 MB per process, too much to load in every extraction worker; workers store the
estimate, and exports — made once, in one process — count exactly.
The estimate is calibrated on the Python docs' Markdown: 1.06x the o200k count on
average (0.98-1.20 per page), erring high so budgets are not overrun.
"""

from __future__ import annotations

import re
from functools import lru_cache

_COUNTED = tuple(
    re.compile(pattern)
    for pattern in (
        r"[A-Za-z]+",  # a word: one token ...
        r"[A-Za-z]{10,}",  # ... plus one for each further 10 letters
        r"[A-Za-z]{20,}",
        r"[A-Za-z]{30,}",
        r"\d{1,3}",  # numbers split into runs of up to three digits
        r"[^\S\n]*\n\s*",  # a run of whitespace with a line break
        r"[^\sA-Za-z\d]+",  # punctuation: one token per run ...
        r"[^\sA-Za-z\d]{4,}",  # ... plus one for each further three characters
        r"[^\sA-Za-z\d]{7,}",
        r"[^\sA-Za-z\d]{10,}",
    )
)


def estimate(text: str) -> int:
    """Tokens a BPE tokenizer would make, counted with C-speed regexes (no vocabulary)."""
    return sum(len(pattern.findall(text)) for pattern in _COUNTED)


@lru_cache(maxsize=1)
def _encoding():
    try:
        import bpe_openai
    except ImportError:  # pragma: no cover - a declared dependency; estimate if absent
        return None
    return bpe_openai.get_encoding("o200k_base")


CHUNK_CHARS = 200_000  # bpe-openai refuses inputs past ~1 MB ("too long to encode safely")


def count(text: str) -> int:
    """Exact o200k_base token count (the GPT-4o family's tokenizer).

    Long texts are counted in chunks cut at blank lines, which are token boundaries in
    Markdown, so the sum equals the count of the whole.
    """
    encoding = _encoding()
    if encoding is None:
        return estimate(text)
    return sum(len(encoding.encode_ordinary(chunk)) for chunk in _chunks(text))


def _chunks(text: str) -> list[str]:
    chunks, start = [], 0
    while len(text) - start > CHUNK_CHARS:
        cut = text.rfind("\n\n", start, start + CHUNK_CHARS)
        cut = cut + 2 if cut > start else start + CHUNK_CHARS
        chunks.append(text[start:cut])
        start = cut
    chunks.append(text[start:])
    return chunks
