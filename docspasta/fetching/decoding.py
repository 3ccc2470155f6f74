"""Content-Encoding decoding that can never produce more than the body cap.

httpx decodes gzip, deflate and brotli for us, but each network chunk is inflated in
one call: 64 KiB of a gzip bomb becomes 64 MiB before anyone can count it, and
brotli's ratio is worse. Here every decompressor call is told how much output it may
return (zlib's max_length, brotli 1.2's output_buffer_limit), so a bomb stops at the
cap with at most cap + 1 bytes ever held.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

from ..errors import FetchError, ResponseTooLargeError

try:  # brotli >= 1.2 bounds its output; declared as a dependency, guarded for odd installs
    import brotli
except ImportError:  # pragma: no cover
    brotli = None

ACCEPT_ENCODING = "gzip, deflate, br" if brotli is not None else "gzip, deflate"


class UnsupportedEncodingError(FetchError):
    pass


class BodyDecoder:
    """Feed raw chunks, get decoded bytes; raises ResponseTooLargeError past `limit` decoded bytes."""

    def __init__(self, content_encoding: str, limit: int) -> None:
        self.limit = limit
        self.produced = 0
        codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        # applied in the order listed, so they are removed in reverse
        self._steps: list[Callable[[bytes, int], bytes]] = [_step(c) for c in reversed(codings)]

    def feed(self, chunk: bytes) -> bytes:
        for step in self._steps:
            chunk = step(chunk, self.limit - self.produced + 1)
        return self._count(chunk)

    def _count(self, data: bytes) -> bytes:
        self.produced += len(data)
        if self.produced > self.limit:
            raise ResponseTooLargeError(f"response exceeds the {self.limit:,} byte cap (after decompression)")
        return data


def _step(coding: str) -> Callable[[bytes, int], bytes]:
    if coding in ("gzip", "x-gzip"):
        return _ZlibStep(16 + zlib.MAX_WBITS)
    if coding == "deflate":
        return _ZlibStep(zlib.MAX_WBITS, raw_fallback=True)
    if coding == "br" and brotli is not None:
        return _BrotliStep()
    raise UnsupportedEncodingError(f"unsupported Content-Encoding: {coding}")


class _ZlibStep:
    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._wbits = wbits
        self._raw_fallback = raw_fallback  # "deflate" is zlib-wrapped by the RFC, raw by some servers
        self._d = zlib.decompressobj(wbits)
        self._started = False

    def __call__(self, data: bytes, room: int) -> bytes:
        out: list[bytes] = []
        size = 0
        while data and size < room:
            try:
                piece = self._d.decompress(data, room - size)
            except zlib.error as exc:
                if self._raw_fallback and not self._started:
                    self._raw_fallback, self._d = False, zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise FetchError(f"corrupt compressed body: {exc}") from None
            self._started = True
            out.append(piece)
            size += len(piece)
            if self._d.eof and self._d.unused_data:  # another gzip member follows
                data, self._d = self._d.unused_data, zlib.decompressobj(self._wbits)
            else:
                data = self._d.unconsumed_tail
        return b"".join(out)  # longer than room only if the cap is already passed: the caller raises


class _BrotliStep:
    def __init__(self) -> None:
        self._d = brotli.Decompressor()

    def __call__(self, data: bytes, room: int) -> bytes:
        try:
            out = [self._d.process(data, output_buffer_limit=room)]
            size = len(out[0])
            while size < room and not self._d.can_accept_more_data():
                piece = self._d.process(b"", output_buffer_limit=room - size)
                out.append(piece)
                size += len(piece)
        except brotli.error as exc:
            raise FetchError(f"corrupt brotli body: {exc}") from None
        return b"".join(out)
