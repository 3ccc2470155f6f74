"""Where a page's content comes from, end to end on fixture sites served on 127.0.0.1: the
site's own Markdown (llms.txt, .md twins, some broken), a Docsify site crawled from its
Markdown files, and a single-page app rendered in headless Chromium whose scripts try to
reach addresses the crawl must refuse."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import conftest
import pytest
from conftest import pages_by_path
from fixture_server import SITES, FixtureServer

from docspasta import crawl_async, refresh_async
from docspasta.exports.changes import change_report
from docspasta.exports.export import paste_text
from docspasta.records import PageChange
from docspasta.store import open_reader

FAST = {**conftest.FAST, "retries": 0, "concurrency": 4, "batch_size": 4, "max_pages": 50}
AUTHORS = "Written in Markdown by the authors."
FROM_HTML = "Rendered from HTML."


def _events(db, job_id: str, kind: str) -> list[dict]:
    """The job's events of one kind, payloads parsed."""
    found = [dict(e) for e in open_reader(db).events(job_id) if e["type"] == kind]
    for e in found:
        e["payload"] = json.loads(e["payload"]) if isinstance(e["payload"], str) else e["payload"]
    return found


def _require_chromium() -> None:
    if shutil.which("chromium") or shutil.which("chromium-browser"):
        return
    message = "chromium is not installed (apt-get install -y chromium); render test not run"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


# -- publisher Markdown -----------------------------------------------------------------


async def test_twins_are_used_where_good_and_broken_ones_fall_back_with_the_reason(any_db):
    with FixtureServer() as server:
        result = await crawl_async(server.url("/publisher/index.html"), db=any_db, allow_hosts=server.allow_hosts,
                                   render="never", **FAST)  # fmt: skip
        requested = server.fetched()
    assert result.status == "completed"
    pages = pages_by_path(any_db, result.job_id, server.url("/publisher/"))
    reader = open_reader(any_db)

    def markdown(path: str) -> str:
        return reader.page_detail(result.job_id, server.url("/publisher/" + path)).markdown

    for good in ("index.html", "guide.html", "api.html", "tutorial.html"):  # tutorial's twin: listed by llms.txt
        row = pages[good]
        assert (row["status"], row["source"], row["extractor"]) == ("completed", "publisher-markdown", "markdown"), good
        assert AUTHORS in markdown(good) and FROM_HTML not in markdown(good)
        assert row["title"] and not row["title"].startswith("http")
    notes = {path: pages[path]["source_note"] or "" for path in ("install.html", "faq.html", "changelog.html")}
    assert "a stub" in notes["install.html"]
    assert "404" in notes["faq.html"]
    assert "an HTML page, not Markdown" in notes["changelog.html"]
    for fallback in notes:
        assert (pages[fallback]["status"], pages[fallback]["source"]) == ("completed", "html"), fallback
        assert FROM_HTML in markdown(fallback)

    # llms.txt: read at the scope root; what it lists joins the crawl (extra.md is linked from nowhere else)
    (read,) = _events(any_db, result.job_id, "llms_txt_read")
    assert read["payload"]["files"] == [server.url("/publisher/llms.txt")]
    assert read["payload"]["full"] == [server.url("/publisher/llms-full.txt")]
    assert pages["extra.md"]["found_by"] == "llms.txt" and pages["extra.md"]["source"] == "publisher-markdown"
    assert "/publisher/llms-full.txt" not in requested  # noted with a HEAD, never downloaded

    # each page's text is in the paste once, whichever way its Markdown was reached
    paste = paste_text(reader, result.job_id)
    for twin in ("index.md", "guide.md", "api.md", "extra.md", "tutorial.html.md"):  # its longest prose line
        line = max((ln for ln in (SITES / "publisher" / twin).read_text().splitlines() if "](" not in ln), key=len)
        assert paste.count(line) == 1, (twin, line)
    assert f"[guide]({server.url('/publisher/guide.html')})" in paste  # a twin's relative links made absolute
    assert pages["tutorial.html.md"]["found_by"] == "llms.txt" and pages["tutorial.html.md"]["status"] != "completed"
    twin_rows = [row for path, row in pages.items() if path.endswith(".md") and path != "extra.md"]
    assert all(row["status"] != "completed" or row["duplicate_of"] for row in twin_rows), twin_rows


