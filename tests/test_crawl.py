"""The engine against a real HTTP server on 127.0.0.1, writing a real SQLite file."""

from __future__ import annotations

import json
import sqlite3

import conftest
import pytest

from docspasta import crawl_async
from docspasta.exports.export import paste_text
from docspasta.store import open_reader

FAST = {**conftest.FAST, "retries": 1, "concurrency": 8, "batch_size": 5}


def by_path(db_path, job_id, base):
    return {p["url"].removeprefix(base): p for p in open_reader(db_path).pages(job_id)}


async def test_full_crawl_records_every_outcome(site, db_path):
    result = await crawl_async(
        site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, max_pages=100, max_depth=2, **FAST
    )
    assert result.status == "completed"
    rows = by_path(db_path, result.job_id, site.base)
    completed = {p for p, r in rows.items() if r["status"] == "completed"}
    assert completed == {
        "/docs/index.html",
        "/docs/guide/index.html",
        "/docs/guide/install.html",
        "/docs/GUIDE/install.html",
        "/docs/reference/index.html",
        "/docs/flaky.html",
        "/docs/guide/config.html",
        "/docs/guide/advanced/index.html",
        "/docs/reference/api.html",
        "/docs/reference/cli.html",
    }
    # depth is the shortest link distance; one level too deep is skipped, not fetched
    assert rows["/docs/guide/advanced/deep.html"]["status"] == "skipped"
    assert rows["/docs/guide/advanced/deep.html"]["reason"] == "depth"
    assert "/docs/guide/advanced/deep.html" not in site.fetched()
    assert rows["/docs/guide/config.html"]["depth"] == 2
    # failures are recorded with their reason, and the crawl went on
    assert rows["/docs/broken.html"]["status"] == "failed"
    assert rows["/docs/broken.html"]["reason"] == "HTTP 404"
    assert rows["/docs/broken.html"]["http_status"] == 404
    assert rows["/docs/slow.html"]["status"] == "failed"
    assert "timed out" in rows["/docs/slow.html"]["reason"]
    assert rows["/docs/flaky.html"]["retries"] == 1
    assert rows["/docs/manual.html"]["status"] == "skipped"
    assert rows["/docs/manual.html"]["reason"] == "not HTML: application/pdf"
    assert rows["/docs/away.html"]["status"] == "failed"
    assert "redirect refused (out of scope: other host)" in rows["/docs/away.html"]["reason"]
    assert rows["/docs/moved.html"]["status"] == "skipped"
    assert rows["/docs/moved.html"]["reason"].startswith("duplicate of")
    assert rows["/docs/guide/"]["reason"] == f"duplicate of {site.base}/docs/guide/index.html"
    assert rows["/docs/logo.png"]["reason"] == "non-page file"
    assert rows["/outside/page.html"]["reason"] == "out of scope: outside /docs/"
    assert rows["https://example.org/elsewhere"]["reason"] == "out of scope: other host"
    # counters kept by triggers agree with the rows
    job = open_reader(db_path).get_job(result.job_id)
    assert (job.completed, job.failed, job.skipped, job.discovered) == (
        len(completed),
        sum(r["status"] == "failed" for r in rows.values()),
        sum(r["status"] == "skipped" for r in rows.values()),
        len(rows),
    )
    assert job.queued == 0 and job.step == "done"


async def test_each_page_fetched_once_whatever_its_spelling(site, db_path):
    await crawl_async(
        site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, max_pages=100, max_depth=3, **FAST
    )
    counts = {path: site.hits[path] for path in site.hits}
    assert counts["/docs/flaky.html"] == 2  # 500, then the retry
    assert counts["/docs/slow.html"] == 2  # timed out twice (retries=1)
    assert counts["/docs/broken.html"] == 1  # a 404 is never retried
    others = {p: n for p, n in counts.items() if p not in ("/docs/flaky.html", "/docs/slow.html")}
    assert others and max(others.values()) == 1, others
    # the tracked, dotted spelling of install.html is the same page; the upper-case path is not
    assert "/docs/guide/install.html" in counts
    assert "/docs/GUIDE/install.html" in counts
    assert not any("utm_source" in p or "/../" in p for p in counts)
    assert "/outside/page.html" not in counts


