"""Golden tests: one page in each documentation generator's markup, and its expected Markdown.

The expected files were reviewed by hand; regenerate them only on purpose
(`UPDATE_GOLDEN=1 pytest tests/test_golden.py`) and review the diff.
Beyond the snapshot, properties every generator must satisfy are checked directly.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from docspasta.extraction.docs_rules import find_main, strip_noise
from docspasta.extraction.extract import ExtractInput, extract_page
from docspasta.extraction.htmltree import parse, text_of

GOLDEN = Path(__file__).parent / "golden"
GENERATORS = {
    "sphinx": "docs:sphinx",
    "readthedocs": "docs:readthedocs",
    "mkdocs_material": "docs:mkdocs-material",
    "docusaurus": "docs:docusaurus",
    "docbook": "docs:docbook",
    "rustdoc": "docs:rustdoc",
    "javadoc": "docs:javadoc",
    "vitepress": "docs:vitepress",
}
URL = "https://docs.example.org/guide/page.html"
NAV_RESIDUE = re.compile(r"¶|§|Edit this page|Edit on GitHub|Copy item path|Copy code|Previous topic|Next topic|"
                         r"Show Source|Permalink|« Previous|Next »|\u200b")  # fmt: skip


def extracted(name: str):
    return extract_page(ExtractInput(URL, (GOLDEN / f"{name}.html").read_bytes()))


@pytest.mark.parametrize("name", list(GENERATORS))
def test_markdown_matches_the_reviewed_golden_file(name):
    page = extracted(name)
    expected = GOLDEN / f"{name}.md"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        expected.write_text(page.markdown + "\n")
    assert page.extractor == GENERATORS[name]
    assert page.markdown + "\n" == expected.read_text()


@pytest.mark.parametrize("name", list(GENERATORS))
def test_every_code_block_is_fenced_verbatim(name):
    page = extracted(name)
    tree = parse((GOLDEN / f"{name}.html").read_text())
    _, main = find_main(tree)
    strip_noise(main)
    fences = _fenced_blocks(page.markdown)
    for pre in main.iter("pre"):
        for br in pre.iter("br"):
            br.tail = "\n" + (br.tail or "")
        code = text_of(pre).strip("\n").rstrip()
        assert any(code == f for f in fences), f"{name}: code block not verbatim:\n{code[:200]}"
    assert page.fidelity["pre_in"] == page.fidelity["fences_out"] >= 2


@pytest.mark.parametrize("name", list(GENERATORS))
def test_no_permalinks_or_navigation_survive(name):
    markdown = extracted(name).markdown
    assert not NAV_RESIDUE.search(markdown), NAV_RESIDUE.search(markdown)


@pytest.mark.parametrize("name", list(GENERATORS))
def test_structure_survives(name):
    page = extracted(name)
    lines = _outside_fences(page.markdown)
    assert sum(line.startswith("# ") for line in lines) == 1
    assert any(line.startswith(("## ", "### ")) for line in lines)
    assert any(line.startswith("| --- |") or line.startswith("| ---") for line in lines)  # a GFM table
    assert any(re.match(r"^\s{2,}- ", line) for line in lines), "nested list lost"
    assert "![Architecture diagram](https://docs.example.org/guide/img/diagram.png)" in page.markdown
    assert page.fidelity["tables_in"] == page.fidelity["tables_out"]


def test_languages_come_from_the_markup():
    langs = {name: set(re.findall(r"^```(\w+)", extracted(name).markdown, re.M)) for name in GENERATORS}
    assert {"python", "pycon"} <= langs["sphinx"]
    assert {"yaml", "console"} <= langs["readthedocs"]
    assert {"yaml", "console"} <= langs["mkdocs_material"]
    assert "js" in langs["docusaurus"]
    assert {"rust", "toml"} <= langs["rustdoc"]
    assert {"sh", "js", "json"} <= langs["vitepress"]


def test_a_javascript_shell_is_flagged_not_silently_empty():
    page = extracted("js_shell")
    assert page.needs_javascript and page.markdown == "" and page.quality == 0


def _outside_fences(markdown: str) -> list[str]:
    lines, fence = [], False
    for line in markdown.split("\n"):
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence:
            lines.append(line)
    return lines


def _fenced_blocks(markdown: str) -> list[str]:
    blocks, current, fence = [], [], None
    for line in markdown.split("\n"):
        stripped = line.strip()
        if fence is None and (m := re.match(r"^(\s*)(`{3,})", line)):
            fence, indent, current = m.group(2), len(m.group(1)), []
        elif fence is not None and stripped == fence:
            blocks.append("\n".join(current))
            fence = None
        elif fence is not None:
            current.append(line[indent:] if line[:indent].strip() == "" else line)
    return blocks


def test_a_sphinx_theme_without_role_main_is_found_by_its_docutils_sections():
    # Django's "djangodocs" theme: YUI layout divs, no role="main" anywhere.
    html = b"""<html><head><title>URL dispatcher</title></head><body><div class="document">
    <div id="hd"><div class="nav">Home | Table of contents | Index</div></div>
    <div id="bd"><div id="yui-main"><div class="yui-b"><div class="yui-g" id="topics-http-urls">
      <div class="section" id="s-url-dispatcher"><h1>URL dispatcher<a class="headerlink" href="#x">\xc2\xb6</a></h1>
        <p>A clean, elegant URL scheme is an important detail in a high-quality Web application.</p>
        <div class="section" id="s-example"><h2>Example</h2>
          <div class="highlight-default notranslate"><div class="highlight"><pre>urlpatterns = [
    path('articles/2003/', views.special_case_2003),
]</pre></div></div></div></div>
    </div></div></div><div class="yui-b" id="sidebar"><h3>Browse</h3><ul><li>Prev: Views</li></ul></div></div>
    </div></body></html>"""
    page = extract_page(ExtractInput("http://docs.local/topics/http/urls.html", html))
    assert page.extractor == "docs:sphinx"
    assert page.markdown.startswith("# URL dispatcher\n\nA clean, elegant URL scheme")
    assert "```\nurlpatterns = [\n    path('articles/2003/', views.special_case_2003),\n]\n```" in page.markdown
    assert "Browse" not in page.markdown and "Table of contents" not in page.markdown
