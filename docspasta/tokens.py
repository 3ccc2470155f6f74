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

_PIECES = re.compile(r"[A-Za-z]+|\d{1,3}|[^\sA-Za-z\d]+|\s+")


def estimate(text: str) -> int:
    n = 0
    for match in _PIECES.finditer(text):
        piece = match.group()
        first = piece[0]
        if first.isalpha():
            n += 1 + len(piece) // 10
        elif first.isdigit():
            n += 1
        elif first.isspace():
            n += 1 if "\n" in piece else (len(piece) - 1) // 8
        else:
            n += 1 + (len(piece) - 1) // 3
    return n


@lru_cache(maxsize=1)
def _encoding():
    try:
        import bpe_openai
    except ImportError:  # pragma: no cover - a declared dependency; estimate if absent
        return None
    return bpe_openai.get_encoding("o200k_base")


def count(text: str) -> int:
    """Exact o200k_base token count (the GPT-4o family's tokenizer)."""
    encoding = _encoding()
    return len(encoding.encode_ordinary(text)) if encoding is not None else estimate(text)
