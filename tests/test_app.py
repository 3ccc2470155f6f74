"""The real Streamlit app through AppTest: real runner thread, real server, real SQLite."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import streamlit as st
from conftest import wait_until
from fixture_server import FixtureServer
from streamlit.testing.v1 import AppTest

from docspasta import CrawlSettings
from docspasta.crawl.runner import get_runner
from docspasta.store import open_reader, open_writer

ROOT = Path(__file__).parent.parent
APP = str(ROOT / "app.py")
JOBS_PAGE = str(ROOT / "pages" / "1_Jobs.py")


@pytest.fixture
def app_db(tmp_path, monkeypatch):
    db = tmp_path / "app.db"
    monkeypatch.setenv("DOCSPASTA_DB", str(db))
    monkeypatch.delenv("DOCSPASTA_HOSTED", raising=False)
    yield db
    get_runner(db).stop()
    st.cache_resource.clear()
    st.cache_data.clear()


def new_app(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def wait_done(db: Path, job_id: str, timeout: float = 60) -> None:
    wait_until(
        lambda: open_reader(db).get_job(job_id).status not in ("pending", "running"),
        timeout,
        what=f"job {job_id} to end",
    )


def start(at: AppTest, url: str, *, allow_private: bool = True, **fields) -> AppTest:
    """Fill the form and start. Fixture sites live on 127.0.0.1, so the guard is opened
    explicitly with the checkbox (where the dashboard offers it: not when hosted)."""
    at.text_input(key="f_url").set_value(url)
    at.number_input(key="f_timeout").set_value(1.0)
    if allow_private and _has(at, "f_allow_private"):
        at.checkbox(key="f_allow_private").check()
    for key, value in fields.items():
        at.number_input(key=key).set_value(value)
    return at.button(key="f_start").click().run()


def _has(at: AppTest, key: str) -> bool:
    return any(getattr(w, "key", None) == key for w in _all(at))


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in [*at.error, *at.warning, *at.info, *at.caption, *at.markdown])


def test_start_watch_inspect_and_take_the_paste(site, app_db):
    at = start(new_app(), site.url("/docs/index.html"))
    assert not at.exception and not at.error
    [job] = open_reader(app_db).list_jobs()
    assert at.query_params["job"] == [job.id] or at.query_params["job"] == job.id
    wait_done(app_db, job.id)
    at.run()
    assert not at.exception
    assert at.get("progress")[0].value == 100
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Completed"] == "10" and metrics["Failed"] == "3"
    [chart] = [c for c in _all(at) if c.type == "vega_lite_chart"]
    assert "quality score" in chart.proto.spec and '"pages": 10' not in chart.proto.spec
    assert len(at.dataframe) >= 3  # events, skip reasons, pages
    pages_table = frame_with(at, "tokens")
    assert len(pages_table) == 13  # completed + failed, the default filter
    preview = at.selectbox(key="jv_preview")
    preview.select(site.url("/docs/guide/config.html")).run()
    assert 'theme = "dark"' in at.code[0].value
    assert any("Quality" in c.value for c in at.caption)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == [
        "Download paste.md",
        "Download llms.txt",
        "Download llms-full.txt",
        "Download pages.jsonl",
        "Download pages.zip",
    ]
    paste = at.code[-1].value
    assert paste.startswith("# Widgetry docs\n") and paste.count("\nSource: ") == 10
    # re-tuning the threshold changes the paste without a re-crawl
    at.slider(key="jv_threshold").set_value(100).run()
    assert "\nSource: " not in at.code[-1].value


def test_invalid_input_is_shown_by_its_field_and_nothing_is_submitted(app_db):
    at = new_app()
    at.text_input(key="f_url").set_value("ftp://example.org/docs/")
    at.text_area(key="f_include").set_value("/docs/**\n")
    at.button(key="f_start").click().run()
    assert [e.value for e in at.error] == [
        "url: 'ftp://example.org/docs/' is not allowed; expected an http:// or https:// URL (got ftp://)"
    ]
    assert not app_db.exists() or open_reader(app_db).list_jobs() == []
    assert "job" not in at.query_params


def test_presets_fill_batch_concurrency_and_timeout(app_db):
    at = new_app()
    at.selectbox(key="f_preset").select("Large site").run()
    assert (at.number_input(key="f_batch_size").value, at.number_input(key="f_concurrency").value) == (50, 50)
    assert at.number_input(key="f_timeout").value == 3.0
    at.selectbox(key="f_preset").select("Careful").run()
    assert at.number_input(key="f_batch_size").value == 10


def test_a_link_reopens_the_job_from_the_store(site, app_db):
    start(new_app(), site.url("/docs/guide/index.html"))
    [job] = open_reader(app_db).list_jobs()
    wait_done(app_db, job.id)
    st.cache_resource.clear()  # as after a server restart: nothing in memory but the store
    again = new_app(job=job.id)
    assert not again.exception
    assert again.get("progress")[0].value == 100
    # the record read after the job ended, never the snapshot taken at submission
    assert (
        {m.label: m.value for m in again.metric}["Completed"]
        == str(open_reader(app_db).get_job(job.id).completed)
        == "5"
    )


@pytest.mark.parametrize(
    ("path", "message"),
    [("/start-404/", "The crawl failed: start page failed: HTTP 404"), (None, "connection failed")],
)
def test_failing_start_pages_end_with_a_clear_message(site, app_db, path, message):
    if path is None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            url = f"http://127.0.0.1:{s.getsockname()[1]}/"
    else:
        url = site.url(path)
    at = start(new_app(), url)
    [job] = open_reader(app_db).list_jobs()
    wait_done(app_db, job.id)
    at.run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]


def test_cancel_from_the_job_view(app_db):
    with FixtureServer(delay=0.2) as slow:
        at = start(new_app(), slow.url("/docs/index.html"), f_concurrency=2, f_batch_size=2, f_max_depth=3)
        [job] = open_reader(app_db).list_jobs()
        deadline = time.monotonic() + 30
        while open_reader(app_db).get_job(job.id).completed < 1:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        at.run()
        at.button(key="jv_cancel").click().run()
        wait_done(app_db, job.id)
    assert open_reader(app_db).get_job(job.id).status == "cancelled"
    at.run()
    assert at.button(key="jv_resume")  # a cancelled job can be taken up again


def test_jobs_page_lists_opens_and_deletes(site, app_db):
    start(new_app(), site.url("/docs/guide/index.html"))
    [job] = open_reader(app_db).list_jobs()
    wait_done(app_db, job.id)
    page = AppTest.from_file(JOBS_PAGE, default_timeout=30).run()
    assert not page.exception
    table = frame_with(page, "start URL")
    assert list(table["job"]) == [job.id] and list(table["status"]) == ["completed"]
    assert page.get("download_button")
    page.button(key="jobs_delete").click().run()
    assert open_reader(app_db).list_jobs() == []
    assert any("No crawls yet" in i.value for i in page.info)


def test_hosted_visitors_see_only_their_own_jobs(site, app_db, monkeypatch):
    monkeypatch.setenv("DOCSPASTA_HOSTED", "1")
    with open_writer(app_db) as store:
        theirs = store.create_job(CrawlSettings(url=site.url("/docs/")), owner="someone-else")
    at = new_app(job=theirs)
    assert any(f"Cannot open job {theirs}" in e.value for e in at.error)
    mine = start(new_app(), site.url("/docs/guide/index.html"))
    token = mine.session_state["owner"]
    page = AppTest.from_file(JOBS_PAGE, default_timeout=30)
    page.query_params["owner"] = token
    page.run()
    listed = list(frame_with(page, "start URL")["job"])
    assert listed == [j.id for j in open_reader(app_db).list_jobs(owner=token)] and listed
    assert theirs not in listed
    for job in open_reader(app_db).list_jobs(owner=token):
        wait_done(app_db, job.id)


def frame_with(at: AppTest, column: str):
    """The one dataframe on screen that has `column` (dataframes are not keyed widgets)."""
    [frame] = [d.value for d in at.dataframe if column in d.value.columns]
    return frame


def _all(at: AppTest):
    stack = list(at.main.children.values())
    while stack:
        node = stack.pop()
        yield node
        children = getattr(node, "children", None)
        if children:
            stack.extend(children.values())


def test_strategy_and_processing_reach_the_job(site, app_db):
    at = new_app()
    at.selectbox(key="f_strategy").select("best-first")
    at.selectbox(key="f_processing").select("per-url")
    start(at, site.url("/docs/guide/index.html"))
    [job] = open_reader(app_db).list_jobs()
    assert (job.settings.strategy, job.settings.processing) == ("best-first", "per-url")
    wait_done(app_db, job.id)


COMPARE_PAGE = str(ROOT / "pages" / "2_Compare.py")


def test_compare_page_runs_variants_and_shows_them_side_by_side(site, app_db):
    page = AppTest.from_file(COMPARE_PAGE, default_timeout=30).run()
    page.text_input(key="cmp_url").set_value(site.url("/docs/index.html"))
    page.checkbox(key="cmp_allow_private").check()
    page.number_input(key="cmp_max_pages").set_value(4)
    page.number_input(key="cmp_timeout").set_value(1.0)
    page.text_area(key="cmp_variants").set_value("strategy=bfs\nstrategy=best-first,processing=per-url")
    page.button(key="cmp_start").click().run()
    assert not page.exception and not page.error
    jobs = open_reader(app_db).list_jobs()
    assert len(jobs) == 2 and {j.label for j in jobs} == {"strategy=bfs", "strategy=best-first,processing=per-url"}
    for job in jobs:
        wait_done(app_db, job.id)
    page.run()
    assert not page.exception
    assert [p.value for p in page.get("progress")] == [100, 100]
    metrics = frame_with(page, "pages above threshold")
    assert list(metrics["variant"]) == ["strategy=bfs", "strategy=best-first,processing=per-url"]
    assert list(metrics["pages"]) == [4, 4]
    assert any("Best paste:" in s.value for s in page.success)
    assert len([c for c in _all(page) if c.type == "vega_lite_chart"]) == 3  # progress, quality, depth


def test_compare_page_refuses_a_bad_variant(app_db):
    page = AppTest.from_file(COMPARE_PAGE, default_timeout=30).run()
    page.text_input(key="cmp_url").set_value("https://docs.example.org/")
    page.text_area(key="cmp_variants").set_value("strategy=bfs\nstrategy=sideways")
    page.button(key="cmp_start").click().run()
    assert [e.value for e in page.error] == [
        "variant 'strategy=sideways': strategy: 'sideways' is not allowed; expected one of bfs, dfs, sitemap-first, "
        "best-first"
    ]
    assert not app_db.exists() or open_reader(app_db).list_jobs() == []


def test_scope_preview_from_the_form_lists_kept_and_dropped_urls(site, app_db):
    at = new_app()
    at.text_input(key="f_url").set_value(site.url("/mapped/index.html"))
    at.number_input(key="f_timeout").set_value(1.0)
    at.checkbox(key="f_allow_private").check()
    at.text_area(key="f_exclude").set_value("**/c.html")
    at.button(key="f_preview").click().run()
    assert not at.exception and not at.error
    assert any("4 kept under /mapped/" in c.value for c in at.caption)
    assert "c.html  [drop: out of scope: excluded by **/c.html; sitemap]" in at.code[0].value
    assert not app_db.exists() or open_reader(app_db).list_jobs() == []  # a preview stores nothing


def test_where_each_page_came_from_is_shown_in_the_preview_table_and_page(site, app_db):
    at = new_app()
    at.text_input(key="f_url").set_value(site.url("/publisher/index.html"))
    at.number_input(key="f_timeout").set_value(1.0)
    at.checkbox(key="f_allow_private").check()
    at.button(key="f_preview").click().run()
    assert not at.exception and not at.error
    published = "\n".join(m.value for m in at.markdown)
    assert f"llms.txt: {site.url('/publisher/llms.txt')}" in published and "lists 5 URLs" in published
    at = new_app()
    at.selectbox(key="f_render").set_value("never")
    at = start(at, site.url("/publisher/index.html"))
    [job] = open_reader(app_db).list_jobs()
    wait_done(app_db, job.id)
    at.run()
    table = frame_with(at, "source")
    sources = dict(zip(table["url"], table["source"], strict=True))
    assert sources[site.url("/publisher/guide.html")] == "publisher-markdown"
    assert sources[site.url("/publisher/faq.html")] == "html"
    at.selectbox(key="jv_preview").select(site.url("/publisher/faq.html")).run()
    [caption] = [c.value for c in at.caption if c.value.startswith("Source: ")]
    assert caption.startswith("Source: html · extractor: ") and "Markdown twin not used: " in caption


def test_the_address_guard_is_closed_until_the_box_is_ticked(site, app_db):
    at = start(new_app(), site.url("/docs/index.html"), allow_private=False)
    [job] = open_reader(app_db).list_jobs()
    wait_done(app_db, job.id)
    at.run()
    [error] = [e.value for e in at.error]
    assert "blocked: non-public address (127.0.0.1)" in error and "Allow private/local addresses" in error
    assert site.fetched() == []  # not even robots.txt reached the server
    # no page completed: a sentence instead of a histogram of zero-height bars
    assert any("No page has completed yet" in i.value for i in at.info)
    assert at.get("arrow_vega_lite_chart") == []


def test_a_hosted_refusal_says_public_sites_only(site, app_db, monkeypatch):
    monkeypatch.setenv("DOCSPASTA_HOSTED", "1")
    at = start(new_app(), site.url("/docs/index.html"))
    [job] = open_reader(app_db).list_jobs()
    wait_done(app_db, job.id)
    at.run()
    [error] = [e.value for e in at.error]
    assert "blocked: non-public address (127.0.0.1)" in error
    assert "hosted dashboard crawls public sites only" in error
    assert "--allow" not in error and "Allow private/local addresses" not in error  # nothing a visitor can use
    assert site.fetched() == []


def test_allow_private_env_ticks_the_box_locally(app_db, monkeypatch):
    monkeypatch.setenv("DOCSPASTA_ALLOW_PRIVATE", "1")
    assert new_app().checkbox(key="f_allow_private").value is True


def test_hosted_dashboards_never_open_the_guard(site, app_db, monkeypatch):
    monkeypatch.setenv("DOCSPASTA_HOSTED", "1")
    monkeypatch.setenv("DOCSPASTA_ALLOW_PRIVATE", "1")  # ignored when hosted
    at = new_app()
    assert not _has(at, "f_allow_private")
    page = AppTest.from_file(COMPARE_PAGE, default_timeout=30).run()
    assert not _has(page, "cmp_allow_private")
    page.text_input(key="cmp_url").set_value(site.url("/docs/index.html"))
    page.text_area(key="cmp_variants").set_value("strategy=bfs\nstrategy=dfs,allow_private=true")
    page.button(key="cmp_start").click().run()
    assert [e.value for e in page.error] == [
        "allow_private: True is not allowed; expected false: this server is hosted, so private and local "
        "addresses stay closed"
    ]
    assert open_reader(app_db).list_jobs() == [] and site.fetched() == []


def test_hosted_dashboards_render_nothing_unless_configured_to(site, app_db, monkeypatch):
    monkeypatch.setenv("DOCSPASTA_HOSTED", "1")
    at = new_app()
    assert not _has(at, "f_render")  # Chromium on a 1 GB container: not offered
    page = AppTest.from_file(COMPARE_PAGE, default_timeout=30).run()
    page.text_input(key="cmp_url").set_value(site.url("/docs/index.html"))
    page.text_area(key="cmp_variants").set_value("strategy=bfs\nstrategy=dfs,render=always")
    page.button(key="cmp_start").click().run()
    [error] = [e.value for e in page.error]
    assert error.startswith("render: 'always' is not allowed") and "DOCSPASTA_RENDER=1" in error
    assert open_reader(app_db).list_jobs() == [] and site.fetched() == []
    get_runner(app_db).stop()
    st.cache_resource.clear()
    monkeypatch.setenv("DOCSPASTA_RENDER", "1")
    assert new_app().selectbox(key="f_render").value == "auto"


def test_the_job_view_reads_in_the_sites_order_and_offers_url_order(site, app_db):
    at = start(new_app(), site.url("/book/index.html"), f_max_depth=3)
    [job] = open_reader(app_db).list_jobs()
    wait_done(app_db, job.id)
    at.run()
    assert not at.exception
    pages_table = frame_with(at, "tokens")
    completed = [t.split(" — ")[0] for t, s in zip(pages_table["title"], pages_table["status"], strict=True)
                 if s == "completed"]  # fmt: skip
    assert completed[:4] == ["Bookish 1.0 documentation", "Contents", "What is new", "Tutorial"]
    paste = at.code[-1].value
    assert paste.index("## Tutorial") < paste.index("## C API")
    at.radio(key="jv_order").set_value("url").run()
    by_url = at.code[-1].value
    assert by_url.index("## C API") < by_url.index("## Tutorial")
    # generated pages are left out unless the form's box is ticked
    reasons = {r["reason"] for r in open_reader(app_db).pages(job.id)}
    assert "generated page (index)" in reasons


def test_a_hosted_preview_refusal_says_public_sites_only(site, app_db, monkeypatch):
    monkeypatch.setenv("DOCSPASTA_HOSTED", "1")
    at = new_app()
    at.text_input(key="f_url").set_value(site.url("/mapped/index.html"))
    at.number_input(key="f_timeout").set_value(1.0)
    at.button(key="f_preview").click().run()
    [error] = [e.value for e in at.error]
    assert "blocked: non-public address (127.0.0.1)" in error and "crawls public sites only" in error
    assert "--allow" not in error and site.fetched() == []


def test_the_dashboard_runs_on_a_postgresql_store(site, pg_url, monkeypatch):
    """The `db` setting may name PostgreSQL: the same form, job view and paste (crawls run in the app when told to)."""
    monkeypatch.setenv("DOCSPASTA_DB", pg_url)
    monkeypatch.setenv("DOCSPASTA_RUN_CRAWLS", "1")
    monkeypatch.delenv("DOCSPASTA_HOSTED", raising=False)
    try:
        at = start(new_app(), site.url("/docs/guide/index.html"))
        assert not at.exception and not at.error
        [job] = open_reader(pg_url).list_jobs()
        wait_done(pg_url, job.id)
        at.run()
        assert not at.exception and at.get("progress")[0].value == 100
        done = open_reader(pg_url).get_job(job.id)
        assert done.status == "completed" and done.completed == 5  # the pages under /docs/guide/
        assert {m.label: m.value for m in at.metric}["Completed"] == "5"
        assert at.code[-1].value.count("\nSource: ") == 5
    finally:
        get_runner(pg_url).stop()
        st.cache_resource.clear()
        st.cache_data.clear()


def test_over_postgresql_the_dashboard_leaves_crawls_to_workers(site, pg_url, monkeypatch):
    """By default a dashboard on PostgreSQL is a front end: the job waits for a worker,
    says so, and shows the worker's progress and paste once one runs it."""
    import subprocess
    import sys

    monkeypatch.setenv("DOCSPASTA_DB", pg_url)
    monkeypatch.delenv("DOCSPASTA_RUN_CRAWLS", raising=False)
    monkeypatch.delenv("DOCSPASTA_HOSTED", raising=False)
    try:
        at = start(new_app(), site.url("/docs/guide/index.html"))
        assert not at.exception and not at.error
        [job] = open_reader(pg_url).list_jobs()
        assert job.status == "pending" and job.run_by == "workers"
        assert any("Waiting for a worker" in i.value and "docspasta worker --db" in i.value for i in at.info)
        assert site.fetched() == []  # the app itself fetched nothing
        worker = subprocess.run([sys.executable, "-m", "docspasta", "worker", "--db", pg_url, "--exit-when-idle",
                                 "--extract-workers", "1"], capture_output=True, text=True, timeout=120)  # fmt: skip
        assert worker.returncode == 0, worker.stderr
        at.run()
        assert not at.exception and at.get("progress")[0].value == 100
        assert open_reader(pg_url).get_job(job.id).completed == 5
        assert at.code[-1].value.count("\nSource: ") == 5
    finally:
        get_runner(pg_url).stop()
        st.cache_resource.clear()
        st.cache_data.clear()


