"""Pages a documentation generator makes from the others: indexes, search, source listings, print views.

They are not the docs a reader reads: the general index repeats every page's terms letter
by letter, a search page is empty without JavaScript, a source listing is the code the
reference already documents, a print view is every page again. Left out by default
(`include_generated`), recognised from the URL where it tells (then never fetched), else
from the page itself after the fetch. Pure: no I/O.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..records import PageKind
from .htmltree import Element, class_set


def skip_reason(kind: PageKind) -> str:
    return f"generated page ({kind})"


_INDEX_FILE = re.compile(
    r"^(?:genindex(?:-[^/]*)?|[\w-]*modindex|genindex-all"  # Sphinx
    r"|index-all|allclasses(?:-index|-frame|-noframe)?|allpackages-index|overview-tree|package-tree)"  # Javadoc
    r"\.html?$"
)
_PRINT_QUERY = re.compile(r"(?:^|&)(?:print|printable|format=print)(?:=|&|$)", re.I)


def kind_from_url(url: str) -> PageKind | None:
    """The kind when the URL alone tells (the page is then never fetched), else None."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    last = segments[-1]
    if "_modules" in segments or "src-html" in segments or (last.endswith(".rs.html") and "src" in segments):
        return PageKind.SOURCE  # before the file name: _modules/pkg/search.html is a module's source
    if _INDEX_FILE.match(last) or "index-files" in segments:  # Javadoc's split index: index-files/index-N.html
        return PageKind.INDEX
    if last in ("search.html", "search.htm"):
        return PageKind.SEARCH
    if last in ("print.html", "print.htm") or _PRINT_QUERY.search(parts.query):
        return PageKind.PRINT
    return None


def kind_from_page(tree: Element, url: str) -> PageKind | None:
    """The kind read from the page's own markers: one walk over its elements."""
    if (kind := kind_from_url(url)) is not None:
        return kind
    body = tree.find("body")
    body_classes = class_set(body.get("class") or "") if body is not None else frozenset()
    if "rustdoc" in body_classes and "src" in body_classes:
        return PageKind.SOURCE
    if "rustdoc" in body_classes and url.rsplit("/", 1)[-1] == "all.html":  # "List of all items"
        return PageKind.INDEX
    for el in tree.iter("table", "div"):  # a viewcode page's back-links sit in its viewcode-block divs
        value = el.get("class")
        classes = class_set(value) if value else frozenset()
        if el.tag == "table" and ("indextable" in classes or "modindextable" in classes):
            return PageKind.INDEX
        if el.tag == "div" and (el.get("id") == "search-results" or "genindex-jumpbox" in classes):
            return PageKind.SEARCH if el.get("id") == "search-results" else PageKind.INDEX
        if el.tag == "div" and "viewcode-block" in classes:
            return PageKind.SOURCE
    return None


SOURCE_LANGUAGES = (("_modules", "python"), (".rs.html", "rust"), ("src-html", "java"))


def source_language(url: str) -> str:
    """The language of a source listing, from where generators put them."""
    return next((language for marker, language in SOURCE_LANGUAGES if marker in url), "")
