"""Sitemap discovery: robots.txt lines, indexes, gzip, broken XML, scope, depth 1."""

from __future__ import annotations

import gzip

import conftest
import pytest
from fixture_server import FixtureServer

from docspasta import crawl_async
from docspasta.crawl.sitemaps import inflate, parse_sitemap, robots_sitemaps
from docspasta.store import open_reader

FAST = {**conftest.FAST, "max_depth": 1}


def rows(db, job_id, base):
    return {r["url"].removeprefix(base): r for r in open_reader(db).pages(job_id)}


async def test_pages_only_a_sitemap_lists_are_crawled_at_depth_1(site, db_path):
    result = await crawl_async(site.url("/mapped/index.html"), db=db_path, allow_hosts=site.allow_hosts, **FAST)
    found = rows(db_path, result.job_id, site.base)
    completed = {p for p, r in found.items() if r["status"] == "completed"}
    assert completed == {
        "/mapped/index.html",
        "/mapped/a.html",
        "/mapped/b.html",
        "/mapped/c.html",
        "/mapped/deep/d.html",
    }
    assert (found["/mapped/deep/d.html"]["found_by"], found["/mapped/deep/d.html"]["depth"]) == ("sitemap", 1)
    assert found["/mapped/a.html"]["found_by"] == "link"  # linked from the start page first
    assert found["/other/outside.html"]["reason"] == "out of scope: outside /mapped/"
    assert found["https://elsewhere.example/x.html"]["reason"] == "out of scope: other host"
    assert "/elsewhere.example/sitemap.xml" not in " ".join(site.fetched())  # sitemaps on other hosts: never
    [event] = [e for e in open_reader(db_path).events(result.job_id, limit=100) if e["type"] == "sitemaps_read"]
    assert '"files": 4' in event["payload"] and '"unreadable": 1' in event["payload"]  # /sitemap.xml is a 404


async def test_robots_txt_sitemap_lines_are_read(db_path):
    with FixtureServer(robots="User-agent: *\nDisallow:\nSitemap: http://HOST/mapped/extra-sitemap.xml\n") as site:
        result = await crawl_async(site.url("/mapped/index.html"), db=db_path, allow_hosts=site.allow_hosts, **FAST)
        found = rows(db_path, result.job_id, site.base)
        assert found["/mapped/e.html"]["status"] == "completed"
        assert found["/mapped/e.html"]["found_by"] == "sitemap"


async def test_sitemap_first_takes_sitemap_urls_in_priority_order(site, db_path):
    result = await crawl_async(
        site.url("/mapped/index.html"),
        db=db_path,
        allow_hosts=site.allow_hosts,
        strategy="sitemap-first",
        concurrency=1,
        batch_size=1,
        **FAST,
    )
    order = [p for p in site.pages_fetched() if p.startswith("/mapped/") and p.endswith(".html")]
    assert order[0] == "/mapped/index.html"
    assert order.index("/mapped/b.html") < order.index("/mapped/deep/d.html") < order.index("/mapped/c.html")
    assert result.completed == 5


async def test_no_sitemaps_when_switched_off(site, db_path):
    result = await crawl_async(
        site.url("/mapped/index.html"), db=db_path, allow_hosts=site.allow_hosts, use_sitemaps=False, **FAST
    )
    assert result.completed == 2
    assert not [p for p in site.fetched() if p.endswith((".xml", ".gz"))]  # robots.txt is read for its rules


def test_parsing_indexes_gzip_and_broken_xml():
    urlset = (
        b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>https://x.org/a</loc>'
        b"<priority>0.8</priority></url></urlset>"
    )
    assert parse_sitemap(urlset).urls == [("https://x.org/a", 0.8)]
    assert parse_sitemap(gzip.compress(urlset)).urls == [("https://x.org/a", 0.8)]
    index = parse_sitemap(b"<sitemapindex><sitemap><loc>https://x.org/s1.xml</loc></sitemap></sitemapindex>")
    assert index.sitemaps == ["https://x.org/s1.xml"] and index.urls == []
    broken = parse_sitemap(b"<urlset><url><loc>https://x.org/ok</loc></url><url><loc>https://x.org/cut")
    assert ("https://x.org/ok", 0.5) in broken.urls
    assert parse_sitemap(b"not xml at all").error
    assert robots_sitemaps("User-agent: *\nSITEMAP: https://x.org/s.xml # main\n") == ["https://x.org/s.xml"]


def test_a_gzip_bomb_stops_at_the_cap(monkeypatch):
    bomb = gzip.compress(b"<urlset>" + b" " * 5_000_000 + b"</urlset>")  # 5 MB from ~5 KB
    with pytest.raises(ValueError, match="inflates past 1,000,000 bytes"):
        inflate(bomb, limit=1_000_000)
    monkeypatch.setattr("docspasta.crawl.sitemaps.MAX_SITEMAP_BYTES", 1_000_000)
    assert parse_sitemap(bomb).error == "sitemap inflates past 1,000,000 bytes"
