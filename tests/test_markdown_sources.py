"""Sites whose source is Markdown: Markdown pages read as pages, Docsify and Docute
shells recognised from their HTML, responses judged as Markdown or not, twins judged as
content or stubs, and llms.txt files read."""

from __future__ import annotations

import codecs
import hashlib
import time

import pytest

from docspasta.extraction import tokens
from docspasta.extraction.extract import MAX_LINKS_PER_PAGE, ExtractInput
from docspasta.extraction.llms_txt import LlmsTxt, parse_llms_txt
from docspasta.extraction.markdown_page import code_lines, docsify_target, extract_markdown, first_h1
from docspasta.extraction.markdown_sites import MarkdownShell, docsify_shell, judge_twin, looks_like_markdown
from docspasta.extraction.outlinks import unpack

PAGE = "https://docs.example.org/guide/start.md"
PROSE = " ".join(["The widget renders each frame from the scene graph it is given."] * 8)


def page(markdown: str, mode: str = "plain", url: str = PAGE, charset: str | None = None):
    return extract_markdown(ExtractInput(url, markdown.encode(charset or "utf-8"), charset, markdown=mode))


# -- titles, front matter, the text ------------------------------------------------------


def test_front_matter_gives_the_title_and_nothing_else():
    md = f"""---
title: "Install: the quick way"
description: Links here are not [links](secret.md)
canonical: https://elsewhere.example.org/install
tags:
  - setup
---

# A heading that is not the title

{PROSE}
"""
    result = page(md)
    assert result.title == "Install: the quick way"
    assert result.markdown.startswith("# A heading that is not the title")
    assert "description" not in result.markdown and "---" not in result.markdown
    assert result.links == ()


def test_a_rule_opening_a_document_is_not_front_matter():
    md = "---\nSome prose under a rule, not YAML at all.\n\n---\n\nMore prose.\n"
    result = page(md)
    assert result.markdown.startswith("---\nSome prose")
    assert result.title == PAGE


@pytest.mark.parametrize(
    "markdown, title",
    [
        ("Widgetry reference\n==================\n\nText.", "Widgetry reference"),
        ("Intro text.\n\nTwo line\nsetext title\n===\n", "Two line setext title"),
        ("## Not a title\n\n# The `render()` **call** ##\n", "The render() call"),
        ("# Quick start {docsify-ignore}\n", "Quick start"),
        ('<h1 align="center">Widgetry</h1>\n\n<p>A README.</p>\n', "Widgetry"),
        ("+++\ntitle = 'Hugo page'\ndraft = false\n+++\n# Body heading\n", "Hugo page"),
        ("---\ntitle: >\n  Folded\n  title\n---\n# Body\n", "Folded title"),
        ("```\n# not a heading\n```\nSubtitle\n--------\n", PAGE),  # an H2 and code: no H1
    ],
)
def test_titles_come_from_front_matter_then_the_first_h1_then_the_url(markdown, title):
    assert page(markdown).title == title


def test_text_is_kept_as_written_with_line_endings_and_blank_edges_tidied():
    md = "\ufeff\r\n\r\n# Title\r\n\r\nLine with a hard break  \r\nnext line\r\n   \r\n    indented code\r\n\r\n\r\n"
    body = codecs.BOM_UTF8 + md.lstrip("\ufeff").encode()
    result = extract_markdown(ExtractInput(PAGE, body, markdown="plain"))
    assert result.markdown == "# Title\n\nLine with a hard break  \nnext line\n\n    indented code"


@pytest.mark.parametrize(
    "body, charset",
    [
        (codecs.BOM_UTF16_LE + "# Café\n\nCrème brûlée.".encode("utf-16-le"), None),
        ("# Café\n\nCrème brûlée.".encode("latin-1"), "iso-8859-1"),
        ("# Café\n\nCrème brûlée.".encode(), "no-such-charset"),
    ],
)
def test_decoding_bom_then_charset_then_utf8(body, charset):
    result = extract_markdown(ExtractInput(PAGE, body, charset, markdown="plain"))
    assert result.title == "Café" and "Crème brûlée." in result.markdown


