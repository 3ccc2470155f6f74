"""The store contract on both backends (a SQLite file, a throwaway PostgreSQL): claims, leases, counters, readers."""

from __future__ import annotations

import sqlite3
import time

import pytest

from docspasta import CrawlSettings, JobBusyError, JobNotFoundError
from docspasta.records import NewLink, PageOutcome, StrategyName
from docspasta.store import open_reader, open_writer
from docspasta.store.sqlite.writer import SQLiteWriter

BFS = StrategyName.BFS


def link(url: str, depth: int, status: str = "pending", reason: str | None = None) -> NewLink:
    return NewLink(url, url.split("://", 1)[1], depth, None, "link", status, reason)


BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def store(request, db_path):
    """The same contract tests run against each backend."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        with open_writer(url) as s:
            yield s
        return
    now = [time.time()]
    with SQLiteWriter(db_path, clock=lambda: now[0]) as s:
        s.test_now = now  # type: ignore[attr-defined]  # what advance() moves
        yield s


@pytest.fixture
def job(store):
    job_id = store.create_job(CrawlSettings(url="https://x.org/docs/"))
    store.acquire(job_id)
    return job_id


def add(store, job_id, *links, max_depth=2):
    store.add_discovered(job_id, list(links), max_depth=max_depth, event={})


def sql(store, query: str, params=()) -> list[tuple]:
    """Run test SQL (`?` placeholders) on the store's own connection; rows as tuples."""
    if isinstance(store, SQLiteWriter):
        rows = store.conn.execute(query, params).fetchall()
        store.conn.commit()
        return [tuple(r) for r in rows]
    cursor = store.conn.execute(query.replace("?", "%s"), params)
    return [tuple(r.values()) for r in cursor.fetchall()] if cursor.description else []


def advance(store, seconds: float) -> None:
    """Let time pass for leases and heartbeats: SQLite's clock is the test's to move;
    PostgreSQL's is the database's, so the stored times move back instead."""
    if isinstance(store, SQLiteWriter):
        store.test_now[0] += seconds  # type: ignore[attr-defined]
    else:
        sql(store, "UPDATE pages SET lease_until = lease_until - ? WHERE lease_until IS NOT NULL", (seconds,))
        sql(store, "UPDATE jobs SET heartbeat_at = heartbeat_at - ? WHERE heartbeat_at IS NOT NULL", (seconds,))


def test_the_factory_picks_the_backend_from_what_db_names(db_path, pg_url):
    from docspasta.store.postgres.writer import PostgresWriter

    with open_writer(db_path) as lite, open_writer(pg_url) as pg:
        assert isinstance(lite, SQLiteWriter) and isinstance(pg, PostgresWriter)
    assert open_reader(pg_url).exists() and open_reader(db_path).exists()
    assert not open_reader(db_path.with_name("none.db")).exists()


def test_a_sqlite_file_without_the_schema_yet_is_not_a_store(tmp_path):
    """A writer creates the file a moment before it commits the schema; a poller in between
    must see "no store yet", not fail on `no such table: jobs`."""
    import sqlite3

    half = tmp_path / "half.db"
    sqlite3.connect(half).close()  # the file exists, empty
    reader = open_reader(half)
    assert half.exists() and not reader.exists()
    open_writer(half).close()
    assert reader.exists() and reader.list_jobs() == []


def test_postgres_migrations_are_applied_once_and_urls_hide_passwords(pg_url):
    from docspasta.store import display

    open_writer(pg_url).close()
    with open_writer(pg_url) as again:
        names = [r[0] for r in sql(again, "SELECT name FROM docspasta_migrations")]
    assert names == ["m001_initial", "m002_lease_token", "m003_workers", "m004_refresh", "m005_search",
                     "m006_sources"]  # fmt: skip
    assert (
        display("postgresql://crawler:s3cret@db.example:5432/docs") == "postgresql://crawler:***@db.example:5432/docs"
    )


def test_migrations_are_idempotent(db_path):
    SQLiteWriter(db_path).close()
    with SQLiteWriter(db_path) as again:
        names = [r[0] for r in again.conn.execute("SELECT name FROM _sqlite_migrations")]
    assert names == ["m001_initial", "m002_docs_markdown", "m003_strategies", "m004_comparisons", "m005_canonical",
                     "m006_reading_order", "m007_lease_token", "m008_workers", "m009_refresh",
                     "m010_search", "m011_sources"]  # fmt: skip


