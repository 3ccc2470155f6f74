"""The fast paths of extraction give exactly what their plain definitions give.

Each speed-up replaced a simple formulation (a regex pass, itertext, urljoin per link, a
Python walk with a full test per element) by a faster one that must not change a byte of
output. Here the fast path meets its definition, written out plainly, on inputs chosen
for the edge cases each shortcut has to respect, and on random inputs.
"""

from __future__ import annotations

import hashlib
import random
import re
from urllib.parse import urljoin

import pytest
from lxml import etree

from docspasta.extraction import fingerprints, quality, tokens
from docspasta.extraction.docs_rules import (
    MAIN_RULES,
    NOISE_CLASSES,
    NOISE_TAGS,
    PERMALINK_TITLES,
    find_main,
    strip_noise,
)
from docspasta.extraction.extract import ExtractInput, _links, _resolve_href, extract_page
from docspasta.extraction.htmltree import INVISIBLE, drop, parse, text_of, visible_length
from docspasta.extraction.markdown import _SPACE, _escape_line_starts, _text, _tidy_inline, absolute, convert
from docspasta.urls import normalize

# -- tokens ---------------------------------------------------------------------------

TOKEN_PIECES = [
    "word", "Supercalifragilistic", "x" * 31, "a" * 19, "12", "1234567", "٣٤٥", "²", "  ", "\t", "\n", "\n\n", " \n ",
    "\r\n", "\x0b", "\x1c", "\x85", "\xa0", "\u2028", "\u3000", "...", "!!!!", "=======", "-->", "é", "日本語", "😀",
    "`", "#", "*", "\ud800",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(5))
def test_token_estimate_counts_what_the_regexes_count(seed):
    rng = random.Random(seed)
    for _ in range(400):
        text = "".join(rng.choice(TOKEN_PIECES) for _ in range(rng.randint(0, 40)))
        assert tokens.estimate(text) == tokens.estimate_by_regex(text), repr(text)


def test_token_estimate_on_long_runs_and_empty_text():
    for text in ("", "a" * 10_000, "1" * 10_001, "." * 9_999, "\n" * 5000 + "x", " " * 100):
        assert tokens.estimate(text) == tokens.estimate_by_regex(text)


# -- htmltree -------------------------------------------------------------------------

HTML = """<html><head><title> T </title><style>p{}</style></head><body>
<div id="a">Intro <b>bold</b> tail &amp; <!-- a comment --> more<br>after
<script>var x = "<p>";</script><noscript>Enable <script>js</script>it</noscript>
<pre><span class="k">def</span> <span class="n">f</span>():<br>    pass</pre>
<p>para <a href="x.html#frag">link <code>code</code></a> end</p></div>
<template><p>hidden</p></template></body></html>"""


def test_text_of_is_itertext_joined():
    tree = parse(HTML)
    for el in tree.iter():
        if isinstance(el.tag, str):
            assert text_of(el) == "".join(el.itertext())


def test_visible_length_is_the_stripped_text_less_invisible_elements():
    body = parse(HTML).find("body")
    total = sum(len(t.strip()) for t in body.itertext())
    hidden = sum(len(t.strip()) for node in body.iter(*INVISIBLE) for t in node.itertext())
    assert visible_length(body) == total - hidden > 0


def test_parse_still_refuses_blank_documents():
    assert parse("") is None and parse(" \n\t ") is None and parse("\x00") is None
    assert parse("<?xml version='1.0'?>  ") is None


# -- markdown helpers -----------------------------------------------------------------

TEXT_PIECES = ["a", "word", " ", "  ", "\n", "\n  ", "\t", "\r", "\f", "\v", "\xa0", "\u2003", "\x1c", "\u2028", "#",
               "- ", "1. ", "٣) ", ">", "===", "---", "x.  Y"]  # fmt: skip


def _defined_text(value):
    if not value or ("\n" not in value and "  " not in value and "\t" not in value and "\r" not in value):
        return value or ""
    return _SPACE.sub(" ", value)