def test_page_fields_are_filled_as_extract_page_fills_them():
    md = f"# Rendering\n\n{PROSE}\n\n```python\nrender(scene)\n```\n\n- [Next](next.md)\n"
    result = page(md)
    words = result.markdown.split()
    assert result.extractor == "markdown" and result.html_gz is None
    assert result.content_hash == hashlib.blake2b(" ".join(words).encode(), digest_size=16).hexdigest()
    assert result.words == len(words) and result.tokens == tokens.estimate(result.markdown)
    assert result.quality >= 50 and any("code blocks" in reason for reason in result.quality_reasons)
    assert result.block_hashes and result.extract_ms >= 0
    assert result.next_url is None and result.prev_url is None and result.shell is None
    assert result.outlinks is not None
    assert unpack(result.outlinks).links == result.links == ("https://docs.example.org/guide/next.md",)
    assert page("").content_hash is None and page("").quality == 0


def test_a_navigation_file_scores_as_the_link_farm_it_is():
    sidebar = "\n".join(f"- [Chapter {i}](chapter-{i}.md)" for i in range(30))
    assert any(reason.startswith("link density") and "(-25)" in reason for reason in page(sidebar).quality_reasons)


# -- links ---------------------------------------------------------------------------------

CODE_HEAVY = """# Links and code

See the [guide](guide.md "The guide") and the [API][api]. A [collapsed][] one, a
[Shortcut] one, <https://example.org/auto>, and https://example.org/bare/page.
[![build](https://ci.example.org/badge.svg)](https://ci.example.org/builds)
![diagram](diagram.png)
Inline code: `[not a link](inline-code.md)` and ``a `[tricky](tricky.md)` span``.

```markdown
[fenced](fenced.md) and <https://fenced.example.org/>
```

~~~
<a href="tilde.html">tilde</a>
~~~

1. Install it:

    ```bash
    curl -O https://list-fence.example.org/get.sh  # a fence indented with its item
    [list fence](list-fence.md)
    ```

2. Then read <a href="reference.html#render">the <code>render</code> reference</a>.

    A paragraph continued under the item keeps its [link](continued.md).

An indented code block:

    [indented](indented.md)

<!-- [commented out](comment.md) -->

> Quoted: [quote](quote.md)

[api]: ./api/ "API"
[collapsed]: <collapsed page.md>
[shortcut]: https://example.org/shortcut
[unused]: unused.md
[^note]: a footnote, not a link definition
"""


def test_links_are_read_as_a_renderer_reads_them_and_never_from_code():
    result = page(CODE_HEAVY)
    base = "https://docs.example.org/guide/"
    assert result.links == (
        base + "guide.md",
        base + "api/",
        base + "collapsed%20page.md",
        "https://example.org/shortcut",
        "https://example.org/auto",
        "https://example.org/bare/page",
        "https://ci.example.org/builds",
        base + "reference.html",
        base + "continued.md",
        base + "quote.md",
        base + "unused.md",
    )
    assert result.anchors[:4] == ("guide", "API", "collapsed", "Shortcut")
    assert result.anchors[result.links.index(base + "reference.html")] == "the render reference"
    assert result.anchors[result.links.index("https://ci.example.org/builds")] == ""  # an image's alt is not text


def test_code_lines_follows_fences_lists_and_indentation():
    lines = CODE_HEAVY.split("\n")
    code = {line.strip() for line, is_code in zip(lines, code_lines(lines), strict=True) if is_code and line.strip()}
    assert "[list fence](list-fence.md)" in code and "[indented](indented.md)" in code
    assert "[fenced](fenced.md) and <https://fenced.example.org/>" in code
    assert not any("continued.md" in line or "reference.html" in line for line in code)


def test_an_unclosed_fence_runs_to_the_end_and_a_backtick_info_string_is_no_fence():
    assert page("Text [a](a.md)\n\n```\n[b](b.md)\n").links == ("https://docs.example.org/guide/a.md",)
    assert page("``` not`a fence\n[c](c.md)\n").links == ("https://docs.example.org/guide/c.md",)