def test_a_store_made_before_refreshes_gets_markdown_hashes_and_its_jobs_refresh(db_path):
    """A database written before m009 (no Markdown hashes, no validators): the migration hashes
    the stored Markdown, so a refresh of an old job can say what changed."""
    import sqlite3

    from docspasta.store.page_rows import markdown_hash
    from docspasta.store.sqlite.migrations import Database, migrations

    conn = sqlite3.connect(db_path)
    migrations.apply(Database(conn), stop_before="m009_refresh")
    conn.execute("INSERT INTO jobs (id, created_at, status, start_url, settings) VALUES ('old', 0, 'completed', "
                 "'https://x.org/docs/', ?)", (CrawlSettings(url="https://x.org/docs/").to_json(),))  # fmt: skip
    conn.executemany(
        "INSERT INTO pages (job_id, url, url_key, depth, status, markdown) VALUES ('old', ?, ?, 0, 'completed', ?)",
        [(f"https://x.org/docs/{i}", f"x.org/docs/{i}", f"# Page {i}") for i in range(1200)],
    )
    conn.commit()
    conn.close()
    with SQLiteWriter(db_path) as store:
        hashes = dict(store.conn.execute("SELECT markdown, markdown_hash FROM pages").fetchall())
        assert len(hashes) == 1200 and all(h == markdown_hash(m) for m, h in hashes.items())
        refresh = store.create_refresh("old")
        assert store.job(refresh).since_job == "old" and store.job(refresh).queued == 1201  # and the start page


def test_claims_follow_bfs_levels_and_respect_the_limit(store, job):
    add(store, job, link("https://x.org/docs/b", 2), link("https://x.org/docs/a", 1), link("https://x.org/docs/c", 1))
    first = store.claim(job, 10, BFS, 60)
    assert [c.url for c in first] == ["https://x.org/docs/"]  # depth 0 alone
    # while depth 0 is in flight, nothing deeper is handed out
    assert store.claim(job, 10, BFS, 60) == []
    store.commit_batch(job, [PageOutcome(first[0].page_id, first[0].url, "completed", markdown="x", quality=50)])
    level1 = store.claim(job, 1, BFS, 60)
    assert [c.url for c in level1] == ["https://x.org/docs/a"]
    assert [c.url for c in store.claim(job, 10, BFS, 60)] == ["https://x.org/docs/c"]
    assert store.claim(job, 10, BFS, 60) == []  # depth 2 waits for level 1 to finish


def test_expired_leases_return_to_the_frontier(store, job):
    claimed = store.claim(job, 5, BFS, lease_seconds=30)
    assert len(claimed) == 1
    advance(store, 29)  # no sleeping past a lease: time is moved
    assert store.claim(job, 5, BFS, 60) == []
    advance(store, 2)
    again = store.claim(job, 5, BFS, 60)
    assert [c.page_id for c in again] == [claimed[0].page_id]


def test_acquire_returns_in_flight_pages_and_refuses_a_live_owner_where_jobs_are_not_shared(db_path):
    store = SQLiteWriter(db_path)
    job = store.create_job(CrawlSettings(url="https://x.org/docs/"))
    store.acquire(job)
    store.claim(job, 5, BFS, 600)
    assert open_reader(store.location).get_job(job).queued == 1
    with pytest.raises(JobBusyError):
        store.acquire(job, worker="otherhost:99")  # heartbeat is fresh
    sql(store, "UPDATE jobs SET heartbeat_at = 0, worker = 'otherhost:99'")
    store.acquire(job)
    assert sql(store, "SELECT status FROM pages") == [("pending",)]
    with pytest.raises(JobNotFoundError):
        store.acquire("nope")


def test_a_shorter_path_lowers_depth_and_revives_depth_skips(store, job):
    add(store, job, link("https://x.org/docs/deep", 3, "skipped", "depth"), link("https://x.org/docs/p", 2))
    add(store, job, link("https://x.org/docs/deep", 2), link("https://x.org/docs/p", 1))
    rows = dict(sql(store, "SELECT url, depth || ':' || status FROM pages WHERE depth > 0"))
    assert rows == {"https://x.org/docs/deep": "2:pending", "https://x.org/docs/p": "1:pending"}
    job_row = open_reader(store.location).get_job(job)
    assert (job_row.queued, job_row.skipped) == (3, 0)


