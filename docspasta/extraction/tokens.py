"""Token counts: a fast estimate per page, the exact o200k count for exports.

The exact tokenizer (bpe-openai, vocabularies shipped in the wheel, no network) costs
about 150 MB resident for the rest of the life of the process that loads it, too much
for every extraction worker or for the dashboard: workers store the estimate, and an
export that needs exact counts streams its text through a `TokenCounter`, a
short-lived process of its own (`token_worker.py`).
The estimate is calibrated on the Python docs' Markdown: 1.06x the o200k count on
average (0.98-1.20 per page), erring high so budgets are not overrun.
"""

from __future__ import annotations

import codecs
import re
import subprocess
import sys
from functools import lru_cache

from ..errors import ExportError

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
        cut = safe_cut(text, start, start + CHUNK_CHARS)
        chunks.append(text[start:cut])
        start = cut
    chunks.append(text[start:])
    return chunks


def safe_cut(text: str, start: int, end: int) -> int:
    """The last place in text[start:end] where counting two parts apart counts the whole:
    after a blank line followed by a non-blank character. o200k's pre-tokenizer ends a
    token at the last line break of a run there (a run with spaces between its breaks is
    one token, hence the non-blank character). `end` when there is none."""
    cut = text.rfind("\n\n", start, end)
    while cut > start and (cut + 2 >= len(text) or text[cut + 2].isspace()):
        cut = text.rfind("\n\n", start, cut)
    return cut + 2 if cut > start else end


class TokenCounter:
    """Exact o200k counts from a worker process that lives as long as this object.

        with TokenCounter() as counter:
            for piece in pieces:
                counter.feed(piece)      # streamed: held only until a safe cut
            total = counter.total()
            one = counter.count(text)    # a count on its own, apart from the stream

    The process starts on first use, so an export that counts nothing costs nothing.
    """

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._pending: list[str] = []
        self._pending_chars = 0
        self._total = 0

    def __enter__(self) -> TokenCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def count(self, text: str) -> int:
        """The exact count of `text` alone (texts of any length)."""
        return sum(self._ask(chunk) for chunk in _chunks(text)) if text else 0

    def feed(self, text: str) -> None:
        """Add `text` to the stream whose count `total()` returns."""
        self._pending.append(text)
        self._pending_chars += len(text)
        if self._pending_chars > CHUNK_CHARS:
            buffered = "".join(self._pending)
            cut = safe_cut(buffered, 0, len(buffered))
            if cut < len(buffered):
                self._total += self.count(buffered[:cut])
                self._pending, self._pending_chars = [buffered[cut:]], len(buffered) - cut
            else:  # no safe cut yet (one huge paragraph): keep it whole, count it later
                self._pending, self._pending_chars = [buffered], 0

    def total(self) -> int:
        """The count of everything fed so far."""
        if self._pending:
            self._total += self.count("".join(self._pending))
            self._pending, self._pending_chars = [], 0
        return self._total

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _ask(self, text: str) -> int:
        from .token_worker import ANSWER, HEADER

        process = self._start()
        assert process.stdin is not None and process.stdout is not None
        data = text.encode("utf-8")
        try:
            process.stdin.write(HEADER.pack(len(data)) + data)
            process.stdin.flush()
            answer = process.stdout.read(ANSWER.size)
        except OSError:
            answer = b""
        if len(answer) < ANSWER.size:
            self.close()
            raise ExportError("the token counter process ended unexpectedly; its error is on stderr")
        return ANSWER.unpack(answer)[0]

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "docspasta.extraction.token_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
        return self._process