async def test_without_publisher_markdown_no_markdown_is_requested(db_path):
    with FixtureServer() as server:
        result = await crawl_async(server.url("/publisher/index.html"), db=db_path, allow_hosts=server.allow_hosts,
                                   render="never", publisher_markdown=False, **FAST)  # fmt: skip
        requested = server.fetched()
    pages = pages_by_path(db_path, result.job_id, server.url("/publisher/"))
    completed = {p: row for p, row in pages.items() if row["status"] == "completed"}
    html_pages = {"index.html", "guide.html", "api.html", "tutorial.html", "install.html", "faq.html", "changelog.html"}
    assert set(completed) == html_pages
    assert {row["source"] for row in completed.values()} == {"html"}
    assert not [p for p in requested if p.endswith((".md", "llms.txt"))], requested


async def test_docsify_site_is_crawled_from_its_markdown_files_without_a_browser(db_path):
    with FixtureServer() as server:
        result = await crawl_async(server.url("/docsify/"), db=db_path, allow_hosts=server.allow_hosts, **FAST)
        requested = server.fetched()
    pages = pages_by_path(db_path, result.job_id, server.url("/docsify/"))
    completed = {p: row for p, row in pages.items() if row["status"] == "completed"}
    assert set(completed) == {"", "quickstart.md", "guide/configuration.md", "guide/plugins.md", "deploy.md"}
    assert {row["source"] for row in completed.values()} == {"publisher-markdown"}
    assert pages["_sidebar.md"]["status"] == "skipped" and "navigation" in pages["_sidebar.md"]["reason"]
    assert pages["README.md"]["status"] == "skipped" and "Markdown twin" in pages["README.md"]["reason"]
    assert open_reader(db_path).get_job(result.job_id).markdown_base == server.url("/docsify/")
    assert not _events(db_path, result.job_id, "render")  # no browser was needed
    assert "/docsify/lib/docsify.min.js" not in requested
    paste = paste_text(open_reader(db_path), result.job_id)
    assert "# Configuration" in paste or "Configuration" in paste
    assert paste.index("Docsify Fixture") < paste.index("Quick start")  # the home page leads