def test_an_unreachable_store_is_a_message_not_a_traceback(monkeypatch):
    monkeypatch.setenv("DOCSPASTA_DB", "postgresql://nobody:hunter2@127.0.0.1:9/none")
    monkeypatch.delenv("DOCSPASTA_HOSTED", raising=False)
    try:
        for page in (APP, JOBS_PAGE):
            at = AppTest.from_file(page, default_timeout=30).run()
            assert not at.exception
            [error] = [e.value for e in at.error]
            assert "cannot connect to the database at postgresql://nobody:***@127.0.0.1:9/none" in error
            assert "hunter2" not in error and "DOCSPASTA_DB" in error
    finally:
        st.cache_resource.clear()


def test_refresh_from_the_job_view_and_the_jobs_page_shows_what_changed(app_db):
    from changing_site import ChangingSite, Page, prose

    import docspasta

    with ChangingSite() as changing:
        changing.put("/docs/a.html", Page("A", prose("a")))
        changing.put("/docs/b.html", Page("B", prose("b")))
        changing.put("/docs/index.html", Page("Home", prose("home"), links=("/docs/a.html", "/docs/b.html")))
        first = docspasta.crawl(changing.url("/docs/index.html"), db=app_db, allow_hosts=changing.allow_hosts,
                                timeout=1.0, retries=0).job_id  # fmt: skip
        changing.edit("/docs/a.html", text=prose("a, edited"))
        changing.remove("/docs/b.html")

        at = new_app(job=first)
        assert not _has(at, "cv_table")  # a first crawl has no changes view
        at.button(key="jv_refresh").click().run()
        second = at.query_params["job"][0] if isinstance(at.query_params["job"], list) else at.query_params["job"]
        assert second != first and open_reader(app_db).get_job(second).since_job == first
        wait_done(app_db, second)
        at.run()
        assert not at.exception
        metrics = {m.label: m.value for m in at.metric}
        assert (metrics["Changed"], metrics["Removed"], metrics["Added"], metrics["Unchanged"]) == ("1", "1", "0", "1")
        table = frame_with(at, "change")
        assert dict(zip(table["url"], table["change"], strict=True)) == {
            changing.url("/docs/a.html"): "Changed",
            changing.url("/docs/b.html"): "Removed",
        }
        at.selectbox(key="cv_pick").set_value(changing.url("/docs/a.html")).run()
        diff = next(c.value for c in at.code if c.language == "diff")
        assert "+The a, edited section explains step 1" in diff
        assert any(b.label.startswith("Download what changed") for b in at.get("download_button"))

        page = new_app().switch_page("pages/1_Jobs.py").run()
        page.selectbox(key="jobs_pick").set_value(second).run()
        page.button(key="jobs_refresh").click().run()  # starts it and opens it on the home page
        assert not page.exception
        third = next(j for j in open_reader(app_db).list_jobs() if j.since_job == second)
        assert page.session_state["job_id"] == third.id  # AppTest does not follow switch_page: open it by link
        wait_done(app_db, third.id)
        view = new_app(job=third.id)
        assert any("Nothing changed since the earlier crawl" in s.value for s in view.success)


