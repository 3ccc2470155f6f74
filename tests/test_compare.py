"""Comparison runs: variants validated, jobs grouped in the store, metrics computed alike."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from docspasta import InvalidSettingError, crawl_async
from docspasta.api import compare_async
from docspasta.crawl.compare import build_variants, parse_variant
from docspasta.exports.analytics import best_variant, comparison_metrics, progress_frame, url_overlap
from docspasta.store import open_reader, open_writer

CLI = [sys.executable, "-m", "docspasta"]


def test_variants_parse_and_validate():
    assert parse_variant("strategy=best-first, batch_size=50, use_sitemaps=false") == {
        "strategy": "best-first",
        "batch_size": 50,
        "use_sitemaps": False,
    }
    assert parse_variant("include=/docs/**|/api/*")["include"] == ["/docs/**", "/api/*"]
    with pytest.raises(InvalidSettingError, match="setting=value pairs"):
        parse_variant("strategy")
    with pytest.raises(InvalidSettingError, match="a crawl setting"):
        parse_variant("colour=blue")
    with pytest.raises(InvalidSettingError, match="variant 'strategy=zzz': strategy"):
        build_variants("https://x.org/", {}, ["strategy=bfs", "strategy=zzz"])
    with pytest.raises(InvalidSettingError, match="2 to 4 variants"):
        build_variants("https://x.org/", {}, ["strategy=bfs"])


async def test_a_comparison_groups_its_jobs_and_measures_each(site, any_db):
    db_path = any_db
    comparison_id = await compare_async(
        site.url("/docs/index.html"),
        ["strategy=bfs", "strategy=best-first,processing=per-url"],
        db=db_path,
        max_pages=6,
        timeout=1.0,
        retries=0,
        allow_hosts=site.allow_hosts,
    )
    comparison = open_reader(db_path).get_comparison(comparison_id)
    assert [label for label, _ in comparison.jobs] == ["strategy=bfs", "strategy=best-first,processing=per-url"]
    assert [job.settings.strategy for _, job in comparison.jobs] == ["bfs", "best-first"]
    metrics = comparison_metrics(open_reader(db_path), comparison_id)
    assert metrics.height == 2 and list(metrics["pages"]) == [6, 6]
    for column in (
        "pages/s",
        "time to first page s",
        "mean quality",
        "median quality",
        "pages above threshold",
        "paste tokens (est.)",
        "fetch p50 ms",
        "fetch p95 ms",
        "effective concurrency",
        "duplicates",
    ):
        assert column in metrics.columns
    assert all(t is not None and t > 0 for t in metrics["time to first page s"])
    assert best_variant(metrics) in ("strategy=bfs", "strategy=best-first,processing=per-url")
    progress = progress_frame(open_reader(db_path), comparison_id)
    assert progress.filter(progress["variant"] == "strategy=bfs").height == 6
    overlap = url_overlap(open_reader(db_path), comparison_id)
    assert site.url("/docs/index.html") in overlap["shared"]
    assert set(overlap["only"]) == {"strategy=bfs", "strategy=best-first,processing=per-url"}


async def test_an_earlier_job_of_the_site_joins_a_comparison(site, any_db):
    db_path = any_db
    earlier = await crawl_async(
        site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, max_pages=3, timeout=1.0
    )
    comparison_id = await compare_async(
        site.url("/docs/index.html"),
        ["strategy=dfs", "strategy=bfs"],
        db=db_path,
        max_pages=3,
        timeout=1.0,
        mode="parallel",
        allow_hosts=site.allow_hosts,
    )
    with open_writer(db_path) as store:
        store.add_to_comparison(comparison_id, earlier.job_id, "earlier crawl")
    assert [label for label, _ in open_reader(db_path).get_comparison(comparison_id).jobs][
        0
    ] == "earlier crawl"  # oldest first
    assert comparison_metrics(open_reader(db_path), comparison_id).height == 3


@pytest.mark.slow
def test_cli_compare_prints_metrics_and_refuses_bad_variants(site, tmp_path):
    db = tmp_path / "cmp.db"
    bad = subprocess.run(
        [
            *CLI,
            "compare",
            site.url("/docs/"),
            "--allow-host",
            site.allow_hosts[0],
            "--variant",
            "strategy=bfs",
            "--variant",
            "depth=x",
            "--db",
            str(db),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "a crawl setting" in bad.stderr and not db.exists()
    ok = subprocess.run(
        [
            *CLI,
            "compare",
            site.url("/docs/index.html"),
            "--allow-host",
            site.allow_hosts[0],
            "--variant",
            "strategy=bfs",
            "--variant",
            "strategy=dfs",
            "--max-pages",
            "3",
            "--timeout",
            "1",
            "--db",
            str(db),
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stderr
    result = json.loads(ok.stdout)
    assert [v["variant"] for v in result["variants"]] == ["strategy=bfs", "strategy=dfs"]
    assert result["best"] in ("strategy=bfs", "strategy=dfs") and "quality points" in result["rule"]
