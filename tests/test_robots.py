"""robots.txt against a real server: rules, wildcards, 4xx/5xx answers, Crawl-delay, the switch."""

from __future__ import annotations

import conftest
import pytest
from fixture_server import FixtureServer

from docspasta import crawl_async
from docspasta.crawl.robots import MAX_CRAWL_DELAY_S, policy_from_response
from docspasta.store import open_reader

FAST = {**conftest.FAST, "max_depth": 2, "use_sitemaps": False}


def rows(db, job_id, base):
    return {r["url"].removeprefix(base): r for r in open_reader(db).pages(job_id)}


async def test_disallowed_pages_are_skipped_and_never_fetched(db_path):
    robots = "User-agent: *\nDisallow: /docs/reference/\nDisallow: /*/broken.html$\n"
    with FixtureServer(robots=robots) as site:
        result = await crawl_async(site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, **FAST)
        found = rows(db_path, result.job_id, site.base)
        assert found["/docs/reference/index.html"]["status"] == "skipped"
        assert found["/docs/reference/index.html"]["reason"] == "robots"
        assert found["/docs/broken.html"]["reason"] == "robots"  # the `*.html$` wildcard
        assert found["/docs/guide/index.html"]["status"] == "completed"
        fetched = site.fetched()
        assert fetched[0] == "/robots.txt" and fetched.count("/robots.txt") == 1  # once, before any page
        assert not [p for p in fetched if p.startswith("/docs/reference/") or p == "/docs/broken.html"]


async def test_a_robots_txt_that_fails_with_5xx_stops_the_crawl_and_says_so(db_path):
    with FixtureServer(robots="oops", robots_status=503) as site:
        result = await crawl_async(site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, **FAST)
        assert result.status == "failed"
        assert "robots.txt answered HTTP 503: nothing on" in result.error
        assert site.fetched() == ["/robots.txt"]  # no page was fetched


async def test_a_missing_robots_txt_allows_everything(site, db_path):
    result = await crawl_async(site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, **FAST)
    assert result.completed == 9  # everything but flaky.html (retries=0), as without robots handling
    [note] = [e["payload"] for e in open_reader(db_path).events(result.job_id, limit=200) if e["type"] == "robots"]
    assert "HTTP 404: every page on" in note


async def test_crawl_delay_spaces_fetches_to_the_host(db_path):
    with FixtureServer(robots="User-agent: *\nCrawl-delay: 0.3\n") as site:
        await crawl_async(
            site.url("/docs/guide/index.html"), db=db_path, allow_hosts=site.allow_hosts, concurrency=4, **FAST
        )
        # every request but robots.txt (sitemaps too) waits its turn
        arrivals = sorted(t for path, times in site.times.items() if path != "/robots.txt" for t in times)
        assert len(arrivals) >= 4
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
        assert min(gaps) >= 0.28, gaps  # concurrency 4, yet one fetch per Crawl-delay


async def test_ignore_robots_is_a_deliberate_switch(db_path):
    with FixtureServer(robots="User-agent: *\nDisallow: /\n") as site:
        obeyed = await crawl_async(site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, **FAST)
        assert obeyed.status == "failed"
        assert obeyed.error.startswith("start page disallowed by robots.txt") and "--ignore-robots" in obeyed.error
        ignored = await crawl_async(
            site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, ignore_robots=True, **FAST
        )
        assert ignored.status == "completed" and ignored.completed == 9


@pytest.mark.parametrize(
    ("status", "allowed", "words"),
    [(404, True, "every page"), (401, True, "every page"), (500, False, "nothing on"), (None, False, "unreachable")],
)
def test_answers_without_rules(status, allowed, words):
    policy = policy_from_response("x.org", status, None, "connection refused" if status is None else None)
    assert policy.allows("https://x.org/docs/") is allowed and words in policy.note


def test_a_huge_crawl_delay_is_capped_and_the_cap_is_shown():
    policy = policy_from_response("x.org", 200, "User-agent: *\nCrawl-delay: 86400\n", None)
    assert policy.crawl_delay == MAX_CRAWL_DELAY_S
    assert f"Crawl-delay 86400 s capped to {MAX_CRAWL_DELAY_S:g} s" in policy.note


def test_a_group_for_docspasta_wins_over_the_wildcard_group():
    policy = policy_from_response("x.org", 200, "User-agent: docspasta\nDisallow: /\n\nUser-agent: *\nAllow: /\n", None)
    assert not policy.allows("https://x.org/docs/")


async def test_fetches_to_one_host_are_capped(db_path):
    most = {}
    for per_host in (2, 8):
        # slow.html is left out: the server keeps answering it after the crawler gives up on it
        with FixtureServer(delay=0.15) as site:
            await crawl_async(
                site.url("/docs/index.html"),
                db=db_path,
                allow_hosts=site.allow_hosts,
                concurrency=16,
                batch_size=16,
                per_host_concurrency=per_host,
                exclude=["**/slow.html"],
                **FAST,
            )
            most[per_host] = site.max_in_flight
    assert most[2] == 2  # the cap holds...
    assert most[8] > 2  # ...and is what limited it: with a higher cap, more ran at once


async def test_min_delay_spaces_every_request_to_the_host(db_path):
    with FixtureServer() as site:
        await crawl_async(site.url("/docs/guide/index.html"), db=db_path, allow_hosts=site.allow_hosts,
                          concurrency=4, min_delay=0.25, **FAST)  # fmt: skip
        arrivals = sorted(t for times in site.times.values() for t in times)  # robots.txt included
    assert len(arrivals) >= 4
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert min(gaps) >= 0.23, gaps