def test_a_hosted_dashboard_will_not_refresh_past_its_guard_or_its_page_cap(site, app_db, monkeypatch):
    import docspasta

    first = docspasta.crawl(site.url("/docs/guide/index.html"), db=app_db, allow_hosts=site.allow_hosts,
                            timeout=1.0, retries=0).job_id  # fmt: skip
    with open_writer(app_db) as store:  # as a hosted visitor's own job
        store.conn.execute("UPDATE jobs SET owner = 'visitor' WHERE id = ?", (first,))
        store.conn.commit()
    monkeypatch.setenv("DOCSPASTA_HOSTED", "1")
    at = new_app(job=first, owner="visitor")
    at.button(key="jv_refresh").click().run()
    assert any(f"Cannot refresh job {first}" in e.value and "private and local addresses stay closed" in e.value
               for e in at.error)  # fmt: skip
    big = docspasta.crawl(site.url("/docs/guide/index.html"), db=app_db, allow_hosts=site.allow_hosts,
                          timeout=1.0, retries=0, max_pages=1000).job_id  # fmt: skip
    with open_writer(app_db) as store:
        store.conn.execute("UPDATE jobs SET owner = 'visitor' WHERE id = ?", (big,))
        store.conn.commit()
    at = new_app(job=big, owner="visitor")
    at.button(key="jv_refresh").click().run()
    assert any("above this dashboard's limit of 500" in e.value for e in at.error)
    assert sorted(j.id for j in open_reader(app_db).list_jobs()) == sorted([first, big])