def test_plain_links_resolve_normally_and_drop_pure_fragments():
    md = "[top](#top) [section](intro.md#setup) [same](intro.md) [up](../index.md) [route](guide) [mail](mailto:a@b.c)"
    assert page(md).links == (
        "https://docs.example.org/guide/intro.md",
        "https://docs.example.org/index.md",
        "https://docs.example.org/guide/guide",
    )


def test_relative_destinations_in_the_text_become_absolute_as_in_html_pages():
    md = (
        "See [intro](intro.md#setup), ![diagram](img/flow.png) and [site](https://x.org/).\n"
        "Inline `[code](stays.md)` and [top](#top).\n\n[ref]: ../api.md\n\n```\n[block](stays.md)\n```"
    )
    assert page(md).markdown == (
        "See [intro](https://docs.example.org/guide/intro.md#setup), "
        "![diagram](https://docs.example.org/guide/img/flow.png) and [site](https://x.org/).\n"
        "Inline `[code](stays.md)` and [top](#top).\n\n[ref]: https://docs.example.org/api.md\n\n"
        "```\n[block](stays.md)\n```"
    )


def test_links_stop_at_the_page_limit():
    md = "\n".join(f"- [p{i}](p{i}.md)" for i in range(MAX_LINKS_PER_PAGE + 50))
    result = page(md)
    assert len(result.links) == len(result.anchors) == MAX_LINKS_PER_PAGE


DOCSIFY_PAGE = "https://user.github.io/project/guide/intro.md"


@pytest.mark.parametrize(
    "href, expected",
    [
        ("#/quickstart", "https://user.github.io/quickstart.md"),
        ("#/guide/?id=setup", "https://user.github.io/guide/README.md"),
        ("#/deploy?id=github-pages", "https://user.github.io/deploy.md"),
        ("configuration", "https://user.github.io/project/guide/configuration.md"),
        ("configuration?id=basepath", "https://user.github.io/project/guide/configuration.md"),
        ("../plugins/", "https://user.github.io/project/plugins/README.md"),
        ("/themes", "https://user.github.io/themes.md"),
        ("embed.md", "https://user.github.io/project/guide/embed.md"),
        ("embed.md#files", "https://user.github.io/project/guide/embed.md"),
        ("_media/logo.png", "https://user.github.io/project/guide/_media/logo.png"),
        ("legacy.html?v=2", "https://user.github.io/project/guide/legacy.html?v=2"),
        ("https://github.com/docsifyjs/docsify", "https://github.com/docsifyjs/docsify"),
        ("#a-heading", None),
        ("?id=a-heading", None),
        ("", None),
    ],
)
def test_docsify_routes_name_markdown_files(href, expected):
    assert docsify_target(href, DOCSIFY_PAGE) == expected


def test_docsify_link_options_and_a_known_base_path():
    assert docsify_target("raw", DOCSIFY_PAGE, title=":ignore") == "https://user.github.io/project/guide/raw"
    assert docsify_target("guide", DOCSIFY_PAGE, title=":disabled") is None
    base = "https://user.github.io/project/"
    assert docsify_target("#/quickstart", DOCSIFY_PAGE, base) == base + "quickstart.md"
    assert docsify_target("/themes/", DOCSIFY_PAGE, base) == base + "themes/README.md"


def test_without_relative_path_docsify_routes_resolve_against_the_base_not_the_file():
    base = "https://user.github.io/project/"
    assert docsify_target("configuration", DOCSIFY_PAGE, base, relative=False) == base + "configuration.md"
    assert docsify_target("configuration", DOCSIFY_PAGE, base) == base + "guide/configuration.md"
    assert docsify_target("configuration", DOCSIFY_PAGE, relative=False) == "https://user.github.io/configuration.md"
    shown = page("[Config](configuration) [Start](#/quickstart)", "docsify", DOCSIFY_PAGE).markdown
    assert shown == "[Config](https://user.github.io/configuration.md) [Start](https://user.github.io/quickstart.md)"


