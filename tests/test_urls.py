from __future__ import annotations

import pytest

from docspasta.urls import (
    Scope,
    compile_glob,
    dedup_key,
    directory_of,
    has_non_page_extension,
    html_siblings,
    markdown_siblings,
    normalize,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("HTTP://Docs.Example.ORG:80/Guide/Intro.html", "http://docs.example.org/Guide/Intro.html"),
        ("https://x.org:443/a/./b/../c.html#section", "https://x.org/a/c.html"),
        ("https://x.org", "https://x.org/"),
        ("https://x.org:8443/", "https://x.org:8443/"),
        ("https://x.org/p?utm_source=a&b=2&gclid=z&a=1", "https://x.org/p?b=2&a=1"),
        ("https://x.org/p?fbclid=1", "https://x.org/p"),
        ("https://x.org/a b.html", "https://x.org/a%20b.html"),
        # RFC 3986 6.2.2: unreserved characters decoded, other encodings uppercased, never decoded
        ("https://x.org/%7euser/", "https://x.org/~user/"),
        ("http://h/docs/%69ntro", "http://h/docs/intro"),
        ("http://h/docs/%49NTRO%2d%5F%2E%7E%30", "http://h/docs/INTRO-_.~0"),
        ("http://h/a%2fb/c%3a%20d", "http://h/a%2Fb/c%3A%20d"),
        ("http://h/a%2Fb", "http://h/a%2Fb"),
        ("http://h/caf%c3%a9", "http://h/caf%C3%A9"),
        ("http://h/a/%2E%2E/b", "http://h/b"),
        ("http://h/a/b/%2e/c", "http://h/a/b/c"),
        ("http://h/docs/intro?", "http://h/docs/intro"),
        ("http://h/p?q=%61%2Bb%26c%3d", "http://h/p?q=a%2Bb%26c%3D"),
        ("http://h/p?q=a+b&&r=%7e", "http://h/p?q=a+b&r=~"),
        ("http://h/p?x=a b", "http://h/p?x=a%20b"),
        ("http://h/p?%75tm_source=x&k=1", "http://h/p?k=1"),
        ("http://h/Docs/%41PI.html", "http://h/Docs/API.html"),
        ("https://x.org/dir/.", "https://x.org/dir/"),
        ("mailto:a@b.c", None),
        ("javascript:void(0)", None),
        ("ftp://x.org/file", None),
    ],
)
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_normalize_resolves_relative_links_and_never_lowercases_paths():
    assert normalize("../API/Index.html", base="https://x.org/docs/guide/a.html") == "https://x.org/docs/API/Index.html"
    assert normalize("//cdn.x.org/p", base="https://x.org/") == "https://cdn.x.org/p"
    assert normalize("?page=2", base="https://x.org/list") == "https://x.org/list?page=2"


def test_one_page_spelled_two_ways_is_one_url():
    assert normalize("http://h/docs/%69ntro") == normalize("http://h/docs/intro")
    assert normalize("http://h/%7Euser/a.html") == normalize("http://h/~user/a.html")
    assert normalize("http://h/a%2Fb") != normalize("http://h/a/b")


def test_dedup_key_ignores_the_scheme():
    assert dedup_key("http://x.org/a") == dedup_key("https://x.org/a")


def test_directory_of():
    assert directory_of("https://x.org/docs/guide/intro.html") == "/docs/guide/"
    assert directory_of("https://x.org/docs/guide") == "/docs/guide/"
    assert directory_of("https://x.org/docs/") == "/docs/"
    assert directory_of("https://x.org") == "/"


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("/docs/*", "/docs/a.html", True),
        ("/docs/*", "/docs/a/b.html", False),
        ("/docs/**", "/docs/a/b.html", True),
        ("/docs/**/api.html", "/docs/api.html", True),
        ("/docs/**/api.html", "/docs/v1/x/api.html", True),
        ("api/*", "/v2/api/users", True),
        ("*.html", "/a/b/c.html", True),
        ("/a?c", "/abc", True),
        ("/a?c", "/a/c", False),
    ],
)
def test_globs(pattern, path, matches):
    assert bool(compile_glob(pattern).match(path)) is matches


def test_scope_reasons():
    scope = Scope("x.org", "/docs/", include=("/docs/guide/**",), exclude=("**/old/*",))
    assert scope.reason_to_skip("https://x.org/docs/guide/a.html") is None
    assert scope.reason_to_skip("https://y.org/docs/guide/a.html") == "out of scope: other host"
    assert scope.reason_to_skip("https://x.org/blog/") == "out of scope: outside /docs/"
    assert scope.reason_to_skip("https://x.org/docs/guide/old/a.html") == "out of scope: excluded by **/old/*"
    assert scope.reason_to_skip("https://x.org/docs/api/") == "out of scope: matches no include pattern"
    assert scope.reason_to_skip("https://x.org/docs/guide/shot.PNG") == "non-page file"
    assert Scope("x.org", "/docs/").reason_to_skip("https://x.org/docs") is None


def test_non_page_extensions():
    assert has_non_page_extension("https://x.org/a.pdf")
    assert has_non_page_extension("https://x.org/a.tar.gz")
    assert not has_non_page_extension("https://x.org/a.html")
    assert not has_non_page_extension("https://x.org/v1.2/")
    assert not has_non_page_extension("https://x.org/api.v2")


@pytest.mark.parametrize(
    "page, twins",
    [
        ("https://x.org/d/guide.html", ["https://x.org/d/guide.html.md", "https://x.org/d/guide.md"]),
        ("https://x.org/d/guide", ["https://x.org/d/guide.md"]),
        ("https://x.org/d/", ["https://x.org/d/index.html.md", "https://x.org/d/index.md", "https://x.org/d.md"]),
        ("https://x.org/", ["https://x.org/index.html.md", "https://x.org/index.md"]),
    ],
)
def test_where_a_page_may_publish_its_markdown_and_back(page, twins):
    assert markdown_siblings(page) == twins
    for twin in twins:  # each way back names the page (llms.txt lists the twin; the crawl may hold the page)
        assert dedup_key(page) in {dedup_key(u) for u in html_siblings(twin)}, twin