def test_search_on_the_job_view_previews_the_hit(site, app_db):
    at = start(new_app(), site.url("/docs/index.html"))
    [job] = open_reader(app_db).list_jobs()
    wait_done(app_db, job.id)
    at.run()
    at.text_input(key="jv_find_query").set_value("version number").run()
    assert not at.exception
    install = site.url("/docs/guide/install.html")
    heading = next(m.value for m in at.markdown if m.value.startswith("**Installing"))
    assert heading == "**Installing**"  # the first hit: the section that says "version number"
    assert any(c.value == install for c in at.caption)
    assert any("version**" in m.value and "**number**" in m.value for m in at.markdown)  # the words marked
    assert at.selectbox(key="jv_preview").value != install
    at.button(key="jv_find_open_0").click().run()
    assert not at.exception
    assert at.selectbox(key="jv_preview").value == install
    assert "python -m pip install widgetry" in at.code[0].value  # the preview shows the page's Markdown
    # a query with no words is a message, never a traceback; so are words nothing holds
    at.text_input(key="jv_find_query").set_value("?!").run()
    assert not at.exception
    assert any("has no words to search for" in i.value for i in at.info)
    at.text_input(key="jv_find_query").set_value("zyzzyva").run()
    assert any("No section matches “zyzzyva”" in i.value for i in at.info)


