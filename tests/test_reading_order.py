"""The paste reads like the site's own book: its reading order, no generated pages, whole pages.

`tests/sites/book` is a small Sphinx-shaped site whose next-page chain (contents → what's
new → tutorial → library → C API) disagrees with URL order (c-api/ sorts first), with the
generated pages such sites have (general index, per-letter index, module index, search,
viewcode source) and a Django-style reference page of three sibling top-level sections.
"""

from __future__ import annotations

import re

import conftest
import pytest
from conftest import pages_by_path

from docspasta import crawl_async
from docspasta.exports.export import export
from docspasta.extraction.docs_rules import find_main, generator_from_markers, whole_article
from docspasta.extraction.extract import ExtractInput, extract_page
from docspasta.extraction.generated import PageKind, kind_from_url
from docspasta.extraction.htmltree import parse
from docspasta.store import open_reader
from docspasta.store.reading_order import OrderItem, reading_order

FAST = {**conftest.FAST, "timeout": 2.0, "max_depth": 3}
BOOK_ORDER = [
    "Bookish 1.0 documentation",
    "Contents",
    "What is new",
    "Tutorial",
    "An introduction",
    "Library reference",
    "C API",
    "An orphan page",  # no chain reaches it: after the ones that do
]


async def crawl_book(site, db_path, **settings):
    return await crawl_async(site.url("/book/index.html"), db=db_path, allow_hosts=site.allow_hosts,
                             **{**FAST, **settings})  # fmt: skip


def section_titles(paste: str) -> list[str]:
    return re.findall(r"^---\n\n## (.+)$", paste, re.M)


async def test_the_paste_follows_the_sites_own_reading_order(site, db_path):
    result = await crawl_book(site, db_path)
    paste = export(open_reader(db_path), result.job_id, "paste", threshold=0, count_tokens=False).data.decode()
    assert section_titles(paste) == BOOK_ORDER  # titles without " — Bookish 1.0 documentation"
    contents = re.findall(r"^\s*- \[(.+?)\]\(#", paste, re.M)
    assert contents == BOOK_ORDER
    # the position is stored, and the dashboard's pages table reads the same order
    rows = sorted(
        (p for p in open_reader(db_path).pages(result.job_id) if p["status"] == "completed"),
        key=lambda p: p["position"],
    )
    assert [p["title"].split(" — ")[0] for p in rows] == BOOK_ORDER
    # every export follows it; URL order is still there when asked for
    llms = export(open_reader(db_path), result.job_id, "llms", threshold=0, count_tokens=False).data.decode()
    # llms.txt groups pages by top-level path, groups in order of first appearance, pages in reading order
    assert re.findall(r"^## (.+)$", llms, re.M) == ["Overview", "Tutorial", "Library reference", "C API"]
    assert [re.sub(r" — .*", "", t) for t in re.findall(r"^- \[(.+?)\]", llms, re.M)] == [
        *BOOK_ORDER[:3],
        "An orphan page",
        "Tutorial",
        "An introduction",
        "Library reference",
        "C API",
    ]
    by_url = export(
        open_reader(db_path), result.job_id, "paste", threshold=0, order="url", count_tokens=False
    ).data.decode()
    assert section_titles(by_url).index("C API") < section_titles(by_url).index("Tutorial")


async def test_generated_pages_are_skipped_and_never_fetched_when_the_url_tells(site, db_path):
    result = await crawl_book(site, db_path)
    rows = pages_by_path(db_path, result.job_id, site.base + "/book/")
    expected = {
        "genindex.html": "generated page (index)",
        "genindex-A.html": "generated page (index)",
        "py-modindex.html": "generated page (index)",
        "search.html": "generated page (search)",
        "_modules/bookish/core.html": "generated page (source)",
        "indexpage.html": "generated page (index)",  # told by the page (an index table), after the fetch
    }
    for path, reason in expected.items():
        assert (rows[path]["status"], rows[path]["reason"]) == ("skipped", reason), path
    fetched = set(site.fetched())
    assert "/book/indexpage.html" in fetched
    assert not fetched & {"/book/" + p for p in expected if p != "indexpage.html"}
    assert result.completed == len(BOOK_ORDER)  # generated pages do not count


async def test_generated_pages_count_toward_nothing_under_a_tight_budget(site, db_path):
    result = await crawl_book(site, db_path, max_pages=len(BOOK_ORDER))
    assert result.completed == len(BOOK_ORDER)


async def test_included_generated_pages_are_crawled_and_a_source_listing_is_one_code_block(site, db_path):
    result = await crawl_book(site, db_path, include_generated=True)
    rows = pages_by_path(db_path, result.job_id, site.base + "/book/")
    assert rows["_modules/bookish/core.html"]["status"] == "completed"
    assert rows["_modules/bookish/core.html"]["page_kind"] == "source"
    assert rows["genindex.html"]["status"] == "completed" and rows["genindex.html"]["page_kind"] == "index"
    paste = export(open_reader(db_path), result.job_id, "paste", threshold=0, count_tokens=False).data.decode()
    listing = paste.split("Source: " + site.url("/book/_modules/bookish/core.html"), 1)[1].split("\n---\n")[0]
    assert listing.strip() == "```python\nimport os\n\ndef run():\n    return os.getcwd()\n```"
    assert "[docs]" not in paste


async def test_a_page_of_several_top_level_sections_is_kept_whole(site, db_path):
    result = await crawl_book(site, db_path)
    paste = export(open_reader(db_path), result.job_id, "paste", threshold=0, count_tokens=False).data.decode()
    library = paste.split("## Library reference", 1)[1].split("\n---\n")[0]
    assert re.findall(r"^### (.+)$", library, re.M) == [
        "The core module",
        "The shelf module",
        "Running bookish from your code",
    ]
    assert library.count("```python") == 3
    assert "Bookish 1.0 documentation" not in library and "Browse" not in library  # header and sidebar stay out