@pytest.mark.parametrize("max_pages", [1, 2, 3, 7])
async def test_max_pages_is_exact_and_no_fetch_is_wasted(site, db_path, max_pages):
    result = await crawl_async(
        site.url("/docs/index.html"),
        db=db_path,
        allow_hosts=site.allow_hosts,
        max_pages=max_pages,
        max_depth=5,
        concurrency=8,
        batch_size=10,
        timeout=1.0,
        retries=0,
    )
    rows = by_path(db_path, result.job_id, site.base)
    assert result.completed == max_pages
    assert sum(r["status"] == "completed" for r in rows.values()) == max_pages
    # every request the server saw belongs to a page whose outcome was stored:
    # nothing was fetched and then thrown away because the budget was already spent
    for path in set(site.pages_fetched()):
        row = rows.get(path)
        assert row is not None and row["status"] in ("completed", "failed", "skipped"), (path, row)
        assert row["reason"] != "max pages reached", path


async def test_depth_zero_crawls_only_the_start_page(site, db_path):
    result = await crawl_async(
        site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, max_depth=0, **FAST
    )
    assert result.completed == 1
    assert site.fetched() == ["/robots.txt", "/docs/index.html"]  # robots.txt first, before any page


async def test_include_and_exclude_patterns(site, db_path):
    result = await crawl_async(
        site.url("/docs/index.html"),
        db=db_path,
        allow_hosts=site.allow_hosts,
        max_depth=3,
        include=["/docs/guide/**"],
        exclude=["**/advanced/*"],
        **FAST,
    )
    rows = by_path(db_path, result.job_id, site.base)
    completed = {p for p, r in rows.items() if r["status"] == "completed"}
    assert completed == {
        "/docs/index.html",
        "/docs/guide/index.html",
        "/docs/guide/install.html",
        "/docs/guide/config.html",
    }
    assert rows["/docs/guide/advanced/index.html"]["reason"] == "out of scope: excluded by **/advanced/*"
    assert rows["/docs/reference/index.html"]["reason"] == "out of scope: matches no include pattern"


async def test_scope_defaults_to_the_start_pages_directory(site, db_path):
    result = await crawl_async(
        site.url("/docs/guide/index.html"), db=db_path, allow_hosts=site.allow_hosts, max_depth=3, **FAST
    )
    rows = by_path(db_path, result.job_id, site.base)
    completed = {p for p, r in rows.items() if r["status"] == "completed"}
    assert all(p.startswith("/docs/guide/") for p in completed)
    assert "/docs/guide/advanced/deep.html" in completed
    assert rows["/docs/index.html"]["reason"] == "out of scope: outside /docs/guide/"
    assert open_reader(db_path).get_job(result.job_id).scope_prefix == "/docs/guide/"


async def test_a_failed_start_page_fails_the_job_with_its_reason(site, db_path):
    result = await crawl_async(site.url("/start-404/"), db=db_path, allow_hosts=site.allow_hosts, **FAST)
    assert result.status == "failed"
    assert result.error == f"start page failed: HTTP 404 ({site.base}/start-404/)"
    assert result.completed == 0


async def test_an_unreachable_host_fails_the_job(db_path):
    with __import__("socket").socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await crawl_async(f"http://127.0.0.1:{port}/", db=db_path, timeout=1.0, retries=0,
                               allow_hosts=(f"127.0.0.1:{port}",))  # fmt: skip
    assert result.status == "failed"
    assert result.error.startswith("start page failed:") and "connection failed" in result.error