def test_a_docsify_sidebar_is_read_with_docsify_routes():
    sidebar = """<!-- docs/_sidebar.md -->

- Getting started

  - [Quick start](quickstart.md)
  - [Writing more pages](more-pages)
  - [Custom navbar](custom-navbar.md ':target=_self')

- Customization

  - [Configuration](/configuration)
  - [Themes](#/themes)
  - [Plugins](plugins/)
  - [Ignored](legacy.html ':ignore')
"""
    result = page(sidebar, mode="docsify", url="https://docsify.example.org/_sidebar.md")
    root = "https://docsify.example.org/"
    assert result.links == tuple(
        root + name
        for name in (
            "quickstart.md",
            "more-pages.md",
            "custom-navbar.md",
            "configuration.md",
            "themes.md",
            "plugins/README.md",
            "legacy.html",
        )
    )
    assert result.anchors[1] == "Writing more pages"


def test_docsify_routes_resolve_against_the_base_path_when_it_is_known():
    readme = "Begin with the [Quick start](quickstart.md); read about [Plugins](#/guide/plugins) and [Deploy](/deploy)."
    item = ExtractInput("https://user.github.io/project/README.md", readme.encode(), markdown="docsify")
    base = "https://user.github.io/project/"
    assert extract_markdown(item, site_base=base).links == (
        base + "quickstart.md",
        base + "guide/plugins.md",
        base + "deploy.md",
    )
    assert extract_markdown(item).links[1:] == (
        "https://user.github.io/guide/plugins.md",
        "https://user.github.io/deploy.md",
    )


# -- shells --------------------------------------------------------------------------------

DOCSIFY_QUICKSTART = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <title>Document</title>
  <meta http-equiv="X-UA-Compatible" content="IE=edge,chrome=1" />
  <meta name="description" content="Description">
  <meta name="viewport" content="width=device-width, initial-scale=1.0, minimum-scale=1.0">
  <link rel="stylesheet" href="//cdn.jsdelivr.net/npm/docsify@4/lib/themes/vue.css">
</head>
<body>
  <div id="app"></div>
  <script>
    window.$docsify = {
      name: '',
      repo: ''
    }
  </script>
  <!-- Docsify v4 -->
  <script src="//cdn.jsdelivr.net/npm/docsify@4"></script>
</body>
</html>
"""

DOCSIFY_CONFIGURED = """<!DOCTYPE html>
<html><head><title>Widgetry</title></head>
<body>
  <div id="app">Loading ...</div>
  <script>
    // basePath: 'commented/out/',
    window.$docsify = {
      name: 'Widgetry {docs}',
      "repo": "https://github.com/widgetry/widgetry",
      alias: { '/.*/_sidebar.md': '/_sidebar.md' },
      search: { paths: 'auto', placeholder: 'Search }' },
      basePath: '/docs/v2',
      homepage: 'intro.md',
      loadSidebar: true,
      loadNavbar: '_nav.md',
      plugins: [function (hook) { hook.afterEach(function (html) { return html + '}'; }); }],
      homepageLater: 'not-this.md',
    };
  </script>
  <script src="https://cdn.jsdelivr.net/npm/docsify@4/lib/docsify.min.js"></script>
  <script src="https://cdn.jsdelivr.net/npm/docsify-copy-code@2"></script>
