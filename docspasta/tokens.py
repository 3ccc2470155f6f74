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


def count(text: str) -> int:
    """Exact o200k_base token count (the GPT-4o family's tokenizer)."""
    encoding = _encoding()
    return len(encoding.encode_ordinary(text)) if encoding is not None else estimate(text)
