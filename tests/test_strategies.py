"""Every strategy on fixture sites of known shape: order, exact depth, exact budgets."""

from __future__ import annotations

import conftest
import pytest
from conftest import pages_by_path

from docspasta import crawl_async
from docspasta.crawl.strategies import score_url
from docspasta.store import open_reader

ONE_AT_A_TIME = {**conftest.FAST, "concurrency": 1, "batch_size": 1, "timeout": 2.0}


def completed(db, job_id, base):
    rows = open_reader(db).pages(job_id, status="completed")
    return {r["url"].removeprefix(base): r for r in rows}


@pytest.mark.parametrize("strategy", ["bfs", "dfs", "best-first"])
async def test_depth_is_the_shortest_link_distance_under_every_strategy(site, db_path, strategy):
    result = await crawl_async(
        site.url("/paths/index.html"),
        db=db_path,
        allow_hosts=site.allow_hosts,
        max_depth=3,
        strategy=strategy,
        **ONE_AT_A_TIME,
    )
    done = completed(db_path, result.job_id, site.base)
    assert set(done) == {
        "/paths/index.html",
        "/paths/a1.html",
        "/paths/a2.html",
        "/paths/b1.html",
        "/paths/x.html",
        "/paths/y.html",
    }
    assert done["/paths/x.html"]["depth"] == 2 and done["/paths/y.html"]["depth"] == 3
    z = pages_by_path(db_path, result.job_id, site.base)["/paths/z.html"]
    assert (z["status"], z["reason"], z["depth"]) == ("skipped", "depth", 4)
    assert "/paths/z.html" not in site.fetched()


async def test_best_first_fetches_documentation_before_blog_and_legal_pages(site, db_path):
    result = await crawl_async(
        site.url("/ranked/index.html"),
        db=db_path,
        allow_hosts=site.allow_hosts,
        max_pages=3,
        strategy="best-first",
        **ONE_AT_A_TIME,
    )
    assert set(completed(db_path, result.job_id, site.base)) == {
        "/ranked/index.html",
        "/ranked/reference/api.html",
        "/ranked/guide/start.html",
    }
    bfs = await crawl_async(
        site.url("/ranked/index.html"), db=db_path, allow_hosts=site.allow_hosts, max_pages=3, **ONE_AT_A_TIME
    )
    assert "/ranked/blog/post.html" in completed(db_path, bfs.job_id, site.base)  # discovery order, for contrast


@pytest.mark.parametrize("strategy", ["bfs", "dfs", "best-first"])
@pytest.mark.parametrize("processing", ["batched", "per-url"])
async def test_budgets_are_exact_under_every_strategy_and_mode(site, db_path, strategy, processing):
    result = await crawl_async(
        site.url("/docs/index.html"),
        db=db_path,
        allow_hosts=site.allow_hosts,
        max_pages=4,
        max_depth=5,
        strategy=strategy,
        processing=processing,
        concurrency=4,
        batch_size=3,
        timeout=1.0,
        retries=0,
    )
    assert result.completed == 4
    rows = pages_by_path(db_path, result.job_id, site.base)
    for path in set(site.pages_fetched()):
        assert rows[path]["reason"] != "max pages reached", path


async def test_per_url_processing_stores_the_same_pages_as_batched(site, db_path):
    fast = {**conftest.FAST, "retries": 1}  # flaky.html answers 500 once
    batched = await crawl_async(site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, **fast)
    per_url = await crawl_async(
        site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, processing="per-url", **fast
    )
    assert set(completed(db_path, batched.job_id, site.base)) == set(completed(db_path, per_url.job_id, site.base))


def test_url_scores():
    assert (
        score_url("https://x.org/docs/api/reference.html", "API reference")
        > score_url("https://x.org/docs/guide/install.html", "Installing")
        > score_url("https://x.org/blog/2024/post.html", "Our news")
        > score_url("https://x.org/legal/terms.html")
    )
    assert score_url("https://x.org/docs/search.html?q=x") < score_url("https://x.org/docs/intro.html")


async def test_bfs_fetches_level_by_level(site, db_path):
    await crawl_async(
        site.url("/paths/index.html"),
        db=db_path,
        allow_hosts=site.allow_hosts,
        max_depth=3,
        concurrency=4,
        batch_size=4,
        timeout=2.0,
        retries=0,
        use_sitemaps=False,
    )
    order = [p.removeprefix("/paths/") for p in site.pages_fetched()]
    depth = {"index.html": 0, "a1.html": 1, "b1.html": 1, "a2.html": 2, "x.html": 2, "y.html": 3}
    assert [depth[p] for p in order] == sorted(depth[p] for p in order)
