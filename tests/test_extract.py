"""Extraction as a pure function, and the worker pool that runs it."""

from __future__ import annotations

import zlib

import pytest
from fixture_server import SITES

from docspasta.errors import ExtractionTimeoutError
from docspasta.extraction.extract import ExtractInput, decode_html, extract_page
from docspasta.extraction.pool import ExtractPool

PROSE = "<p>" + " ".join(["Documentation sentences explain how the widget renders text."] * 12) + "</p>"


def test_links_resolve_against_base_href_and_skip_non_http():
    html = f"""<html><head><base href="https://x.org/docs/v2/"><title>T</title></head><body>
    <a href="intro.html#part">a</a><a href="../v1/old.html">b</a><a href="mailto:x@y">c</a>
    <a href="#local">d</a><a href="javascript:void(0)">e</a><a href="intro.html">dup</a>{PROSE}</body></html>"""
    page = extract_page(ExtractInput("https://x.org/docs/page.html", html.encode()))
    assert page.links == ("https://x.org/docs/v2/intro.html", "https://x.org/docs/v1/old.html")


def test_fixture_page_extracts_title_markdown_quality_and_hash():
    body = (SITES / "docs/guide/config.html").read_bytes()
    page = extract_page(ExtractInput("http://h/docs/guide/config.html", body))
    assert page.title == "Configuration — Widgetry docs"
    assert 'theme = "dark"' in page.markdown
    assert page.quality >= 50 and any("words" in r for r in page.quality_reasons)
    assert page.content_hash and len(page.content_hash) == 32
    assert zlib.decompress(page.html_gz) == body
    assert extract_page(ExtractInput("http://h/", body, keep_html=False)).html_gz is None


@pytest.mark.parametrize("body", [b"", b"   ", b"\x00\x00", b"<html></html>", b"<?xml version='1.0'?><html/>"])
def test_empty_or_broken_documents_are_an_outcome_not_a_crash(body):
    page = extract_page(ExtractInput("http://h/x", body))
    assert page.markdown == "" and not page.has_content
    assert page.quality == 0 and page.quality_reasons == ("no extractable content (0)",)


def test_error_pages_score_low():
    html = (
        "<html><head><title>404 Not Found</title></head>"
        "<body><h1>Not found</h1><p>Sorry, that page does not exist here.</p></body></html>"
    )
    assert extract_page(ExtractInput("http://h/x", html.encode())).quality < 20


def test_decoding_order_bom_header_meta_then_fallback():
    text = "café — ünïcode"
    assert decode_html(b"\xef\xbb\xbf" + text.encode(), "latin-1") == text  # BOM wins over the header
    assert decode_html(text.encode("cp1252"), "windows-1252") == text
    meta = b'<meta charset="iso-8859-1">' + "café".encode("latin-1")
    assert decode_html(meta, None).endswith("café")
    assert decode_html("café".encode("cp1252"), "utf-8") == "café"  # mislabelled: fall back


async def test_pool_times_out_a_page_replaces_the_worker_and_keeps_working():
    body = (SITES / "docs/guide/config.html").read_bytes()
    async with ExtractPool(workers=1) as pool:
        with pytest.raises(ExtractionTimeoutError, match="longer than 0.001 s"):
            await pool.extract(ExtractInput("http://h/a", body), timeout=0.001)
        page = await pool.extract(ExtractInput("http://h/a", body), timeout=30)
        assert page.title.startswith("Configuration")
