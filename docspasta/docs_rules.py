"""Where the content is on pages made by common documentation generators, and what is noise.

`find_main(tree)` returns the generator's name and its main-content element, or None
when no rule fits (the caller then falls back to trafilatura). `strip_noise(main)`
removes what documentation chrome leaves inside the content: permalink anchors, edit
links, breadcrumbs, prev/next bars, copy buttons, in-page tables of contents.

Both are one pass over the elements with set lookups: a union of XPath expressions did
the same job ten times slower (11 ms median, 100 ms p95 a page on the Python docs).
"""

from __future__ import annotations

from collections.abc import Callable

from .htmltree import Element, drop, text_of

DOCBOOK_DIVS = frozenset(
    "book part chapter sect1 section article refentry appendix preface reference glossary index".split()
)


def _classes(el: Element) -> frozenset[str]:
    value = el.get("class")
    return frozenset(value.split()) if value else frozenset()


def _has_class(name: str) -> Callable[[Element], bool]:
    return lambda el: name in _classes(el)


def _attr(name: str, value: str) -> Callable[[Element], bool]:
    return lambda el: el.get(name) == value


def _markdown_in_article(el: Element) -> bool:
    return "markdown" in _classes(el) and any(a.tag == "article" for a in el.iterancestors())


def _docbook_top(el: Element) -> bool:
    parent = el.getparent()
    return parent is not None and parent.tag == "body" and not DOCBOOK_DIVS.isdisjoint(_classes(el))


def _docutils_top_section(el: Element) -> bool:
    """The outermost docutils section holding the page's h1: any Sphinx theme's content,
    including themes with no role=main marker (Django's YUI layout, old custom themes)."""
    if not (el.tag == "section" or "section" in _classes(el)):
        return False
    if not any(child.tag == "h1" for child in el):
        return False
    return not any(a.tag == "section" or "section" in _classes(a) for a in el.iterancestors())


def _always(el: Element) -> bool:
    return True


# (generator, tag or None for any, test), most specific first: the first rule that
# matches an element with text wins.
MAIN_RULES: tuple[tuple[str, str | None, Callable[[Element], bool]], ...] = (
    ("mkdocs-material", "article", _has_class("md-content__inner")),
    ("docusaurus", "div", _has_class("theme-doc-markdown")),
    ("docusaurus", "div", _markdown_in_article),
    ("vitepress", "div", _has_class("vp-doc")),
    ("readthedocs", "div", _attr("itemprop", "articleBody")),
    ("sphinx", "div", lambda el: el.get("role") == "main" and "body" in _classes(el)),
    ("sphinx", "article", _attr("role", "main")),
    ("sphinx", "div", _has_class("bd-article")),
    ("rustdoc", "section", _attr("id", "main-content")),
    ("rustdoc", "div", _attr("id", "main-content")),
    ("javadoc", "main", _attr("role", "main")),
    ("javadoc", "div", _has_class("contentContainer")),
    ("gitbook", "section", _has_class("markdown-section")),
    ("gitbook", "div", _has_class("markdown-section")),
    ("docbook", "div", _docbook_top),
    ("mkdocs", "div", _attr("role", "main")),
    ("sphinx", "div", _docutils_top_section),
    ("sphinx", "section", _docutils_top_section),
    ("generic", "main", _always),
    ("generic", "article", _always),
    ("generic", None, _attr("role", "main")),
)

NOISE_TAGS = frozenset(
    "script style noscript template svg button form input select textarea nav footer iframe "
    "rustdoc-search rustdoc-toolbar".split()
)
NOISE_CLASSES = frozenset(
    """
    headerlink hash-link header-anchor anchorjs-link md-content__button md-source-file edit-this-page
    theme-edit-this-page pagination-nav theme-doc-breadcrumbs breadcrumbs wy-breadcrumbs rst-footer-buttons
    related sphinxsidebar prev-next navheader navfooter theme-doc-toc-mobile theme-doc-toc-desktop
    table-of-contents copy sr-only visually-hidden out-of-band lang cookie md-consent hideme VPDocFooter
    theme-doc-footer admonition-icon copybutton doc-anchor
    """.split()
)
PERMALINK_TITLES = frozenset(
    {"Permalink to this heading", "Permalink to this headline", "Permalink to this definition", "Permanent link"}
)
PERMALINK_TEXT = frozenset({"", "¶", "§", "#", "\u200b", "🔗"})


_RULES_BY_TAG: dict[str, list[tuple[int, Callable[[Element], bool]]]] = {}
for _rank, (_, _tag, _test) in enumerate(MAIN_RULES):
    if _tag is not None:
        _RULES_BY_TAG.setdefault(_tag, []).append((_rank, _test))
_ANY_TAG_RULES = [(rank, test) for rank, (_, tag, test) in enumerate(MAIN_RULES) if tag is None]


_CANDIDATE_TAGS = tuple(_RULES_BY_TAG)


def find_main(tree: Element) -> tuple[str, Element] | None:
    best_rank, best = len(MAIN_RULES), None
    candidates = [*tree.iter(*_CANDIDATE_TAGS), *tree.iterfind(".//*[@role='main']")]
    for el in candidates:  # lxml filters by tag in C: syntax-highlight spans are never visited
        rules = _RULES_BY_TAG.get(el.tag, [])
        if el.get("role") == "main":
            rules = [*rules, *_ANY_TAG_RULES]
        for rank, test in rules:
            if rank < best_rank and test(el) and _has_text(el):
                best_rank, best = rank, el
                break
        if best_rank == 0:
            break
    return (MAIN_RULES[best_rank][0], best) if best is not None else None


def strip_noise(main: Element) -> None:
    doomed = []
    stack = list(main)
    while stack:  # depth-first, but never into <pre>: highlighted code is thousands of spans, never chrome
        el = stack.pop()
        if not isinstance(el.tag, str):
            continue
        if is_noise(el):
            doomed.append(el)
        elif el.tag != "pre":
            stack.extend(el)
    for el in doomed:
        drop(el)


def is_noise(el: Element) -> bool:
    tag = el.tag
    if tag in NOISE_TAGS:
        return True
    value = el.get("class")
    classes = frozenset(value.split()) if value else frozenset()
    if classes and not NOISE_CLASSES.isdisjoint(classes):
        return True
    if el.get("hidden") is not None or el.get("aria-hidden") == "true" or el.get("role") in ("navigation", "search"):
        return True
    if tag == "a":
        if el.get("title") in PERMALINK_TITLES:
            return True
        label = el.get("aria-label", "")
        if label.startswith(("Direct link to", "Permalink to")):
            return True
        if "anchor" in classes and text_of(el).strip() in PERMALINK_TEXT:
            return True
        if "src" in classes:  # rustdoc's "source" links beside every item
            return True
    return "toc" in classes and tag != "table"


def _has_text(element: Element) -> bool:
    return any(t.strip() for t in element.itertext())
