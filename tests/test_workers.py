"""`docspasta worker` processes on one PostgreSQL store, as an operator runs them: a job
enqueued from the CLI, workers as subprocesses, a real site on 127.0.0.1 that counts
what it sees (every request, and the most in flight at once)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from conftest import wait_until
from fixture_server import FixtureServer

from docspasta.store import open_reader, open_writer

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from synthetic_site import generate  # noqa: E402

CLI = [sys.executable, "-m", "docspasta"]
PER_HOST = 3


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    generate(root, 150)
    return root


def enqueue(server: FixtureServer, db: str, *extra: str) -> str:
    args = ["crawl", server.url("/docs/index.html"), "--db", db, "--enqueue", "--json", "--allow-host",
            server.allow_hosts[0], "--per-host-concurrency", str(PER_HOST), "--timeout", "5", *extra]  # fmt: skip
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "pending"
    return summary["job_id"]


def worker(db: str, name: str, *extra: str) -> subprocess.Popen[str]:
    args = ["worker", "--db", db, "--name", name, "--concurrency", "8", "--extract-workers", "1", *extra]
    return subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def completed(db: str, job_id: str) -> list[dict]:
    return open_reader(db).pages(job_id, status="completed")


def page_hits(server: FixtureServer) -> Counter[str]:
    return Counter(p for p in server.fetched() if p.endswith(".html"))


def test_two_workers_share_an_enqueued_job_each_page_fetched_and_stored_once(pg_url, synthetic):
    with FixtureServer(synthetic, delay=0.01) as server:
        job_id = enqueue(server, pg_url, "--max-pages", "120")
        workers = [worker(pg_url, name, "--exit-when-idle") for name in ("a", "b")]
        for proc in workers:
            _, stderr = proc.communicate(timeout=180)
            assert proc.returncode == 0, stderr
        hits = page_hits(server)
        assert server.max_in_flight <= PER_HOST  # what the site saw from both workers together
    job = open_reader(pg_url).get_job(job_id)
    assert job.status == "completed" and job.completed == 120
    rows = completed(pg_url, job_id)
    assert len({r["url"] for r in rows}) == 120
    assert {r["worker"] for r in rows} == {"a", "b"}  # both workers committed pages
    assert max(hits.values()) == 1, [p for p, n in hits.items() if n > 1]


def test_a_killed_worker_s_pages_are_finished_by_the_other_and_nothing_done_is_fetched_again(pg_url, synthetic):
    with FixtureServer(synthetic, delay=0.05) as server:
        job_id = enqueue(server, pg_url, "--max-pages", "100", "--lease", "5")
        victim = worker(pg_url, "victim")
        wait_until(lambda: len(completed(pg_url, job_id)) >= 10, 120, what="the first worker's progress")
        survivor = worker(pg_url, "survivor", "--exit-when-idle")
        wait_until(lambda: any(r["worker"] == "survivor" for r in completed(pg_url, job_id)), 120,
                   what="the second worker's first page")  # fmt: skip
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        done_before = {r["url"].removeprefix(server.base) for r in completed(pg_url, job_id)}
        _, stderr = survivor.communicate(timeout=240)
        assert survivor.returncode == 0, stderr
        hits = page_hits(server)
        assert server.max_in_flight <= PER_HOST
    job = open_reader(pg_url).get_job(job_id)
    assert job.status == "completed" and job.completed == 100
    rows = completed(pg_url, job_id)
    assert len({r["url"] for r in rows}) == 100
    assert {r["worker"] for r in rows} == {"victim", "survivor"}
    assert all(hits[path] == 1 for path in done_before), "a page completed before the kill was fetched again"


def test_sigterm_hands_the_pages_back_at_once_and_the_job_goes_on(pg_url, synthetic):
    with FixtureServer(synthetic, delay=0.05) as server:
        job_id = enqueue(server, pg_url, "--max-pages", "60", "--lease", "600")  # only leaving returns pages
        first = worker(pg_url, "first")
        wait_until(lambda: len(completed(pg_url, job_id)) >= 5, 120, what="progress")
        first.send_signal(signal.SIGTERM)
        _, stderr = first.communicate(timeout=30)
        assert first.returncode == 0, stderr
        with open_writer(pg_url) as store:
            held = store.conn.execute("SELECT count(*) AS n FROM pages WHERE status = 'processing'").fetchone()
        assert held["n"] == 0
        assert open_reader(pg_url).get_job(job_id).status == "interrupted"  # nobody else ran it
        second = worker(pg_url, "second", "--exit-when-idle")
        _, stderr = second.communicate(timeout=180)
        assert second.returncode == 0, stderr
    job = open_reader(pg_url).get_job(job_id)
    assert job.status == "completed" and job.completed == 60


def test_worker_and_enqueue_refuse_a_sqlite_store_with_a_clear_message(tmp_path):
    db = str(tmp_path / "lite.db")
    proc = subprocess.run([*CLI, "worker", "--db", db], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "needs a shared PostgreSQL store" in proc.stderr
    proc = subprocess.run([*CLI, "crawl", "https://example.org/", "--db", db, "--enqueue"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and "drop --enqueue" in proc.stderr