def test_reading_order_follows_chains_then_discovery():
    items = [
        OrderItem(1, "https://x/a/"),  # the start page: heads no chain
        OrderItem(2, "https://x/z.html", next_url="https://x/b.html"),
        OrderItem(3, "https://x/b.html", next_url="https://x/c.html"),
        OrderItem(4, "https://x/c.html", next_url="https://x/z.html"),  # back to the head: a cycle is cut
        OrderItem(5, "https://x/lonely.html"),
        OrderItem(6, "https://x/p.html", next_url="https://x/q.html"),
        OrderItem(7, "https://x/q.html", final_url="https://x/q2.html"),
        OrderItem(8, "https://x/other.html", next_url="http://x/b.html"),  # b has a predecessor already
    ]
    assert reading_order(items, "https://x/a/") == [1, 2, 3, 4, 6, 7, 5, 8]
    # the chain holding the start page comes first, from its head
    assert reading_order(items, "https://x/c.html")[:3] == [2, 3, 4]
    assert reading_order([], "https://x/") == []


def test_a_chain_is_joined_over_a_page_that_was_not_crawled():
    items = [
        OrderItem(1, "https://x/index.html"),
        OrderItem(2, "https://x/contents.html", next_url="https://x/whatsnew.html"),
        OrderItem(3, "https://x/whatsnew.html", next_url="https://x/changelog.html"),  # a 404
        OrderItem(4, "https://x/tut/a.html", next_url="https://x/tut/b.html", prev_url="https://x/changelog.html"),
        OrderItem(5, "https://x/tut/b.html", next_url="https://x/lib.html"),
        OrderItem(6, "https://x/lib.html", next_url="https://x/lib2.html"),
        OrderItem(7, "https://x/lib2.html"),
        OrderItem(8, "https://x/lib3.html", prev_url="https://x/lib2.html"),  # names only its previous page
    ]
    assert reading_order(items, "https://x/index.html") == [1, 2, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://x/docs/genindex.html", PageKind.INDEX),
        ("https://x/docs/genindex-all.html", PageKind.INDEX),
        ("https://x/docs/py-modindex.html", PageKind.INDEX),
        ("https://x/docs/search.html?q=a", PageKind.SEARCH),
        ("https://x/docs/_modules/pkg/mod.html", PageKind.SOURCE),
        ("https://x/docs/_modules/pkg/search.html", PageKind.SOURCE),
        ("https://x/std/src/std/io/mod.rs.html", PageKind.SOURCE),
        ("https://x/api/src-html/org/x/A.html", PageKind.SOURCE),
        ("https://x/book/print.html", PageKind.PRINT),
        ("https://x/api/index-all.html", PageKind.INDEX),
        ("https://x/api/allclasses-index.html", PageKind.INDEX),
        ("https://x/api/index-files/index-3.html", PageKind.INDEX),
        ("https://x/api/overview-tree.html", PageKind.INDEX),
        ("https://x/docs/page.html?print=1", PageKind.PRINT),
        ("https://x/docs/index.html", None),
        ("https://x/docs/searching.html", None),
        ("https://x/docs/print/a.html", None),
        ("https://x/docs/indexing.html", None),
        ("https://x/docs/index-3.html", None),
        ("https://x/docs/index.html?page=all", None),
    ],
)
def test_generated_kinds_from_urls(url, kind):
    assert kind_from_url(url) == kind


def test_a_page_is_labelled_by_its_own_generator_markers():
    mkdocs_rtd = (
        '<html><head><meta name="generator" content="mkdocs-1.5.3"><title>T</title></head><body>'
        '<div role="main"><div class="section" itemprop="articleBody"><h1>Install</h1>'
        "<p>Install it with pip; this page is long enough to count as a page of documentation text.</p>"
        "</div></div></body></html>"
    )
    page = extract_page(ExtractInput("https://x/install/", mkdocs_rtd.encode()))
    assert page.extractor == "docs:mkdocs"  # not "readthedocs", which its structure resembles
    plain = (
        "<html><head><title>T</title></head><body><main><h1>Notes</h1>"
        "<p>A page with a main element and nothing that names a generator, long enough to keep.</p>"
        "</main></body></html>"
    )
    assert extract_page(ExtractInput("https://x/notes", plain.encode())).extractor == "docs:generic"
    assert generator_from_markers(parse(plain)) is None


GOLDEN_NAMES = ["sphinx", "readthedocs", "mkdocs_material", "docusaurus", "docbook", "rustdoc", "javadoc", "vitepress"]


@pytest.mark.parametrize("name", GOLDEN_NAMES + ["book/library/index", "book/tutorial/index"])
def test_the_main_node_holds_every_top_heading_of_the_article_region(name):
    """Every h1/h2 under main's parent, outside chrome (navigation, sidebars, header), is inside main."""
    from pathlib import Path

    from docspasta.extraction.docs_rules import _is_chrome

    root = Path(__file__).parent
    path = root / "sites" / f"{name}.html" if name.startswith("book/") else root / "golden" / f"{name}.html"
    tree = parse(path.read_text())
    _, main = find_main(tree)
    main = whole_article(main)
    region = main.getparent()
    inside = set(main.iter("h1", "h2"))
    for heading in region.iter("h1", "h2"):
        chrome = any(_is_chrome(a) for a in heading.iterancestors() if a is not region and region in a.iterancestors())
        assert heading in inside or chrome, f"{name}: heading {heading.xpath('string()')!r} left out"