def test_map_shows_what_the_site_publishes():
    with FixtureServer() as server:
        run = subprocess.run(
            [sys.executable, "-m", "docspasta", "map", server.url("/publisher/index.html"), "--json",
             "--link-depth", "2", "--allow-host", server.allow_hosts[0]],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert run.returncode == 0, run.stderr
    published = json.loads(run.stdout)["published"]
    assert published["llms_txt"] == [server.url("/publisher/llms.txt")]
    assert published["llms_urls"] == 5
    assert published["twins"][server.url("/publisher/index.html")] == server.url("/publisher/index.md")
    tutorial = server.url("/publisher/tutorial.html")  # names no twin; llms.txt lists tutorial.html.md
    assert published["twins"][tutorial] == tutorial + ".md"


# -- rendering ----------------------------------------------------------------------------

SPA_PAGES = {"index.html": "Index", "intro.html": "Intro", "usage.html": "Usage", "api.html": "API"}
SPA_ROBOTS = "User-agent: *\nDisallow: /spa/private/\n"


@pytest.fixture
def spa(tmp_path):
    """The SPA fixture copied under a served root, its tracker aimed at a sentinel server
    on another port that no request may reach."""
    root = tmp_path / "sites"
    shutil.copytree(SITES / "spa", root / "spa")
    with FixtureServer(root=tmp_path) as sentinel:
        tracker = root / "spa" / "tracker.js"
        tracker.write_text(tracker.read_text().replace("__SENTINEL__", sentinel.base))
        with FixtureServer(root=root, robots=SPA_ROBOTS) as server:
            yield server, sentinel


@pytest.mark.browser
async def test_a_refresh_renders_again_what_was_rendered_and_sees_its_data_change(spa, db_path):
    _require_chromium()
    server, _ = spa
    first = await crawl_async(server.url("/spa/index.html"), db=db_path, allow_hosts=server.allow_hosts,
                              render="auto", **FAST)  # fmt: skip
    data = server.root / "spa" / "data" / "intro.json"
    data.write_text(data.read_text().replace("Intro content loaded by script.", "Intro content, revised."))
    server.requests.clear()
    second = await refresh_async(first.job_id, db=db_path)  # the shells answer 304: only their data changed
    report = change_report(open_reader(db_path), second.job_id)
    assert report.urls(PageChange.CHANGED) == [server.url("/spa/intro.html")]
    assert report.unchanged == 3 and not report.urls(PageChange.REMOVED)
    markdown = open_reader(db_path).page_detail(second.job_id, server.url("/spa/intro.html")).markdown
    assert "Intro content, revised." in markdown
    assert server.fetched().count("/spa/data/intro.json") == 1


@pytest.mark.browser
async def test_spa_pages_are_rendered_and_their_scripts_refused_where_they_may_not_go(spa, db_path):
    _require_chromium()
    server, sentinel = spa
    result = await crawl_async(server.url("/spa/index.html"), db=db_path, allow_hosts=server.allow_hosts,
                               render="auto", **FAST)  # fmt: skip
    assert result.status == "completed"
    reader = open_reader(db_path)
    pages = pages_by_path(db_path, result.job_id, server.url("/spa/"))
    for path, name in SPA_PAGES.items():  # four identical shells, four different pages once rendered
        row = pages[path]
        assert (row["status"], row["source"]) == ("completed", "rendered"), (path, row["reason"])
        assert not row["duplicate_of"]
        markdown = reader.page_detail(result.job_id, server.url("/spa/" + path)).markdown
        assert f"{name} content loaded by script." in markdown
    assert sentinel.fetched() == []  # the other port never heard from the browser
    requested = server.fetched()
    assert not [p for p in requested if p.endswith((".png", ".woff2"))]  # images and fonts are not fetched
    assert "/spa/private/secret.json" not in requested  # robots.txt disallows it, for scripts too
    assert "MUST-NOT-LEAK" not in paste_text(reader, result.job_id)
    refused = [r for e in _events(db_path, result.job_id, "render") for r in e["payload"]["refused"]]
    assert any("10.255.255.1" in url for url, _ in refused), refused
    assert any(url.startswith(sentinel.base) for url, _ in refused), refused
    assert any(url.endswith("/private/secret.json") and why.startswith("robots") for url, why in refused), refused
    assert "10.255.255.1" in pages["index.html"]["source_note"]
    assert requested.count("/spa/app.js") == 1  # a script every page loads is fetched once per job


async def test_render_never_leaves_an_app_shell_as_needs_javascript(spa, db_path):
    server, _ = spa
    result = await crawl_async(server.url("/spa/index.html"), db=db_path, allow_hosts=server.allow_hosts,
                               render="never", **FAST)  # fmt: skip
    pages = pages_by_path(db_path, result.job_id, server.url("/spa/"))
    assert result.completed == 0 and pages["index.html"]["reason"] == "needs JavaScript"


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docspasta", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})  # fmt: skip


def test_without_chromium_auto_degrades_with_one_event_and_always_is_refused(spa, tmp_path):
    server, _ = spa
    db = tmp_path / "nochrome.db"
    no_browser = {"PATH": str(tmp_path)}  # a machine without chromium on its PATH (python runs by its full path)
    url, allow = server.url("/spa/index.html"), ["--allow-host", server.allow_hosts[0], "--db", str(db)]
    always = _cli("crawl", url, "--render", "always", *allow, env=no_browser)
    assert always.returncode == 2 and "rendering unavailable: install chromium" in always.stderr, always.stderr
    assert not db.exists() or not open_reader(db).list_jobs()  # refused before anything was stored
    auto = _cli("crawl", url, "--render", "auto", "--json", "--timeout", "1", *allow, env=no_browser)
    summary = json.loads(auto.stdout)
    (told,) = _events(db, summary["job_id"], "render_unavailable")
    assert "install chromium" in told["payload"]["message"]
    assert summary["completed"] == 0
    assert pages_by_path(db, summary["job_id"], server.url("/spa/"))["index.html"]["reason"] == "needs JavaScript"


async def test_a_browser_that_will_not_start_stops_rendering_for_the_job_once(spa, db_path, tmp_path, monkeypatch):
    server, _ = spa
    fake = tmp_path / "chromium"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("DOCSPASTA_CHROMIUM", str(fake))  # present and executable, but no browser
    result = await crawl_async(server.url("/spa/index.html"), db=db_path, allow_hosts=server.allow_hosts,
                               render="auto", **FAST)  # fmt: skip
    (told,) = _events(db_path, result.job_id, "render_unavailable")
    assert "chromium failed to start" in told["payload"]["message"], told
    pages = pages_by_path(db_path, result.job_id, server.url("/spa/"))
    assert pages["index.html"]["status"] == "skipped" and pages["index.html"]["reason"] == "needs JavaScript"
