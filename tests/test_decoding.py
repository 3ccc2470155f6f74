"""Content-Encoding bombs stop at the cap; honest compressed bodies decode exactly."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from docspasta.errors import ResponseTooLargeError
from docspasta.fetching.decoding import BodyDecoder, UnsupportedEncodingError

PAGE = b"<html><body>" + b"<p>Some documentation text.</p>" * 2000 + b"</body></html>"


def compress(coding: str, data: bytes) -> bytes:
    return {
        "gzip": gzip.compress,
        "deflate": zlib.compress,
        "raw-deflate": _raw,
        "br": lambda d: brotli.compress(d, quality=1),
    }[coding](data)


def _raw(data: bytes) -> bytes:
    c = zlib.compressobj(wbits=-15)
    return c.compress(data) + c.flush()


def feed_all(decoder: BodyDecoder, body: bytes, chunk: int = 65536) -> bytes:
    return b"".join(decoder.feed(body[i : i + chunk]) for i in range(0, len(body), chunk))


@pytest.mark.parametrize("coding", ["gzip", "deflate", "raw-deflate", "br"])
def test_honest_bodies_decode_exactly(coding):
    header = "deflate" if coding == "raw-deflate" else coding
    assert feed_all(BodyDecoder(header, 10_000_000), compress(coding, PAGE)) == PAGE


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br"])
def test_a_bomb_stops_at_the_cap_without_inflating_a_chunk(coding):
    bomb = compress(coding, b"0" * (64 * 1024 * 1024))  # 64 MiB of zeros in a few dozen KiB
    assert len(bomb) < 512 * 1024
    decoder = BodyDecoder(coding, 1_000_000)
    largest = 0
    with pytest.raises(ResponseTooLargeError, match="after decompression"):
        for i in range(0, len(bomb), 65536):
            largest = max(largest, len(decoder.feed(bomb[i : i + 65536])))
    # never much more than the cap came out (brotli grows its buffer in blocks, so it may pass by one block)
    assert decoder.produced <= 1_000_000 + 65_536
    assert largest <= 1_000_000 + 65_536


def test_gzip_members_are_concatenated_and_identity_passes_through():
    assert (
        feed_all(BodyDecoder("gzip", 10_000), gzip.compress(b"a" * 10) + gzip.compress(b"b" * 10))
        == b"a" * 10 + b"b" * 10
    )
    assert BodyDecoder("identity", 10).feed(b"plain") == b"plain"
    with pytest.raises(ResponseTooLargeError):
        BodyDecoder("", 3).feed(b"plain")


def test_an_unknown_encoding_is_named():
    with pytest.raises(UnsupportedEncodingError, match="unsupported Content-Encoding: zstd"):
        BodyDecoder("zstd", 10)