</body></html>
"""


@pytest.mark.parametrize("url", ["https://user.github.io/project/", "https://user.github.io/project/index.html"])
def test_the_docsify_quickstart_shell_uses_the_defaults(url):
    assert docsify_shell(DOCSIFY_QUICKSTART, url) == MarkdownShell(
        "docsify", "https://user.github.io/project/", "https://user.github.io/project/README.md", ()
    )


def test_a_configured_docsify_shell_reads_its_config_tolerantly():
    shell = docsify_shell(DOCSIFY_CONFIGURED, "https://widgetry.example.org/index.html?v=1")
    assert shell == MarkdownShell(
        "docsify",
        "https://widgetry.example.org/docs/v2/",
        "https://widgetry.example.org/docs/v2/intro.md",
        ("https://widgetry.example.org/docs/v2/_sidebar.md", "https://widgetry.example.org/docs/v2/_nav.md"),
    )


def test_a_docsify_shell_from_its_script_tag_alone_and_with_a_remote_base_path():
    script_only = '<html><body><div id="app"></div><script src="//unpkg.com/docsify"></script></body></html>'
    assert docsify_shell(script_only, "https://h.example.org/docs/") == MarkdownShell(
        "docsify", "https://h.example.org/docs/", "https://h.example.org/docs/README.md", ()
    )
    raw = "https://raw.githubusercontent.com/widgetry/widgetry/main/docs/"
    remote = f"<script>window.$docsify = {{ basePath: '{raw}', loadSidebar: 'nav/sidebar.md' }}</script>"
    shell = docsify_shell(remote, "https://h.example.org/")
    assert shell is not None
    assert (shell.base_url, shell.homepage_url, shell.nav_urls) == (raw, raw + "README.md", (raw + "nav/sidebar.md",))


def test_a_docute_shell():
    html = """<html><head><link rel="stylesheet" href="https://unpkg.com/docute@4/dist/docute.css"></head>
    <body><div id="docute"></div>
    <script src="https://unpkg.com/docute@4/dist/docute.js"></script>
    <script>
      new Docute({
        target: '#docute',
        sourcePath: 'https://raw.githubusercontent.com/egoist/docute/master/website/docs/',
        nav: [{ title: 'Home', link: '/' }],
      })
    </script></body></html>"""
    raw = "https://raw.githubusercontent.com/egoist/docute/master/website/docs/"
    assert docsify_shell(html, "https://docute.example.org/") == MarkdownShell("docute", raw, raw + "README.md", ())


@pytest.mark.parametrize(
    "html",
    [
        "<html><body><h1>Widgetry</h1><p>Rendered by Sphinx.</p></body></html>",
        '<html><body><p>We moved from <a href="https://docsify.js.org">Docsify</a> and Docute.</p></body></html>',
        "<html><body><pre>window.$docsify = { loadSidebar: true }</pre></body></html>",
        "<html><body><pre><code>new Docute({ target: '#app' })</code></pre><script>x()</script></body></html>",
    ],
)
def test_pages_that_are_not_shells(html):
    assert docsify_shell(html, "https://h.example.org/") is None


def test_docsify_shell_refuses_an_ordinary_page_without_parsing_it():
    big = "<html><body>" + "<div class='row'><p>Some documentation text.</p></div>\n" * 20_000 + "</body></html>"
    started = time.perf_counter()
    for _ in range(10):
        assert docsify_shell(big, "https://h.example.org/") is None
    assert (time.perf_counter() - started) / 10 < 0.01  # two substring searches over 1.1 MB, well under 10 ms


# -- judging responses ---------------------------------------------------------------------

ERROR_PAGE = b"""\n  <!DOCTYPE html>\n<html><head><title>Page not found</title></head>
<body><h1>404</h1><p>There isn't a GitHub Pages site here.</p></body></html>"""


@pytest.mark.parametrize(
    "body, content_type, verdict",
    [
        (b"# Title\n\nText.\n", "text/markdown; charset=utf-8", None),
        (b"# Title\n\nText.\n", "text/plain", None),
        (b"# Title\n\nText.\n", "", None),
        (b"# Title\n\nText.\n", "application/octet-stream", None),
        ("# Café\n\nText in Latin-1: crème.".encode("latin-1"), "text/x-markdown", None),
        (codecs.BOM_UTF16_LE + "# Title\n".encode("utf-16-le"), "text/markdown", None),
        (b'<p align="center"><img src="logo.png"></p>\n\n# Widgetry\n', "text/markdown", None),
        (ERROR_PAGE, "text/markdown", "an HTML page, not Markdown"),
        (codecs.BOM_UTF8 + b"<html><body>Soft 404</body></html>", "text/plain", "an HTML page, not Markdown"),
        (b"# Looks like Markdown", "text/html; charset=utf-8", "an HTML page, not Markdown"),
        (b"  \n\t\n", "text/markdown", "empty"),
        (b"", "text/markdown", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "text/markdown", "binary data"),
        (bytes(range(1, 32)) * 40, "application/octet-stream", "binary data"),
        (b'{"title": "Widgetry"}', "application/json", "served as application/json"),
    ],
)
def test_looks_like_markdown(body, content_type, verdict):
    assert looks_like_markdown(body, content_type) == verdict