def test_counters_follow_every_status_change(store, job):
    add(store, job, link("https://x.org/docs/a", 1), link("https://x.org/ext", 1, "skipped", "out of scope"))
    claims = store.claim(job, 1, BFS, 60)
    store.commit_batch(job, [PageOutcome(claims[0].page_id, claims[0].url, "failed", "HTTP 500")])
    claims = store.claim(job, 5, BFS, 60)
    store.commit_batch(
        job, [PageOutcome(c.page_id, c.url, "completed", markdown="m", content_hash=f"h{c.page_id}") for c in claims]
    )
    j = open_reader(store.location).get_job(job)
    assert (j.discovered, j.queued, j.completed, j.failed, j.skipped) == (3, 0, 1, 1, 1)


def test_duplicate_content_is_skipped_with_what_it_duplicates(store, job):
    add(store, job, link("https://x.org/docs/a", 1), link("https://x.org/docs/b", 1))
    start = store.claim(job, 1, BFS, 60)
    store.commit_batch(job, [PageOutcome(start[0].page_id, start[0].url, "completed", markdown="m", content_hash="h0")])
    a, b = store.claim(job, 2, BFS, 60)
    store.commit_batch(
        job,
        [
            PageOutcome(a.page_id, a.url, "completed", markdown="same", content_hash="h1"),
            PageOutcome(b.page_id, b.url, "completed", markdown="same", content_hash="h1"),
        ],
    )
    rows = dict(sql(store, "SELECT url, status || ':' || coalesce(reason, '') FROM pages"))
    assert rows["https://x.org/docs/a"] == "completed:"
    assert rows["https://x.org/docs/b"] == "skipped:duplicate of https://x.org/docs/a"


def test_readers_are_read_only(store, job):
    import psycopg

    refused = (sqlite3.OperationalError, psycopg.errors.ReadOnlySqlTransaction)
    with open_reader(store.location)._read() as conn:  # type: ignore[attr-defined]
        assert list(conn.execute("SELECT count(*) AS n FROM jobs").fetchone()) in ([1], ["n"])
        with pytest.raises(refused, match="read-?only"):
            conn.execute("DELETE FROM jobs")


def test_cancel_request_reaches_the_heartbeat_and_delete_cascades(store, job):
    store.request_control(job, "cancel")
    assert store.heartbeat(job, 0.5).control == "cancel"
    store.delete_job(job)
    assert sql(store, "SELECT count(*) FROM pages") == [(0,)]
    assert sql(store, "SELECT count(*) FROM events") == [(0,)]


def test_a_shorter_path_to_a_crawled_page_lowers_the_depths_below_it(store, job):
    """x was crawled at depth 3 (the long way) and its link y skipped for depth; a shorter
    path to x arrives later: x becomes depth 2 and y, now at depth 3, returns to the frontier."""
    start = store.claim(job, 1, BFS, 60)[0]
    x_link = link("https://x.org/docs/x", 3)
    store.commit_batch(job, [PageOutcome(start.page_id, start.url, "completed", markdown="s", links=[x_link])],
                       max_depth=3)  # fmt: skip
    [(x_id,)] = sql(store, "SELECT id FROM pages WHERE url_key = 'x.org/docs/x'")
    sql(store, "UPDATE pages SET status = 'processing' WHERE id = ?", (x_id,))
    y_link = link("https://x.org/docs/y", 4, "skipped", "depth")
    store.commit_batch(job, [PageOutcome(x_id, x_link.url, "completed", markdown="x", depth=3, links=[y_link])],
                       max_depth=3)  # fmt: skip
    assert sql(store, "SELECT status, reason FROM pages WHERE url_key = 'x.org/docs/y'") == [("skipped", "depth")]
    add(store, job, link("https://x.org/docs/x", 2), max_depth=3)
    rows = dict(sql(store, "SELECT url_key, depth || ':' || status FROM pages WHERE url_key LIKE '%%/docs/_'"))
    assert rows == {"x.org/docs/x": "2:completed", "x.org/docs/y": "3:pending"}


