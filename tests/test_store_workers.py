"""The store's side of several workers on one job (PostgreSQL), and what SQLite does instead:
joining, exact budgets across workers, leaving, finalizing, the workers' queue."""

from __future__ import annotations

import pytest
from test_store import add, link, sql

from docspasta import CrawlSettings
from docspasta.records import Finalize, JobStatus, JobStep, PageOutcome, RunBy, StrategyName
from docspasta.store import open_reader, open_writer

BFS = StrategyName.BFS


@pytest.fixture
def two(pg_url):
    """Two workers' writers on one PostgreSQL store."""
    with open_writer(pg_url, worker="host-a:1") as a, open_writer(pg_url, worker="host-b:2") as b:
        yield a, b


def crawling_job(store, max_pages: int = 100, pages: int = 6) -> str:
    job = store.create_job(CrawlSettings(url="https://x.org/docs/", max_pages=max_pages))
    store.acquire(job)
    start = store.claim(job, 1, BFS, 60)[0]
    store.set_scope(job, "x.org", "/docs/", None)
    store.commit_batch(job, [PageOutcome(start.page_id, start.url, "completed", markdown="x", quality=50)])
    add(store, job, *(link(f"https://x.org/docs/p{n}", 1) for n in range(pages)))
    store.set_step(job, JobStep.CRAWLING)
    return job


def events(store, job, type_: str) -> list[tuple]:
    return sql(store, "SELECT payload FROM events WHERE job_id = ? AND type = ?", (job, type_))


def test_a_second_worker_joins_a_live_job_and_leaves_its_pages_alone(two):
    a, b = two
    job = crawling_job(a)
    held = a.claim(job, 2, BFS, 60)
    joined = b.acquire(job)
    assert joined.status == JobStatus.RUNNING and joined.worker == "host-a:1"
    assert sql(a, "SELECT count(*) FROM pages WHERE job_id = ? AND status = 'processing'", (job,)) == [(2,)]
    assert len(events(a, job, "worker_joined")) == 1
    theirs = b.claim(job, 10, BFS, 60)
    assert {c.page_id for c in held}.isdisjoint(c.page_id for c in theirs) and len(theirs) == 4
    assert a.heartbeat(job, 1.0).others == 1 and b.heartbeat(job, 1.0).others == 1


def test_a_worker_silent_past_the_limit_is_gone_and_its_pages_return(two):
    a, b = two
    job = crawling_job(a)
    a.claim(job, 3, BFS, 600)
    sql(a, "UPDATE job_workers SET heartbeat_at = heartbeat_at - 60 WHERE worker = 'host-a:1'")
    b.acquire(job)  # nobody else alive: b resumes the job, and a's pages go back
    assert sql(b, "SELECT count(*) FROM pages WHERE job_id = ? AND status = 'processing'", (job,)) == [(0,)]
    assert sql(b, "SELECT worker FROM jobs") == [("host-b:2",)]
    assert b.heartbeat(job, 1.0).others == 0


def test_the_budget_counts_every_workers_pages_in_flight(two):
    a, b = two
    job = crawling_job(a, max_pages=4, pages=10)  # the start page is done: 3 more may be claimed
    page, _ = a.claim(job, 2, BFS, 60, max_pages=4)
    b.acquire(job)
    assert len(b.claim(job, 10, BFS, 60, max_pages=4)) == 1
    assert b.claim(job, 10, BFS, 60, max_pages=4) == []
    failed = PageOutcome(page.page_id, page.url, "failed", "http 500", lease=page.lease)
    a.commit_batch(job, [failed])  # a failed page does not count: its place is free again
    assert len(b.claim(job, 10, BFS, 60, max_pages=4)) == 1
    assert b.claim(job, 10, BFS, 60, max_pages=4) == []


def test_leaving_hands_back_only_ones_own_pages_until_the_last_worker_leaves(two):
    a, b = two
    job = crawling_job(a)
    mine = a.claim(job, 2, BFS, 60)
    b.acquire(job)
    theirs = b.claim(job, 2, BFS, 60)
    a.leave(job, [c.lease for c in mine])
    assert open_reader(a.url).get_job(job).status == JobStatus.RUNNING
    in_flight = sql(a, "SELECT id FROM pages WHERE job_id = ? AND status = 'processing' ORDER BY id", (job,))
    assert [r[0] for r in in_flight] == sorted(c.page_id for c in theirs)
    b.leave(job, [c.lease for c in theirs])
    assert open_reader(a.url).get_job(job).status == JobStatus.INTERRUPTED
    assert sql(a, "SELECT count(*) FROM pages WHERE status = 'processing'") == [(0,)]


def test_only_a_worker_that_finds_nothing_in_flight_anywhere_finalizes(two):
    a, b = two
    job = crawling_job(a, pages=2)
    b.acquire(job)
    pages = a.claim(job, 1, BFS, 60) + b.claim(job, 1, BFS, 60)
    assert a.try_finalize(job, 100) == Finalize.WAIT  # b's page is in flight
    a.commit_batch(job, [PageOutcome(pages[0].page_id, pages[0].url, "completed", markdown="a", quality=50,
                                     lease=pages[0].lease)])  # fmt: skip
    assert a.try_finalize(job, 100) == Finalize.WAIT
    b.commit_batch(job, [PageOutcome(pages[1].page_id, pages[1].url, "completed", markdown="b", quality=50,
                                     lease=pages[1].lease)])  # fmt: skip
    assert a.try_finalize(job, 100) == Finalize.YOURS
    assert b.try_finalize(job, 100) == Finalize.ENDED  # a finalizes; b stops
    assert open_reader(a.url).get_job(job).step == JobStep.FINALIZING


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_the_workers_queue_takes_only_jobs_left_to_workers_and_a_sequential_comparison_in_order(
    backend, db_path, request
):
    db = request.getfixturevalue("pg_url") if backend == "postgres" else db_path
    with open_writer(db) as store:
        mine = store.create_job(CrawlSettings(url="https://x.org/docs/"))
        queued = store.create_job(CrawlSettings(url="https://y.org/"), run_by=RunBy.WORKERS)
        variants = [(n, CrawlSettings(url="https://z.org/", max_pages=n)) for n in (5, 6)]
        _, (first, second) = store.create_comparison("https://z.org/", variants, mode="sequential",
                                                     run_by=RunBy.WORKERS)  # fmt: skip
        assert store.take_jobs(10) == [queued, first]
        store.acquire(first)
        store.finish(first, JobStatus.COMPLETED)
        assert store.take_jobs(10) == [queued, second]
        store.request_control(queued, "cancel")  # nobody runs it yet: cancelled at once
        assert store.job(queued).status == JobStatus.CANCELLED
        store.enqueue(mine)
        assert store.take_jobs(10) == [mine, second]
        assert store.job(mine).run_by == RunBy.WORKERS


def test_sqlite_has_the_same_worker_tables_as_postgres(db_path, pg_url):
    with open_writer(db_path) as lite, open_writer(pg_url) as pg:
        for table in ("jobs", "job_workers", "host_slots", "host_pace"):
            lite_columns = {r[1] for r in lite.conn.execute(f"PRAGMA table_info({table})")}
            pg_columns = {r[0] for r in sql(pg, "SELECT column_name FROM information_schema.columns "
                                                "WHERE table_name = ?", (table,))}  # fmt: skip
            assert lite_columns == pg_columns, table
