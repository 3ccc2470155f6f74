"""Refresh: a job crawled again as a new job that asks with the stored validators, takes
over what did not change without extracting it, finds what is new, and says what changed.

The site (tests/changing_site.py) is edited between crawls: pages edited, added, removed,
redirected away, failing for a moment; served with ETag, Last-Modified, neither, or a
validator the server ignores. Every test runs on both store backends where it matters.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from changing_site import ChangingSite, Page, prose
from conftest import FAST, wait_until

import docspasta
from docspasta.errors import JobNotFoundError, NotARefreshError, RefreshRefusedError
from docspasta.exports.changes import change_report, page_diff
from docspasta.exports.export import paste_text
from docspasta.records import JobStatus, PageChange, Reuse
from docspasta.store import open_reader, open_writer

KINDS = {"etag": "etag", "lm": "last-modified", "none": "none", "ignore": "ignore", "bare": "etag-bare-304"}
PAGES = ["etag", "lm", "none", "ignore", "bare", "script", "gone", "gone410", "moved", "orphan", "flaky"]


def build(site: ChangingSite, names: list[str] = PAGES) -> None:
    for name in names:
        site.put(f"/docs/{name}.html", Page(name.title(), prose(name), KINDS.get(name, "etag")))
    site.put("/docs/index.html", Page("Home", prose("home"), links=tuple(f"/docs/{n}.html" for n in names)))


def crawl(site: ChangingSite, db, **settings) -> str:
    result = docspasta.crawl(site.url("/docs/index.html"), db=db, allow_hosts=site.allow_hosts,
                             **{**FAST, "max_pages": 100, **settings})  # fmt: skip
    assert result.status == JobStatus.COMPLETED, result.error
    return result.job_id


def refresh(site: ChangingSite, db, job_id: str, **overrides) -> str:
    site.clear_log()
    result = docspasta.refresh(job_id, db=db, **overrides)
    assert result.status == JobStatus.COMPLETED, result.error
    assert result.since == job_id
    return result.job_id


def rows(db, job_id: str, site: ChangingSite) -> dict[str, dict]:
    return {r["url"].removeprefix(site.base): r for r in open_reader(db).pages(job_id)}


def paths(urls: list[str], site: ChangingSite) -> list[str]:
    return sorted(u.removeprefix(site.base) for u in urls)


@pytest.fixture
def changing():
    with ChangingSite() as server:
        yield server


def test_a_refresh_of_an_unchanged_site_asks_with_validators_and_extracts_nothing(changing, any_db):
    build(changing)
    first = crawl(changing, any_db)
    second = refresh(changing, any_db, first)

    by_path = {r.path: r for r in changing.page_requests()}
    assert set(by_path) == {"/docs/index.html", *(f"/docs/{n}.html" for n in PAGES)}  # each page asked once
    for path in ("/docs/etag.html", "/docs/bare.html", "/docs/index.html"):
        assert by_path[path].if_none_match and not by_path[path].if_modified_since  # ETag stored: If-None-Match only
        assert by_path[path].status == 304
    assert by_path["/docs/lm.html"].if_modified_since and not by_path["/docs/lm.html"].if_none_match
    assert by_path["/docs/lm.html"].status == 304
    assert not by_path["/docs/none.html"].conditional and by_path["/docs/none.html"].status == 200
    assert by_path["/docs/ignore.html"].if_none_match and by_path["/docs/ignore.html"].status == 200

    pages = rows(any_db, second, changing)
    assert all(p["status"] == "completed" for p in pages.values())
    assert {p: r["reuse"] for p, r in pages.items() if r["reuse"] != Reuse.NOT_MODIFIED} == {
        "/docs/none.html": Reuse.SAME_BYTES,  # no validators: the same bytes, not extracted again
        "/docs/ignore.html": Reuse.SAME_BYTES,  # validators ignored: the same through the hash
    }
    # the paste is whole, not a delta, and reads the same as before
    reader = open_reader(any_db)
    assert paste_text(reader, second).split("\n", 3)[3] == paste_text(reader, first).split("\n", 3)[3]

    report = change_report(reader, second)
    assert report.nothing_changed and report.unchanged == len(PAGES) + 1 and not report.entries
    third = refresh(changing, any_db, second)  # a refresh of a refresh: still nothing
    assert change_report(reader, third).to_dict() | {"job_id": None} == {
        "since": second, "added": [], "changed": [], "removed": [], "unchanged": len(PAGES) + 1,
        "job_id": None, "kept": [], "unchecked": 0,
    }  # fmt: skip


def test_the_change_report_names_exactly_the_edited_added_and_removed_pages(changing, any_db):
    build(changing)
    first = crawl(changing, any_db)
    changing.edit("/docs/etag.html", text=prose("etag, edited"))
    changing.edit("/docs/lm.html", text=prose("lm, edited"))
    changing.edit("/docs/none.html", text=prose("none, edited"))
    changing.edit("/docs/script.html", script="2")  # other bytes, the same Markdown
    changing.remove("/docs/gone.html")
    changing.edit("/docs/gone410.html", status=410)
    changing.edit("/docs/moved.html", status=301, location="http://example.org/elsewhere")
    changing.edit("/docs/flaky.html", status=503)
    changing.put("/docs/new.html", Page("New", prose("new")))
    changing.edit(
        "/docs/index.html", links=tuple(f"/docs/{n}.html" for n in PAGES if n != "orphan") + ("/docs/new.html",)
    )
    second = refresh(changing, any_db, first)

    reader = open_reader(any_db)
    report = change_report(reader, second)
    assert paths(report.urls(PageChange.CHANGED), changing) == [
        "/docs/etag.html", "/docs/index.html", "/docs/lm.html", "/docs/none.html"]  # fmt: skip
    assert paths(report.urls(PageChange.ADDED), changing) == ["/docs/new.html"]
    assert paths(report.urls(PageChange.REMOVED), changing) == ["/docs/gone.html", "/docs/gone410.html",
                                                               "/docs/moved.html"]  # fmt: skip
    assert paths(report.urls(PageChange.KEPT), changing) == ["/docs/flaky.html"]
    # unchanged: ignore, bare, script (markup only), orphan (no link left, still answers)
    assert report.unchanged == 4
    reasons = {e.url.removeprefix(changing.base): e.reason for e in report.entries}
    assert reasons["/docs/gone.html"] == "HTTP 404" and reasons["/docs/gone410.html"] == "HTTP 410"
    assert "redirect refused (out of scope" in reasons["/docs/moved.html"]
    assert "kept from the earlier crawl" in reasons["/docs/flaky.html"] and "503" in reasons["/docs/flaky.html"]

    pages = rows(any_db, second, changing)
    assert pages["/docs/orphan.html"]["status"] == "completed"
    assert pages["/docs/script.html"]["reuse"] is None  # new bytes: extracted again, found equal
    assert pages["/docs/flaky.html"]["reuse"] == Reuse.KEPT
    requests = {r.path: r for r in changing.page_requests()}
    assert requests["/docs/new.html"].conditional is False  # nothing stored to ask with
    assert requests["/docs/etag.html"].conditional and requests["/docs/etag.html"].status == 200

    entry = next(e for e in report.entries if e.url.endswith("/docs/etag.html"))
    diff = page_diff(reader, report, entry)
    assert diff.startswith("---") and "-The etag section explains step 1" in diff
    assert "+The etag, edited section explains step 1" in diff

    paste = paste_text(reader, second)  # complete: unchanged and kept pages carried over
    for text in ("step 4 of orphan", "step 4 of flaky", "step 4 of etag, edited", "step 4 of new"):
        assert text in paste
    assert "step 4 of gone" not in paste and "step 1 of etag." not in paste


def test_a_304_without_validators_keeps_the_stored_ones_for_the_next_refresh(changing, db_path):
    build(changing, ["bare"])
    first = crawl(changing, db_path)
    etag = rows(db_path, first, changing)["/docs/bare.html"]["etag"]
    second = refresh(changing, db_path, first)
    assert rows(db_path, second, changing)["/docs/bare.html"]["etag"] == etag  # the 304 carried none
    refresh(changing, db_path, second)
    assert changing.requests("/docs/bare.html")[0].if_none_match == etag


def test_no_conditional_downloads_everything_and_catches_a_server_that_reuses_its_etag(changing, any_db):
    build(changing, ["etag", "liar"])
    changing.edit("/docs/liar.html", validator="stale-etag")
    first = crawl(changing, any_db)
    changing.edit("/docs/liar.html", text=prose("liar, edited"))

    trusting = refresh(changing, any_db, first)  # the documented limit: the same ETag means a 304
    assert change_report(open_reader(any_db), trusting).nothing_changed

    forced = refresh(changing, any_db, first, conditional=False)
    assert not any(r.conditional for r in changing.page_requests())
    assert all(r.status == 200 for r in changing.page_requests())
    report = change_report(open_reader(any_db), forced)
    assert paths(report.urls(PageChange.CHANGED), changing) == ["/docs/liar.html"]
    assert rows(any_db, forced, changing)["/docs/etag.html"]["reuse"] == Reuse.SAME_BYTES  # still not re-extracted
    assert open_reader(any_db).get_job(forced).settings.conditional is False


def test_a_duplicate_stays_a_duplicate_of_the_same_page(changing, db_path):
    build(changing, ["a", "b"])
    changing.edit("/docs/b.html", text=prose("a"), title="A")  # b has a's content
    first = crawl(changing, db_path)
    before = rows(db_path, first, changing)
    duplicate = next(p for p, r in before.items() if r["duplicate_of"])
    second = refresh(changing, db_path, first)
    after = rows(db_path, second, changing)
    assert after[duplicate]["status"] == "skipped"
    assert after[duplicate]["duplicate_of"] == before[duplicate]["duplicate_of"]
    assert after[duplicate]["reuse"] == Reuse.NOT_MODIFIED
    assert change_report(open_reader(db_path), second).nothing_changed


def test_carried_pages_count_toward_max_pages_which_a_refresh_may_raise(changing, db_path):
    build(changing, [f"p{i}" for i in range(9)])
    first = crawl(changing, db_path, max_pages=5)
    changing.put("/docs/p9.html", Page("P9", prose("p9")))
    same = refresh(changing, db_path, first)
    assert open_reader(db_path).get_job(same).completed == 5
    bigger = refresh(changing, db_path, first, max_pages=8)
    job = open_reader(db_path).get_job(bigger)
    assert job.completed == 8 and job.settings.max_pages == 8
    pages = rows(db_path, bigger, changing)
    assert (
        sum(r["reuse"] == Reuse.NOT_MODIFIED for r in pages.values()) == 5
    )  # the first crawl's five, not fetched whole
    assert len(change_report(open_reader(db_path), bigger).urls(PageChange.ADDED)) == 3


def test_sitemap_lastmod_after_the_earlier_crawl_is_checked_first(changing, db_path):
    names = [f"p{i}" for i in range(6)]
    build(changing, names)
    changing.sitemap = {f"/docs/{n}.html": time.time() - 7200 for n in names}
    first = crawl(changing, db_path, concurrency=1, batch_size=1)
    for n in ("p4", "p5"):
        changing.edit(f"/docs/{n}.html", text=prose(n + " again"))
        changing.sitemap[f"/docs/{n}.html"] = time.time() + 5
    refresh(changing, db_path, first)
    order = [r.path for r in changing.page_requests() if r.path != "/docs/index.html"]
    assert order[:2] == ["/docs/p4.html", "/docs/p5.html"]


def test_refreshing_a_running_unknown_or_non_refresh_job_is_refused_clearly(changing, any_db):
    build(changing, ["a"])
    with open_writer(any_db) as store:
        from docspasta.settings import CrawlSettings

        pending = store.create_job(CrawlSettings(url=changing.url("/docs/index.html")))
        with pytest.raises(
            RefreshRefusedError, match=f"job {pending} is pending: a refresh needs a job that has ended"
        ):
            store.create_refresh(pending)
        with pytest.raises(JobNotFoundError, match="no job 'nope'"):
            store.create_refresh("nope")
    first = crawl(changing, any_db)
    with pytest.raises(NotARefreshError, match=f"docspasta refresh {first}"):
        change_report(open_reader(any_db), first)
    second = refresh(changing, any_db, first)
    with open_writer(any_db) as store:
        store.delete_job(first)
    with pytest.raises(NotARefreshError, match=f"job {first}, which job {second} refreshed, was deleted"):
        change_report(open_reader(any_db), second)
    assert open_reader(any_db).get_job(second).completed == 2  # what the refresh stored stays


def test_a_refresh_inherits_every_setting_the_address_guard_s_included(changing, db_path):
    build(changing, ["a"])
    first = crawl(changing, db_path, max_depth=3, exclude=["*/nothing/*"], min_delay=0.01)
    earlier = open_reader(db_path).get_job(first).settings
    second = refresh(changing, db_path, first)
    assert open_reader(db_path).get_job(second).settings == earlier
    assert earlier.allow_hosts == changing.allow_hosts


# -- the command line -------------------------------------------------------------------


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "docspasta", *args], capture_output=True, text=True, timeout=timeout)


def test_the_cli_refreshes_reports_and_exports_what_changed(changing, db_path):
    build(changing, ["a", "b"])
    start = changing.url("/docs/index.html")
    crawled = cli("crawl", start, "--db", str(db_path), "--allow-host", changing.allow_hosts[0], "--json", "--quiet")
    first = json.loads(crawled.stdout)
    changing.edit("/docs/a.html", text=prose("a, edited"))

    done = cli("refresh", first["job_id"], "--db", str(db_path), "--json", "--quiet")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert set(summary) == set(first) and summary["job_id"] != first["job_id"]
    assert summary["since"] == first["job_id"] and summary["completed"] == 3

    report = cli("changes", summary["job_id"], "--db", str(db_path), "--json")
    assert report.returncode == 0, report.stderr
    assert json.loads(report.stdout) | {"job_id": None} == {
        "since": first["job_id"], "added": [], "changed": [changing.url("/docs/a.html")], "removed": [],
        "unchanged": 2, "job_id": None, "kept": [], "unchecked": 0,
    }  # fmt: skip
    assert "0 added, 1 changed, 0 removed, 2 unchanged" in report.stderr

    md = cli("changes", summary["job_id"], "--db", str(db_path))
    assert md.stdout.startswith("# What changed in Home since ")
    assert "## Changed pages" in md.stdout and "step 4 of a, edited" in md.stdout and "step 1 of b" not in md.stdout
    assert "What changed: 4 lines added, 4 lines removed:\n\n````diff\n@@" in md.stdout
    lines = cli("changes", summary["job_id"], "--db", str(db_path), "--format", "jsonl").stdout.splitlines()
    record = json.loads(lines[0])
    assert record["change"] == "changed" and "+The a, edited section" in record["diff"]

    again = cli("crawl", start, "--since", summary["job_id"], "--db", str(db_path), "--json", "--quiet",
                "--max-pages", "10")  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["since"] == summary["job_id"]


def test_the_cli_refuses_bad_refreshes_with_exit_2_and_a_message(changing, db_path):
    build(changing, ["a"])
    first = crawl(changing, db_path)
    start = changing.url("/docs/index.html")
    cases = [
        (("refresh", "nope"), "no job 'nope'"),
        (("changes", first), f"job {first} is not a refresh"),
        (
            ("crawl", start, "--since", first, "--depth", "5"),
            "only --max-pages and --no-conditional may change, not --depth",
        ),
        (("crawl", changing.url("/docs/a.html"), "--since", first), f"is a crawl of {start}, not of"),
        (("refresh", first, "--max-pages", "0"), "--max-pages: 0 is not allowed"),
        (("refresh", first, "--enqueue"), "--enqueue needs a shared PostgreSQL store"),
    ]
    for args, message in cases:
        result = cli(*args, "--db", str(db_path))
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
    assert len(open_reader(db_path).list_jobs()) == 1  # nothing stored by a refused refresh


@pytest.mark.slow
def test_a_refresh_killed_mid_crawl_resumes_like_any_job(changing, db_path):
    names = [f"p{i}" for i in range(30)]
    build(changing, names)
    first = crawl(changing, db_path)
    changing.edit("/docs/p3.html", text=prose("p3 edited"))
    changing.delay = 0.15
    proc = subprocess.Popen([sys.executable, "-m", "docspasta", "refresh", first, "--db", str(db_path), "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    reader = open_reader(db_path)

    def refresh_half_done() -> bool:
        jobs = [j for j in reader.list_jobs() if j.since_job == first]
        return bool(jobs) and jobs[0].completed >= 8

    wait_until(refresh_half_done, 60, what="the refresh to be under way")
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    second = next(j.id for j in reader.list_jobs() if j.since_job == first)
    changing.delay = 0
    resumed = cli("resume", second, "--db", str(db_path), "--json", "--quiet")
    assert resumed.returncode == 0, resumed.stderr
    report = change_report(reader, second)
    assert paths(report.urls(PageChange.CHANGED), changing) == ["/docs/p3.html"]
    assert report.unchanged == len(names) and not report.urls(PageChange.REMOVED)
