"""Where the content is on pages made by common documentation generators, and what is noise.

`find_main(tree)` returns the generator's name and its main-content element, or None
when no rule fits (the caller then falls back to trafilatura). `strip_noise(main)`
removes what documentation chrome leaves inside the content: permalink anchors, edit
links, breadcrumbs, prev/next bars, copy buttons, in-page tables of contents.

Both are one pass over the elements with set lookups: a union of XPath expressions did
the same job ten times slower (11 ms median, 100 ms p95 a page on the Python docs), and
libxml2's XPath costs 0.1-0.2 µs per element and predicate, more than the Python test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from .htmltree import Element, class_set, drop, text_of

DOCBOOK_DIVS = frozenset(
    "book part chapter sect1 section article refentry appendix preface reference glossary index".split()
)


_NO_CLASSES: frozenset[str] = frozenset()

# A rule's test sees the element and its classes, split once per element (and once per
# distinct class attribute: see class_set).
Test = Callable[[Element, frozenset[str]], bool]


def _classes(el: Element) -> frozenset[str]:
    value = el.get("class")
    return class_set(value) if value else _NO_CLASSES


# Classes a test cannot pass without (any one of them): find_main skips the call when
# the element has none, which is the case for nearly every candidate element.
_NEEDED_CLASSES: dict[Test, frozenset[str]] = {}


def _has_class(name: str) -> Test:
    def test(el: Element, classes: frozenset[str]) -> bool:
        return name in classes

    _NEEDED_CLASSES[test] = frozenset({name})
    return test


def _attr(name: str, value: str) -> Test:
    return lambda el, classes: el.get(name) == value


def _markdown_in_article(el: Element, classes: frozenset[str]) -> bool:
    return "markdown" in classes and any(a.tag == "article" for a in el.iterancestors())


def _sphinx_body(el: Element, classes: frozenset[str]) -> bool:
    return "body" in classes and el.get("role") == "main"


def _docbook_top(el: Element, classes: frozenset[str]) -> bool:
    if DOCBOOK_DIVS.isdisjoint(classes):
        return False
    parent = el.getparent()
    return parent is not None and parent.tag == "body"


def _docutils_top_section(el: Element, classes: frozenset[str]) -> bool:
    """The outermost docutils section holding the page's h1: any Sphinx theme's content,
    including themes with no role=main marker (Django's YUI layout, old custom themes)."""
    if not (el.tag == "section" or "section" in classes):
        return False
    if not any(child.tag == "h1" for child in el):
        return False
    return not any(a.tag == "section" or "section" in _classes(a) for a in el.iterancestors())


def _always(el: Element, classes: frozenset[str]) -> bool:
    return True


_NEEDED_CLASSES.update(
    {
        _markdown_in_article: frozenset({"markdown"}),
        _sphinx_body: frozenset({"body"}),
        _docbook_top: DOCBOOK_DIVS,
        _docutils_top_section: frozenset({"section"}),  # unless the element is a <section>
    }
)


# (generator, tag or None for any, test), most specific first: the first rule that
# matches an element with text wins.
MAIN_RULES: tuple[tuple[str, str | None, Test], ...] = (
    ("mkdocs-material", "article", _has_class("md-content__inner")),
    ("docusaurus", "div", _has_class("theme-doc-markdown")),
    ("docusaurus", "div", _markdown_in_article),
    ("vitepress", "div", _has_class("vp-doc")),
    ("readthedocs", "div", _attr("itemprop", "articleBody")),
    ("sphinx", "div", _sphinx_body),
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
    theme-doc-footer admonition-icon copybutton doc-anchor notable-traits
    """.split()
)
PERMALINK_TITLES = frozenset(
    {"Permalink to this heading", "Permalink to this headline", "Permalink to this definition", "Permanent link"}
)
PERMALINK_TEXT = frozenset({"", "¶", "§", "#", "\u200b", "🔗"})
_SUSPECT_CLASSES = NOISE_CLASSES | {"anchor", "src", "toc"}  # every class is_noise looks for


Rule = tuple[int, frozenset[str] | None, Test]  # rank, classes needed (any one), test
_RULES_BY_TAG: dict[str, list[Rule]] = {}
for _rank, (_, _tag, _test) in enumerate(MAIN_RULES):
    if _tag is not None:
        _needs = None if _tag == "section" and _test is _docutils_top_section else _NEEDED_CLASSES.get(_test)
        _RULES_BY_TAG.setdefault(_tag, []).append((_rank, _needs, _test))  # ascending rank
_ANY_TAG_RULES: list[Rule] = [(rank, None, test) for rank, (_, tag, test) in enumerate(MAIN_RULES) if tag is None]
assert all(rank > max(r for rules in _RULES_BY_TAG.values() for r, _, _ in rules) for rank, _, _ in _ANY_TAG_RULES)


_CANDIDATE_TAGS = tuple(_RULES_BY_TAG)


def find_main(tree: Element) -> tuple[str, Element] | None:
    """The element of the best-ranked rule that matches an element with text (the first
    such element in document order), and that rule's generator."""
    best_rank, best = len(MAIN_RULES), None
    for el in tree.iter(*_CANDIDATE_TAGS):  # lxml filters by tag in C: syntax-highlight spans are never visited
        rules = _RULES_BY_TAG[el.tag]
        if rules[0][0] >= best_rank:
            continue  # none of this tag's rules can beat the match in hand
        if best is None and el.get("role") == "main":
            rules = [*rules, *_ANY_TAG_RULES]
        classes = _classes(el)
        for rank, needs, test in rules:
            if rank >= best_rank:
                break
            if needs is not None and needs.isdisjoint(classes):
                continue
            if test(el, classes) and _has_text(el):
                best_rank, best = rank, el
                break
        if best_rank == 0:
            break
    if best is None:  # the any-tag rules, on elements of other tags (ElementPath walks the whole tree: only here)
        for el in tree.iterfind(".//*[@role='main']"):
            for rank, _, test in _ANY_TAG_RULES:
                if rank < best_rank and test(el, _classes(el)) and _has_text(el):
                    best_rank, best = rank, el
                    break
    return (MAIN_RULES[best_rank][0], best) if best is not None else None


def strip_noise(main: Element) -> None:
    """Remove the chrome inside main (see is_noise), keeping the text that follows each piece."""
    for el in list(_noise(main)):
        drop(el)


_STATE_ATTRS = frozenset({"hidden", "aria-hidden", "role"})


def _noise(main: Element) -> Iterator[Element]:
    """The outermost noise elements below main, in document order, never looking inside
    <pre> (highlighted code is thousands of spans, never chrome).

    One pass of lxml's C iterator with as few calls per element as possible: this visits
    every element of the content (15,000 on the largest Python docs pages). Elements with
    no attribute are noise by their tag or not at all; those whose only attribute is a
    class are decided by the class string, cached; is_noise runs only where the attribute
    names and class leave it in doubt (_may_be_noise).
    """
    elements = main.iter()
    next(elements)  # main itself
    resume = None  # after a noise element or a <pre>: the first element past its subtree
    for el in elements:
        if resume is not None:
            if el is not resume:
                continue
            resume = None
        tag = el.tag
        if tag in NOISE_TAGS:
            yield el
        elif tag != "pre":
            count = len(el.attrib)
            if not count:
                continue
            value = el.get("class")
            if count == 1 and value is not None:
                suspect = _SUSPECT.get(value)  # _suspect(value), without the call for a known class
                if suspect is None:
                    suspect = _suspect(value)
                if not suspect or not is_noise(el):
                    continue
            elif not _may_be_noise(el, tag, value) or not is_noise(el):
                continue
            yield el
        elif is_noise(el):
            yield el
        resume = _after(el, main)
        if resume is None:
            return


def _may_be_noise(el: Element, tag: str, value: str | None) -> bool:
    """False when is_noise(el) is sure to be False, read from its attribute names and class."""
    keys = el.keys()
    if not _STATE_ATTRS.isdisjoint(keys) or (value is not None and _suspect(value)):
        return True
    if tag != "a":
        return False
    # cross-reference links carry a title (the target's name): read it rather than run is_noise
    return ("title" in keys and el.get("title") in PERMALINK_TITLES) or "aria-label" in keys


_SUSPECT: dict[str, bool] = {}  # a plain dict, read inline: this is looked up for most elements


def _suspect(value: str) -> bool:
    """Could an element whose only attribute is `class="value"` be noise? (Cached.)"""
    suspect = _SUSPECT.get(value)
    if suspect is None:
        if len(_SUSPECT) > 8192:  # class names made per page (CSS-in-JS hashes) must not pile up
            _SUSPECT.clear()
        suspect = _SUSPECT[value] = not _SUSPECT_CLASSES.isdisjoint(value.split())
    return suspect


def _after(el: Element, stop: Element) -> Element | None:
    """The first node after el's subtree in document order, within stop (None past its end)."""
    while el is not stop:
        following = el.getnext()
        if following is not None:
            return following
        el = el.getparent()
    return None


def is_noise(el: Element) -> bool:
    tag = el.tag
    if tag in NOISE_TAGS:
        return True
    classes = _classes(el)
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


# -- which generator, by the page's own markers ---------------------------------------------

_GENERATOR_MARKERS = (  # (substring of <meta name=generator>, generator), most specific first
    ("mkdocs-material", "mkdocs-material"),
    ("mkdocs", "mkdocs"),
    ("docusaurus", "docusaurus"),
    ("vitepress", "vitepress"),
    ("vuepress", "vuepress"),
    ("rustdoc", "rustdoc"),
    ("mdbook", "mdbook"),
    ("javadoc", "javadoc"),
    ("docbook", "docbook"),
    ("sphinx", "sphinx"),
    ("docutils", "sphinx"),
    ("gitbook", "gitbook"),
    ("hugo", "hugo"),
    ("jekyll", "jekyll"),
)


def generator_from_markers(tree: Element) -> str | None:
    """The generator a page names itself (<meta name=generator>, Sphinx's static files),
    or None: what a page says of itself beats what its structure resembles."""
    head = tree.find("head")
    if head is None:
        return None
    for meta in head.iter("meta"):
        if (meta.get("name") or "").lower() == "generator":
            content = (meta.get("content") or "").lower()
            for marker, generator in _GENERATOR_MARKERS:
                if marker in content:
                    return generator
    for script in head.iter("script"):
        if "documentation_options.js" in (script.get("src") or ""):
            return "sphinx"
    return None


# -- the whole article ------------------------------------------------------------------------

_HEADINGS = ("h1", "h2")
_CHROME_TAGS = frozenset({"nav", "aside", "header", "footer"})
_CHROME_WORDS = ("sidebar", "toc", "menu", "nav", "header", "footer", "related")


def whole_article(main: Element) -> Element:
    """main, or the ancestor that holds the article's other top-level sections too.

    Rules find the first element that looks like content; a page whose content is several
    sibling sections (Django's reference pages: three docutils sections, each with an h1)
    would keep only the first. While main's siblings hold h1/h2 headings and are not
    chrome (navigation, sidebars, headers), their common parent is the article.
    """
    while (parent := main.getparent()) is not None and parent.tag not in ("body", "html"):
        siblings = [el for el in parent if el is not main and isinstance(el.tag, str)]
        if not any(_holds_heading(el) for el in siblings if not _is_chrome(el)):
            break
        main = parent
    return main


def _holds_heading(el: Element) -> bool:
    return el.tag in _HEADINGS or next(el.iter(*_HEADINGS), None) is not None


def _is_chrome(el: Element) -> bool:
    if el.tag in _CHROME_TAGS or el.get("role") in ("navigation", "complementary", "banner", "contentinfo"):
        return True
    names = f"{el.get('class') or ''} {el.get('id') or ''}".lower()
    return any(word in names for word in _CHROME_WORDS) or is_noise(el)


def trim_tables_of_contents(main: Element) -> None:
    """Keep only the first level of a Sphinx toctree inside the content.

    A chapter page's toctree lists its pages, which is structure worth keeping; at depth
    it also lists every section of every page (the Python docs' contents page: 14,000
    links), which the paste holds in full anyway, in the same order.
    """
    for wrapper in list(main.iter("div")):
        if "toctree-wrapper" not in class_set(wrapper.get("class") or ""):
            continue
        for item in list(wrapper.iter("li")):
            for nested in [child for child in item if child.tag in ("ul", "ol")]:
                drop(nested)
