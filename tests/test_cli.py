"""The CLI as a user runs it: a subprocess, real server, real database file."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zipfile

import pytest
from fixture_server import FixtureServer

from docspasta.errors import StoreError
from docspasta.store import open_reader

CLI = [sys.executable, "-m", "docspasta"]
# 2 s: a CLI process on a busy machine starts slowly; slow.html (3 s) still times out
QUICK = ["--timeout", "2", "--retries", "1", "--quiet"]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["notaurl"], "URL: 'notaurl' is not allowed; expected an http:// or https:// URL"),
        (
            ["ftp://example.org/docs/"],
            "URL: 'ftp://example.org/docs/' is not allowed; expected an http:// or https:// URL (got ftp://)",
        ),
        (
            ["https://example.org/", "--depth", "-1"],
            "--depth: -1 is not allowed; expected a whole number from 0 to 100",
        ),
        (
            ["https://example.org/", "--concurrency", "0"],
            "--concurrency: 0 is not allowed; expected a whole number from 1 to 256",
        ),
        (["https://example.org/", "--max-pages", "0"], "--max-pages: 0 is not allowed"),
        (["https://example.org/", "--header", "no-colon"], "--header: 'no-colon' is not allowed"),
    ],
)
def test_bad_input_exits_2_names_the_problem_and_writes_nothing(tmp_path, args, message):
    db = tmp_path / "never.db"
    proc = run("crawl", *args, "--db", str(db))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not db.exists()


@pytest.mark.slow
def test_crawl_json_summary_then_export_and_jobs(site, tmp_path):
    db = tmp_path / "cli.db"
    proc = run(
        "crawl", site.url("/docs/index.html"), "--allow-host", site.allow_hosts[0], "--db", str(db), "--json", *QUICK
    )
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "completed"
    assert summary["completed"] == 10 and summary["failed"] == 3
    job_id = summary["job_id"]

    out = tmp_path / "paste.md"
    exported = run("export", job_id, "--db", str(db), "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    text = out.read_text()
    assert text.startswith("# Widgetry docs\n")
    assert text.count("\nSource: ") == 10

    listing = run("jobs", "--db", str(db))
    assert job_id in listing.stdout and "completed" in listing.stdout
    as_json = json.loads(run("jobs", "--db", str(db), "--json").stdout)
    assert [j["job_id"] for j in as_json] == [job_id]

    for fmt, name in (("llms", "llms.txt"), ("llms-full", "full.txt"), ("jsonl", "pages.jsonl"), ("zip", "p.zip")):
        made = run("export", job_id, "--db", str(db), "--format", fmt, "--out", str(tmp_path / name))
        assert made.returncode == 0, made.stderr
        assert f"{fmt}: 10 pages" in made.stderr and "tokens (o200k)" in made.stderr
    assert (tmp_path / "llms.txt").read_text().startswith("# Widgetry docs\n\n> ")
    assert (tmp_path / "full.txt").read_text().count("\nSource: ") == 10
    assert len([json.loads(line) for line in (tmp_path / "pages.jsonl").read_text().splitlines()]) == 10
    assert "docs/guide/config.md" in zipfile.ZipFile(tmp_path / "p.zip").namelist()
    budget = run("export", job_id, "--db", str(db), "--max-tokens", "1500", "--out", str(tmp_path / "small.md"))
    assert budget.returncode == 0 and "left out to fit 1,500 tokens" in budget.stderr

    missing = run("export", "nosuchjob", "--db", str(db))
    assert missing.returncode == 2 and "no job 'nosuchjob'" in missing.stderr


def test_out_dash_prints_the_paste_and_env_vars_pick_the_database_and_open_the_guard(site, tmp_path):
    db = tmp_path / "env.db"
    env = {**os.environ, "DOCSPASTA_DB": str(db), "DOCSPASTA_ALLOW_PRIVATE": "1"}
    proc = subprocess.run(
        [*CLI, "crawl", site.url("/docs/guide/index.html"), "--out", "-", *QUICK],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("# Widgetry docs\n")
    assert "completed: " in proc.stderr
    assert db.exists()


def test_a_failed_job_exits_1(site, tmp_path):
    proc = run(
        "crawl", site.url("/start-404/"), "--allow-host", site.allow_hosts[0], "--db", str(tmp_path / "f.db"), *QUICK
    )
    assert proc.returncode == 1
    assert "start page failed: HTTP 404" in proc.stderr


def slow_crawl(server: FixtureServer, db) -> subprocess.Popen[str]:
    """A CLI crawl of the fixture site slow enough (2 at a time, delayed server) to interrupt."""
    args = [
        "crawl",
        server.url("/docs/index.html"),
        "--allow-host",
        server.allow_hosts[0],
        "--db",
        str(db),
        "--depth",
        "3",
    ]
    args += ["--concurrency", "2", "--batch-size", "2", *QUICK]
    return subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _wait_for_progress(db, at_least: int, proc: subprocess.Popen, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the crawl ended before it could be interrupted"
        try:
            jobs = sqlite3.connect(db).execute("SELECT id, completed FROM jobs WHERE status = 'running'").fetchall()
        except sqlite3.Error:
            jobs = []
        if jobs and jobs[0][1] >= at_least:
            return jobs[0][0]
        time.sleep(0.02)
    raise AssertionError("no progress")


@pytest.mark.slow
@pytest.mark.parametrize("kill_after", [0, 1, 4, 7])  # 0: during discovery, before any page is stored
def test_sigkill_then_resume_stores_every_page_once(tmp_path, kill_after):
    db = tmp_path / "kill.db"
    with FixtureServer(delay=0.15) as slow:
        proc = slow_crawl(slow, db)
        job_id = _wait_for_progress(db, kill_after, proc)
        proc.kill()
        proc.wait(10)
        before = {p["url"] for p in open_reader(db).pages(job_id, status="completed")}
        assert open_reader(db).get_job(job_id).status == "running"  # as a crash leaves it
        requests_before = len(slow.fetched())

        resumed = run("resume", job_id, "--db", str(db), "--json", "--quiet")
        assert resumed.returncode == 0, resumed.stderr
        refetched = {slow.url(p) for p in slow.fetched()[requests_before:]} & before
        assert not refetched, f"completed pages fetched again after resume: {refetched}"

    job = open_reader(db).get_job(job_id)
    assert job.status == "completed"
    assert job.completed == 11  # the same pages an uninterrupted depth-3 crawl stores
    rows = open_reader(db).pages(job_id)
    assert len({r["url"] for r in rows}) == len(rows)
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("SELECT count(*) FROM pages WHERE status IN ('pending', 'processing')").fetchone()[0] == 0


@pytest.mark.slow
def test_ctrl_c_interrupts_with_130_and_resume_finishes(tmp_path):
    db = tmp_path / "int.db"
    with FixtureServer(delay=0.15) as slow:
        proc = slow_crawl(slow, db)
        job_id = _wait_for_progress(db, 2, proc)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 130, stderr
        assert f"docspasta resume {job_id}" in stderr
        assert open_reader(db).get_job(job_id).status == "interrupted"
        assert run("resume", job_id, "--db", str(db), "--quiet").returncode == 0
    assert open_reader(db).get_job(job_id).completed == 11


def test_resume_of_unknown_job_is_bad_input(tmp_path):
    db = tmp_path / "empty.db"
    proc = run("resume", "abc123", "--db", str(db))
    assert proc.returncode == 2 and "no docspasta database at" in proc.stderr
    assert not db.exists()
    with pytest.raises(StoreError):
        open_reader(tmp_path / "absent.db").get_job("abc123")


def test_every_command_takes_a_postgresql_url_for_db(site, pg_url, tmp_path):
    crawled = run("crawl", site.url("/docs/guide/index.html"), "--db", pg_url, "--allow-host", site.allow_hosts[0],
                  "--json", *QUICK)  # fmt: skip
    assert crawled.returncode == 0, crawled.stderr
    summary = json.loads(crawled.stdout)
    assert summary["status"] == "completed" and summary["completed"] >= 3 and summary["db"] == pg_url
    listed = json.loads(run("jobs", "--db", pg_url, "--json").stdout)
    assert [j["job_id"] for j in listed] == [summary["job_id"]]
    paste = tmp_path / "paste.md"
    exported = run("export", summary["job_id"], "--db", pg_url, "--out", str(paste))
    assert exported.returncode == 0, exported.stderr
    assert paste.read_text().count("\nSource: ") == summary["completed"]


def test_an_unreachable_postgresql_store_is_a_clear_error(tmp_path):
    proc = run("crawl", "https://example.org/", "--db", "postgresql://nobody:secret@127.0.0.1:9/none")
    assert proc.returncode == 2
    assert "cannot connect to the database at postgresql://nobody:***@127.0.0.1:9/none" in proc.stderr
    assert "secret" not in proc.stderr and "Traceback" not in proc.stderr
    assert run("jobs", "--db", "postgresql://nobody:secret@127.0.0.1:9/none").returncode == 0  # no store: no jobs