@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        ("bfs", ["d1-low", "d1-sitemap", "d1-high"]),  # shallowest first, discovery order; d2 waits for level 1
        ("dfs", ["d2", "d1-high", "d1-sitemap", "d1-low"]),  # deepest first, newest first
        ("best-first", ["d1-high", "d2", "d1-sitemap", "d1-low"]),  # highest score first
        ("sitemap-first", ["d1-sitemap", "d1-high", "d2", "d1-low"]),  # sitemap URLs first, then by score
    ],
)
def test_each_strategy_claims_in_its_order(store, job, strategy, expected):

    start = store.claim(job, 1, BFS, 60)[0]
    store.commit_batch(job, [PageOutcome(start.page_id, start.url, "completed", markdown="s")], max_depth=3)
    links = [
        NewLink("https://x.org/docs/d1-low", "x.org/docs/d1-low", 1, None, "link", "pending", None, 1.0),
        NewLink("https://x.org/docs/d1-sitemap", "x.org/docs/d1-sitemap", 1, None, "sitemap", "pending", None, 2.0),
        NewLink("https://x.org/docs/d1-high", "x.org/docs/d1-high", 1, None, "link", "pending", None, 9.0),
        NewLink("https://x.org/docs/d2", "x.org/docs/d2", 2, None, "link", "pending", None, 5.0),
    ]
    add(store, job, *links, max_depth=3)
    claimed = [c.url.rsplit("/", 1)[1] for c in store.claim(job, 10, StrategyName(strategy), 60)]
    assert claimed == expected


async def test_the_async_writer_owns_one_thread_apart_from_the_loop(db_path):
    """Every write runs on the writer's own thread, the same one each time (SQLite's
    connection belongs to the thread that opened it), never on the event loop's."""
    import threading

    from docspasta.store import open_async_writer

    loop_thread = threading.get_ident()
    async with open_async_writer(db_path) as store:
        job_id = await store.create_job(CrawlSettings(url="https://x.org/docs/"))
        threads = {await store.call(lambda _: threading.get_ident()) for _ in range(5)}
        claimed = await store.claim(job_id, 5, BFS, 60)
    assert len(threads) == 1 and loop_thread not in threads
    assert [c.url for c in claimed] == ["https://x.org/docs/"]


def test_a_commit_under_a_lost_lease_is_not_stored(store, job):
    """A worker paused past its lease (or cut off from the database) comes back with an
    outcome; the page was claimed again meanwhile. Its commit must not overwrite the newer
    claim's work, nor count the page twice."""
    [first] = store.claim(job, 1, BFS, lease_seconds=30)
    advance(store, 31)
    [again] = store.claim(job, 1, BFS, 60)  # the lease expired: the page is claimed anew
    assert again.page_id == first.page_id and again.lease != first.lease and first.lease
    stale = PageOutcome(first.page_id, first.url, "completed", markdown="stale", content_hash="a", lease=first.lease)
    store.commit_batch(job, [stale])
    assert sql(store, "SELECT status, markdown FROM pages WHERE id = ?", (first.page_id,)) == [("processing", None)]
    fresh = PageOutcome(again.page_id, again.url, "completed", markdown="fresh", content_hash="b", lease=again.lease)
    store.commit_batch(job, [fresh])
    store.commit_batch(job, [fresh])  # a retried commit of the same outcome is fenced too: the lease is spent
    assert sql(store, "SELECT status, markdown FROM pages WHERE id = ?", (first.page_id,)) == [("completed", "fresh")]
    assert open_reader(store.location).get_job(job).completed == 1
    fenced = [e for e in open_reader(store.location).events(job) if e["type"] == "page_fenced"]
    assert len(fenced) == 2


def test_a_heartbeat_renews_the_leases_still_held_and_only_those(store, job):
    """A live worker keeps its pages however long they take; a dead one's come back once
    their short lease runs out. A claim's token is the unit: one call, one lease."""
    [held] = store.claim(job, 1, BFS, lease_seconds=30)
    add(store, job, link("https://x.org/docs/a", 1), link("https://x.org/docs/b", 1))
    store.commit_batch(job, [PageOutcome(held.page_id, held.url, "completed", markdown="s", lease=held.lease)])
    [mine] = store.claim(job, 1, BFS, lease_seconds=30)
    [theirs] = store.claim(job, 1, BFS, lease_seconds=30)  # as another worker, which then dies
    assert mine.lease != theirs.lease
    for _ in range(3):  # 60 s pass; a heartbeat every 20 s renews only `mine`
        advance(store, 20)
        store.heartbeat(job, 20.0, renew=[mine.lease], lease_seconds=30)
    back = store.claim(job, 5, BFS, 30)  # `theirs` expired and is claimed again; `mine` is still held
    assert [c.page_id for c in back] == [theirs.page_id] and back[0].lease not in (mine.lease, theirs.lease)
    assert sql(store, "SELECT status FROM pages WHERE id = ?", (mine.page_id,)) == [("processing",)]