async def test_the_paste_has_a_title_contents_and_one_section_per_page(site, db_path):
    result = await crawl_async(
        site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, max_depth=2, **FAST
    )
    paste = paste_text(open_reader(db_path), result.job_id, threshold=0, order="url")
    lines = paste.splitlines()
    assert lines[0] == "# Widgetry docs"  # the site part of "Widgetry documentation — Widgetry docs"
    assert "## Contents" in lines
    sources = [l.removeprefix("Source: ") for l in lines if l.startswith("Source: ")]
    assert len(sources) == result.completed == len(set(sources))
    # URL order: a directory's index first, then its pages and subdirectories
    assert [s.removeprefix(site.base) for s in sources] == [
        "/docs/index.html",
        "/docs/GUIDE/install.html",
        "/docs/flaky.html",
        "/docs/guide/index.html",
        "/docs/guide/advanced/index.html",
        "/docs/guide/config.html",
        "/docs/guide/install.html",
        "/docs/reference/index.html",
        "/docs/reference/api.html",
        "/docs/reference/cli.html",
    ]
    # page headings nest under the page's own section; code survives
    assert "#### Chapters" in paste
    assert "python -m pip install widgetry" in paste
    # the threshold leaves pages out, and says so
    strict = paste_text(open_reader(db_path), result.job_id, threshold=100)
    assert "\nSource: " not in strict
    assert f"{result.completed} pages scoring below quality 100 were left out" in strict


async def test_the_store_survives_reopening_and_passes_integrity_check(site, db_path):
    result = await crawl_async(
        site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, max_depth=1, **FAST
    )
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    types = [r[0] for r in conn.execute("SELECT type FROM events WHERE job_id = ? ORDER BY id", (result.job_id,))]
    assert types[0] == "job_created" and types[1] == "job_started" and types[-1] == "job_completed"
    assert "page_completed" in types and "page_failed" in types and "page_skipped" in types
    html = conn.execute("SELECT html_gz FROM pages WHERE status = 'completed' LIMIT 1").fetchone()[0]
    assert __import__("zlib").decompress(html).startswith(b"<!DOCTYPE html>")


async def test_a_start_page_that_refreshes_at_once_moves_the_scope_like_a_redirect(site, db_path):
    result = await crawl_async(site.url("/moved/index.html"), db=db_path, allow_hosts=site.allow_hosts, **FAST)
    assert result.status == "completed"
    rows = by_path(db_path, result.job_id, site.base)
    assert rows["/moved/index.html"]["status"] == "skipped"
    assert rows["/moved/index.html"]["reason"] == f"meta refresh to {site.url('/docs/guide/index.html')}"
    assert rows["/docs/guide/index.html"]["status"] == "completed"
    assert rows["/docs/guide/install.html"]["status"] == "completed"  # crawled under the new scope, /docs/guide/


async def test_the_event_loop_lag_is_measured_and_recorded(site, db_path):
    from docspasta.store import open_reader

    result = await crawl_async(site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, **FAST)
    [lag] = [
        json.loads(e["payload"])
        for e in open_reader(db_path).events(result.job_id, limit=500)
        if e["type"] == "loop_lag"
    ]
    assert lag["samples"] > 0 and lag["max_ms"] >= 0 and lag["over_100ms"] >= 0


@pytest.mark.parametrize(("start", "strategy"), [("/docs/index.html", "bfs"), ("/dupes/index.html", "best-first")])
async def test_a_crawl_stored_in_postgresql_matches_one_stored_in_sqlite(db_path, pg_url, start, strategy):
    """The same site, the same settings: every page's outcome and the paste are the same
    whichever backend holds them (the duplicates site runs the redirect, near-duplicate
    and canonical rules)."""
    from fixture_server import FixtureServer

    outcomes, pastes = [], []
    for db in (db_path, pg_url):
        with FixtureServer() as server:  # a fresh server each time: flaky.html fails once per server
            result = await crawl_async(server.url(start), db=db, allow_hosts=server.allow_hosts, strategy=strategy,
                                       **FAST)  # fmt: skip
            reader = open_reader(db)
            rows = reader.pages(result.job_id)
            outcomes.append({r["url"].removeprefix(server.base): (r["status"], r["reason"] and
                             r["reason"].replace(server.base, ""), r["depth"]) for r in rows})  # fmt: skip
            pastes.append(paste_text(reader, result.job_id).replace(server.base, ""))
        assert result.status == "completed" and result.completed >= 3
    assert outcomes[0] == outcomes[1]
    assert pastes[0] == pastes[1]
