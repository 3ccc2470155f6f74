"""Token counts: a fast estimate per page, the exact o200k count for exports.

The exact tokenizer (bpe-openai, vocabularies shipped in the wheel, no network) costs
~140 MB per process, too much to load in every extraction worker; workers store the
estimate, and exports — made once, in one process — count exactly.
The estimate is calibrated on the Python docs' Markdown: 1.06x the o200k count on
average (0.98-1.20 per page), erring high so budgets are not overrun.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

# What the estimate counts, as regexes: the definition. `estimate` computes the same
# counts without running them (see _class_bytes); tests check the two agree.
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
_LETTER, _DIGIT, _PUNCT, _SPACE, _NEWLINE = b"a0. \n"
_CLASS_ERRORS = "docspasta-token-class"


def estimate(text: str) -> int:
    """Tokens a BPE tokenizer would make: the number of matches of the _COUNTED regexes.

    Ten regex passes cost ~2 ms on a median page (the largest part of extracting it), so
    the text is mapped to one class byte per character (letter, digit, punctuation,
    space, line break) and the counts become bit operations on a big integer per class
    (runs of letters, of punctuation, of line breaks) and a split for the rare digits.
    """
    classes = _class_bytes(text)
    if not classes:
        return 0
    total = _runs(classes.translate(_LETTER_BITS), (1, 10, 20, 30))
    total += _runs(classes.translate(_PUNCT_BITS), (1, 4, 7, 10))
    total += _runs(classes.translate(_BREAK_BITS, b" "), (1,))  # spaces deleted: runs of line breaks
    # \d{1,3} matches ceil(n/3) times in a run of n digits
    return total + sum((len(run) + 2) // 3 for run in classes.translate(_DIGITS_ONLY).split())


def _runs(bits: bytes, lengths: tuple[int, ...]) -> int:
    """Runs of 1s at least each of `lengths` long in a string of ASCII 0s and 1s, summed.

    As one integer (the first character the highest bit): a run starts where a bit is set
    and the one above it is not; it is at least k long where the k-1 bits below are set."""
    if not bits:
        return 0
    ones = int(bits, 2)
    starts = ones & ~(ones >> 1)
    spans = {1: ones}  # k: bits that begin k set bits in a row

    def span(k: int) -> int:
        if k not in spans:
            half = k // 2
            spans[k] = span(half) & (span(k - half) << half)
        return spans[k]

    return sum((starts & span(k)).bit_count() for k in lengths)


def _class_bytes(text: str) -> bytes:
    """One byte per character of text: a (ASCII letter), 0 (\\d), space (\\s but a line
    break), \\n, or . (anything else) — the classes the _COUNTED regexes tell apart."""
    return text.encode("ascii", _CLASS_ERRORS).translate(_ASCII_CLASSES)


@lru_cache(maxsize=4096)
def _char_class(char: str) -> str:
    """The class of one character, decided by the same regex classes _COUNTED uses."""
    if char == "\n":
        return "\n"
    if re.fullmatch(r"[A-Za-z]", char):
        return "a"
    if re.fullmatch(r"\d", char):
        return "0"
    return " " if re.fullmatch(r"\s", char) else "."


def _classify_unencodable(error: UnicodeError) -> tuple[str, int]:
    """Codec error handler: non-ASCII characters become their class byte, one for one."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    return "".join(map(_char_class, error.object[error.start : error.end])), error.end


codecs.register_error(_CLASS_ERRORS, _classify_unencodable)
_ASCII_CLASSES = bytes(ord(_char_class(chr(i))) if i < 128 else _PUNCT for i in range(256))


def _keep(keep: int, to: int, other: int) -> bytes:
    """A translate table mapping class byte `keep` to `to` and every other byte to `other`."""
    return bytes(to if i == keep else other for i in range(256))


_ZERO, _ONE = b"01"
_LETTER_BITS = _keep(_LETTER, _ONE, _ZERO)
_PUNCT_BITS = _keep(_PUNCT, _ONE, _ZERO)
_BREAK_BITS = _keep(_NEWLINE, _ONE, _ZERO)
_DIGITS_ONLY = _keep(_DIGIT, _DIGIT, _SPACE)


def estimate_by_regex(text: str) -> int:
    """The estimate by its definition (ten regex passes): what `estimate` must equal."""
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