def test_search_on_the_jobs_page_opens_the_hit_on_the_home_page(site, app_db):
    start(new_app(), site.url("/docs/guide/index.html"))
    [job] = open_reader(app_db).list_jobs()
    wait_done(app_db, job.id)
    page = new_app().switch_page("pages/1_Jobs.py").run()
    page.text_input(key="jobs_find_query").set_value("theme dark").run()
    assert not page.exception
    config = site.url("/docs/guide/config.html")
    assert f"{config} · job `{job.id}`" in [c.value for c in page.caption]
    assert page.markdown[0].value.startswith("**Configuration")
    page.button(key="jobs_find_open_0").click().run()
    assert not page.exception
    assert page.session_state["job_id"] == job.id  # AppTest does not follow switch_page: go there by hand
    page.switch_page("app.py").run()
    assert not page.exception
    assert page.selectbox(key="jv_preview").value == config
    assert 'theme = "dark"' in page.code[0].value


def test_a_hosted_visitor_searches_only_their_own_crawls(site, app_db, monkeypatch):
    import docspasta

    def crawl(path: str, owner: str) -> str:
        job_id = docspasta.crawl(site.url(path), db=app_db, allow_hosts=site.allow_hosts, timeout=1.0,
                                 retries=0).job_id  # fmt: skip
        with open_writer(app_db) as store:
            store.conn.execute("UPDATE jobs SET owner = ? WHERE id = ?", (owner, job_id))
            store.conn.commit()
        return job_id

    mine = crawl("/docs/guide/index.html", "visitor")
    crawl("/docs/reference/index.html", "someone-else")  # the best match for "command line" is theirs
    monkeypatch.setenv("DOCSPASTA_HOSTED", "1")
    page = AppTest.from_file(JOBS_PAGE, default_timeout=30)
    page.query_params["owner"] = "visitor"
    page.run()
    page.text_input(key="jobs_find_query").set_value("command line").run()
    assert not page.exception
    shown = [c.value for c in page.caption if " · job `" in c.value]
    assert shown == [f"{site.url('/docs/guide/install.html')} · job `{mine}`"]