@pytest.mark.parametrize(
    "twin_words, html_words, verdict",
    [
        (820, 850, None),
        (425, 850, None),  # exactly half: the HTML's chrome can be that much
        (424, 850, "a stub: 424 words against 850 in the HTML"),
        (12, 850, "a stub: 12 words against 850 in the HTML"),
        (15, 39, None),  # too little HTML to judge a share by
        (200, 0, None),  # an app shell: the twin is all there is
        (4, 0, "a stub: 4 words"),
        (1, 3, "a stub: 1 word against 3 in the HTML"),
    ],
)
def test_judge_twin(twin_words, html_words, verdict):
    assert judge_twin(twin_words, html_words) == verdict


# -- llms.txt ------------------------------------------------------------------------------

MINTLIFY_LLMS = """# Mintlify

> Mintlify is an intelligent documentation platform
> that helps teams ship docs.

Important notes: pages are also served as Markdown at their URL plus `.md`.

## Docs

- [Quickstart](https://mintlify.com/docs/quickstart.md): Start building awesome documentation in under 5 minutes
- [Global Settings](https://mintlify.com/docs/settings/global.md): Customize the appearance of your docs
- [Analytics](/docs/integrations/analytics/overview.md)

```json
{"see": "[not a link](https://mintlify.com/docs/in-code.md)"}
```

## API Reference

- [Create chat](api-reference/chat/create.md): Creates a chat message thread.
- [Quickstart again](https://mintlify.com/docs/quickstart.md#steps)

## Optional

- [Changelog](https://mintlify.com/docs/changelog.md)
"""


def test_a_mintlify_style_llms_txt():
    parsed = parse_llms_txt(MINTLIFY_LLMS, "https://mintlify.com/docs/llms.txt")
    assert parsed == LlmsTxt(
        title="Mintlify",
        summary="Mintlify is an intelligent documentation platform that helps teams ship docs.",
        links=(
            ("https://mintlify.com/docs/quickstart.md", "Quickstart", "Docs"),
            ("https://mintlify.com/docs/settings/global.md", "Global Settings", "Docs"),
            ("https://mintlify.com/docs/integrations/analytics/overview.md", "Analytics", "Docs"),
            ("https://mintlify.com/docs/api-reference/chat/create.md", "Create chat", "API Reference"),
            ("https://mintlify.com/docs/changelog.md", "Changelog", "Optional"),
        ),
    )


def test_a_docusaurus_plugin_llms_txt_with_links_before_any_section():
    text = """# Widgetry Docs

Start with the [introduction](docs/intro).

## Guides

### Basics

- [Installation](docs/guides/installation): how to install
"""
    parsed = parse_llms_txt(text, "https://widgetry.example.org/llms.txt")
    assert parsed is not None and parsed.summary == ""
    assert parsed.links == (
        ("https://widgetry.example.org/docs/intro", "introduction", ""),
        ("https://widgetry.example.org/docs/guides/installation", "Installation", "Guides"),
    )


@pytest.mark.parametrize(
    "text",
    [
        ERROR_PAGE.decode(),
        "User-agent: *\nDisallow: /private\n",
        "",
        "```\n# In code\n[link](in-code.md)\n```\n",
    ],
)
def test_what_is_not_an_llms_txt(text):
    assert parse_llms_txt(text, "https://h.example.org/llms.txt") is None


def test_an_llms_txt_of_links_only_has_no_title():
    parsed = parse_llms_txt("- [A](a.md)\n- [B](b.md)\n", "https://h.example.org/llms.txt")
    assert parsed is not None and parsed.title == ""
    assert [url for url, _, _ in parsed.links] == ["https://h.example.org/a.md", "https://h.example.org/b.md"]


def test_first_h1_ignores_code_and_block_quotes():
    assert first_h1("> # Quoted\n\n```\n# Code\n```\n\n    # Indented\n\n# Real\n") == "Real"
