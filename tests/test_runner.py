"""The background runner: one loop thread for all jobs; cancel, pause, resume, orphans (on both store backends)."""

from __future__ import annotations

import threading
import time

import conftest
import pytest
from conftest import wait_until
from fixture_server import FixtureServer

from docspasta import CrawlSettings
from docspasta.crawl.runner import THREAD_PREFIX, get_runner
from docspasta.store import open_reader, open_writer


@pytest.fixture
def runner(any_db):
    r = get_runner(any_db)
    yield r
    r.stop()


def settings_for(server: FixtureServer, **kw) -> CrawlSettings:
    fast = {**conftest.FAST, "retries": 1, "max_depth": 3}  # flaky.html answers 500 once
    return CrawlSettings.from_dict(
        {"url": server.url("/docs/index.html"), "allow_hosts": server.allow_hosts, **fast, **kw}
    )


def test_submit_returns_at_once_and_the_job_completes(site, runner, any_db):
    started = time.monotonic()
    job_id = runner.submit(settings_for(site))
    assert time.monotonic() - started < 2.0
    assert open_reader(any_db).get_job(job_id).status in ("pending", "running")
    record = runner.wait(job_id, timeout=60)
    assert record.status == "completed" and record.completed == 11


def test_get_runner_returns_the_live_runner(runner, any_db):
    assert get_runner(any_db) is runner
    loops = [t for t in threading.enumerate() if t.name.startswith(THREAD_PREFIX) and str(any_db) in t.name]
    assert len(loops) == 1


def test_cancel_mid_crawl(runner, any_db):
    with FixtureServer(delay=0.2) as slow:
        job_id = runner.submit(settings_for(slow, concurrency=2, batch_size=2))
        wait_until(lambda: open_reader(any_db).get_job(job_id).completed >= 2)
        runner.cancel(job_id)
        record = runner.wait(job_id, timeout=30)
    assert record.status == "cancelled"
    assert 2 <= record.completed < 11
    assert record.queued > 0  # what was left stays in the frontier, nothing in flight
    assert not any(p for p in _statuses(any_db, job_id) if p == "processing")


def test_pause_then_resume_finishes_the_job(runner, any_db):
    with FixtureServer(delay=0.1) as slow:
        job_id = runner.submit(settings_for(slow, concurrency=2, batch_size=2))
        wait_until(lambda: open_reader(any_db).get_job(job_id).completed >= 2)
        runner.pause(job_id)
        paused = runner.wait(job_id, timeout=30)
        assert paused.status == "paused"
        runner.resume(job_id)
        record = runner.wait(job_id, timeout=60)
    assert record.status == "completed" and record.completed == 11


def test_a_new_runner_resumes_jobs_left_running_by_a_dead_process(site, any_db):
    with open_writer(any_db) as store:
        job_id = store.create_job(settings_for(site))
        store.acquire(job_id, worker="otherhost:1")  # as a crashed process leaves it...
        store.conn.execute("UPDATE jobs SET heartbeat_at = heartbeat_at - 3600")  # ...long ago
        store.conn.execute("UPDATE job_workers SET heartbeat_at = heartbeat_at - 3600")
        store.conn.commit()
    runner = get_runner(any_db)
    try:
        wait_until(lambda: open_reader(any_db).get_job(job_id).status == "completed", timeout=60)
    finally:
        runner.stop()
    assert open_reader(any_db).get_job(job_id).completed == 11


def test_stop_leaves_running_jobs_interrupted_and_resumable(any_db):
    with FixtureServer(delay=0.2) as slow:
        runner = get_runner(any_db)
        job_id = runner.submit(settings_for(slow, concurrency=2, batch_size=2))
        wait_until(lambda: open_reader(any_db).get_job(job_id).completed >= 1)
        runner.stop()
        assert open_reader(any_db).get_job(job_id).status == "interrupted"
        runner = get_runner(any_db)
        try:
            runner.resume(job_id)
            assert runner.wait(job_id, timeout=60).status == "completed"
        finally:
            runner.stop()


def _statuses(any_db, job_id):
    from docspasta.store import open_reader

    return [p["status"] for p in open_reader(any_db).pages(job_id)]