def _defined_tidy(text):
    lines = [_SPACE.sub(" ", line).strip() for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


LINE_START = re.compile(r"^(#{1,6}\s|[-*+]\s|>|\d+[.)]\s|=+\s*$|-{3,}\s*$)")


def _defined_escape(text):
    return "\n".join("\\" + line if LINE_START.match(line) else line for line in text.split("\n"))


@pytest.mark.parametrize("seed", range(4))
def test_whitespace_and_escaping_shortcuts_match_their_regexes(seed):
    rng = random.Random(seed)
    for _ in range(1000):
        text = "".join(rng.choice(TEXT_PIECES) for _ in range(rng.randint(0, 12)))
        assert _text(text) == _defined_text(text), repr(text)
        assert _tidy_inline(text) == _defined_tidy(text) == _tidy_inline(f" {text.strip()} "), repr(text)
        assert _escape_line_starts(text) == _defined_escape(text), repr(text)


@pytest.mark.parametrize(
    "href",
    ["os.html#os.walk", "../lib/x.html#a", "x.html#", "#only", "x.html#a\tb", "x.html#a b", " x.html#f", "x.html #f",
     "?q=1#f", "//cdn.example.org/a#b", "mailto:a@b#c", "x.html?a=1#b#c", "\x01#f", "", "x.html#%20"],
)  # fmt: skip
def test_absolute_joins_the_fragment_as_urljoin_does(href):
    base = "https://docs.example.org/3/library/index.html"
    if href.startswith(("http://", "https://")):
        expected = href
    else:  # relative to the page's directory, except a bare query
        expected = urljoin(base if href.startswith("?") else base[: base.rfind("/") + 1], href)
    assert absolute(base, href) == expected


@pytest.mark.parametrize(
    "href",
    ["os.html#os.walk", "../v1/old.html#x", "x.html #frag", "x.html\t#frag", "x.html#a\nb", "?page=2#top",
     "https://Other.ORG:443/a/../b#c", "//cdn.org/x#y", "javascript:void(0)#x", "mailto:x@y#z", " x.html#f",
     "x.html#" + "f" * 3000, "x" * 2030 + ".html#frag", "x.html;jsessionid=1#f"],
)  # fmt: skip
def test_links_resolve_without_their_fragment_as_normalize_does(href):
    base = "https://docs.example.org/3/library/"
    assert _resolve_href(base, href) == normalize(href, base=base)


def test_links_and_link_text_in_one_walk():
    html = (
        '<body><a href="a.html#x">One</a><a href="a.html#y">Two</a><a>  no href </a><map><area href="b.html"></map>'
        '<a class="pagination-nav__link pagination-nav__link--next" href="c.html">Next</a><a rel="prev" href="z.html">'
    )
    links, anchors, link_chars, pager = _links(parse(html), "http://h/d/page.html")
    assert links == ("http://h/d/a.html", "http://h/d/b.html", "http://h/d/c.html", "http://h/d/z.html")
    assert anchors == ("One", "", "Next", "")
    assert link_chars == len("One") + len("Two") + len("no href") + len("Next")
    assert pager == {"next": "http://h/d/c.html", "prev": "http://h/d/z.html"}


# -- quality and fingerprints ---------------------------------------------------------

MD_PIECES = ["# h", "## h", "####### no", "```", "```py", "~~~", "- a", "* b", "+ c", "1. d", "10. e", "12.f", "  - f",
             "\n", "\n", "\n\n", " ", "\t", "text", "\xa0", "\r", "x # y"]  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_line_counts_and_blocks_match_their_definitions(seed):
    rng = random.Random(seed)
    for _ in range(1000):
        md = "".join(rng.choice(MD_PIECES) for _ in range(rng.randint(0, 30)))
        count = quality._count_lines
        assert count(md, quality._HEADING, quality._HEADING_AFTER_BREAK) == len(quality._HEADING.findall(md))
        assert count(md, quality._LIST_ITEM, quality._LIST_ITEM_AFTER_BREAK) == len(quality._LIST_ITEM.findall(md))
        assert (md.startswith("```") + md.count("\n```")) == len(quality._FENCE.findall(md))
        assert fingerprints.split_blocks(md) == _defined_split_blocks(md), repr(md)


def _defined_split_blocks(markdown):
    blocks, current, fence = [], [], None
    for line in markdown.split("\n"):
        marker = re.match(r"^(`{3,}|~{3,})", line)
        if fence is None and marker:
            fence = marker.group(1)[0] * len(marker.group(1))
        elif fence is not None and (stripped := line.strip()).startswith(fence) and set(stripped) == {fence[0]}:
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


def test_score_takes_the_word_count_it_would_compute():
    md = "# Title\n\nSome words here, and more of them.\n\n- one\n- two\n\n```py\nx = 1\n```"
    plain = quality.score(md, title="t", link_text_chars=3, text_chars=100)
    assert plain == quality.score(md, title="t", link_text_chars=3, text_chars=100, words=len(md.split()))


# -- docs rules -----------------------------------------------------------------------

NOISE_HTML = """<main><h1>Title<a class="headerlink" href="#t" title="Permalink to this heading">¶</a></h1>
<p>Keep <span class="pre">me</span> <a class="reference internal" href="x.html" title="x">x</a> and
<a class="anchor" href="#a">#</a><a class="anchor" href="#b">real text</a> tail</p>
<div class="related" role="navigation"><a href="n.html">next</a><span class="copy">inner noise</span></div>
<pre><button class="copybutton">Copy</button><span class="headerlink">kept: inside pre</span>code</pre>
<p hidden>hidden</p><p aria-hidden="true">aria</p><p aria-hidden="false">shown</p>
<ul class="toc"><li>toc</li></ul><table class="toc"><tr><td>a table</td></tr></table>
<a aria-label="Direct link to heading" href="#h">#</a><a class="src" href="s.html">source</a>
<!-- comment --><nav>nav</nav><footer>foot</footer><section role="search">search</section>
<div class="md-source-file hideme">x</div><span class="visually-hidden">y</span>after</main>"""


def _defined_strip_noise(main):
    doomed, stack = [], list(main)
    while stack:
        el = stack.pop()
        if not isinstance(el.tag, str):
            continue
        if _defined_is_noise(el):
            doomed.append(el)
        elif el.tag != "pre":
            stack.extend(el)
    for el in doomed:
        drop(el)


def _defined_is_noise(el):
    tag, classes = el.tag, frozenset((el.get("class") or "").split())
    if tag in NOISE_TAGS or not NOISE_CLASSES.isdisjoint(classes):
        return True
    if el.get("hidden") is not None or el.get("aria-hidden") == "true" or el.get("role") in ("navigation", "search"):
        return True
    if tag == "a" and (
        el.get("title") in PERMALINK_TITLES
        or el.get("aria-label", "").startswith(("Direct link to", "Permalink to"))
        or ("anchor" in classes and "".join(el.itertext()).strip() in {"", "¶", "§", "#", "\u200b", "🔗"})
        or "src" in classes
    ):
        return True
    return "toc" in classes and tag != "table"


def _stripped(html, strip):
    tree = etree.fromstring(html, etree.HTMLParser(remove_comments=False))
    main = tree.find(".//main")
    strip(main)
    return etree.tostring(main, encoding="unicode")


def test_strip_noise_removes_what_the_plain_walk_removes():
    assert _stripped(NOISE_HTML, strip_noise) == _stripped(NOISE_HTML, _defined_strip_noise)
    kept = _stripped(NOISE_HTML, strip_noise)
    assert "kept: inside pre" in kept and "real text" in kept and "a table" in kept and "shown" in kept
    assert "¶" not in kept and "toc</li>" not in kept and "inner noise" not in kept


@pytest.mark.parametrize("seed", range(3))
def test_strip_noise_on_random_nestings(seed):
    rng = random.Random(seed)
    parts = ['<div class="toc">', '<span class="pre">', '<a class="headerlink" href="#">', "<pre>", "<p hidden>",
             '<div role="search">', "<em>", '<a title="Permanent link" href="#">', '<span class="x y">']  # fmt: skip
    for _ in range(150):
        opened, html = [], "<main>"
        for _ in range(rng.randint(1, 14)):
            if opened and rng.random() < 0.35:
                html += f"</{opened.pop()}>" + rng.choice(["", " tail ", "\n"])
            else:
                part = rng.choice(parts)
                opened.append(re.match(r"<(\w+)", part).group(1))
                html += part + rng.choice(["", "text", " ¶ "])
        html += "".join(f"</{tag}>" for tag in reversed(opened)) + "</main>"
        assert _stripped(html, strip_noise) == _stripped(html, _defined_strip_noise), html


def _defined_find_main(tree):
    by_tag, any_tag = {}, []
    for rank, (_, tag, test) in enumerate(MAIN_RULES):
        (any_tag if tag is None else by_tag.setdefault(tag, [])).append((rank, test))
    best_rank, best = len(MAIN_RULES), None
    for el in [*tree.iter(*by_tag), *tree.iterfind(".//*[@role='main']")]:
        rules = by_tag.get(el.tag, []) + (any_tag if el.get("role") == "main" else [])
        for rank, test in rules:
            classes = frozenset((el.get("class") or "").split())
            if rank < best_rank and test(el, classes) and any(t.strip() for t in el.itertext()):
                best_rank, best = rank, el
                break
    return (MAIN_RULES[best_rank][0], best) if best is not None else None


MAIN_PIECES = ['<div role="main" class="body">', '<article role="main">', '<div class="bd-article">', "<main>",
               '<section id="main-content">', '<div itemprop="articleBody">', '<div class="section">', "<section>",
               '<span role="main">', '<div class="markdown">', "<article>", '<div class="theme-doc-markdown">',
               '<div role="main">', '<div class="chapter">', '<div class="vp-doc">', "<h1>T</h1>", "text",
               "<div>"]  # fmt: skip


@pytest.mark.parametrize("seed", range(3))
def test_find_main_picks_what_the_plain_rule_scan_picks(seed):
    rng = random.Random(seed)
    for _ in range(300):
        opened, html = [], "<html><body>"
        for _ in range(rng.randint(1, 10)):
            if opened and rng.random() < 0.3:
                html += f"</{opened.pop()}>"
            else:
                piece = rng.choice(MAIN_PIECES)
                html += piece
                if not piece.startswith("<h1") and piece != "text":
                    opened.append(re.match(r"<(\w+)", piece).group(1))
        html += "".join(f"</{tag}>" for tag in reversed(opened)) + "</body></html>"
        tree = parse(html)
        assert find_main(tree) == _defined_find_main(tree), html


# -- the converter, end to end --------------------------------------------------------


def test_signature_shortcut_keeps_terms_whose_text_is_not_rendered():
    html = """<main><dl><dt class="sig" id="f"><span>f</span>(<em>x</em>)</dt><dd><p>Doc.</p></dd>
    <dt id="g"><button>only a button</button></dt><dd><p>Skipped term.</p></dd>
    <dt><strong>Term</strong></dt><dd><p>Plain term.</p></dd></dl></main>"""
    tree = parse(html)
    markdown, _ = convert(tree.find(".//main"), "https://h/p.html")
    assert markdown.splitlines()[0] == "`f(x)`" and "only a button" not in markdown and "**Term**" in markdown


def test_extracted_page_counts_words_hashes_and_tokens_as_defined():
    body = b"<html><body><main><h1>Head</h1><p>" + b"word " * 50 + b"</p></main></body></html>"
    page = extract_page(ExtractInput("https://h/p.html", body, keep_html=False))
    assert page.words == len(page.markdown.split()) == 52  # "#", "Head" and 50 words
    normalised = " ".join(page.markdown.split()).encode()
    assert page.content_hash == hashlib.blake2b(normalised, digest_size=16).hexdigest()
    assert page.tokens == tokens.estimate_by_regex(page.markdown)
