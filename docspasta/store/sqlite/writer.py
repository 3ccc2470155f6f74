"""The job store's single writer: jobs, pages and events in one SQLite file.

One `Store` owns the write connection of one process (on the runner's loop thread,
or the CLI's). Every write is a short `BEGIN IMMEDIATE` transaction — a whole batch
of pages, their links, events and counters commit together, so a kill loses at most
the pages in flight, whose leases then expire. Readers use reads.py instead.
SQL lives in this package (store/) only: here, frontier.py, reads.py and migrations.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import JobBusyError, JobNotFoundError, StoreError
from ...records import (
    Beat,
    Claim,
    Control,
    Finalize,
    FoundBy,
    JobRecord,
    JobStatus,
    JobStep,
    NewLink,
    PageOutcome,
    PageStatus,
    RunBy,
    StrategyName,
)
from ...settings import CrawlSettings
from ...urls import dedup_key, normalize
from .. import duplicates, job_queue, refresh
from ..commit_flow import commit_outcomes, worker_name
from ..duplicates import Candidates, StoredPage
from ..location import DbSpec, resolve_db_path
from ..page_rows import finalize_verdict, job_record, page_columns, stored_page
from ..reading_order import OrderItem, reading_order
from . import frontier, search_index
from .migrations import Database, migrations

HEARTBEAT_STALE_S = 30.0


def configure(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA busy_timeout = 5000")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = NORMAL")


class SQLiteWriter:
    """The store writer over one SQLite file (see contract.StoreWriter). Create it on
    the thread that will use it."""

    shares_jobs = False  # one process runs a job at a time (acquire refuses a second live one)

    def __init__(self, db: DbSpec = None, *, clock: Callable[[], float] = time.time, worker: str | None = None) -> None:
        self.path = resolve_db_path(db)
        self.worker = worker or worker_name()
        self.location = str(self.path)
        self.clock = clock  # what leases are measured against (tests pass one they can move)
        self._since_jobs: dict[str, str | None] = {}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=5.0)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the database at {self.path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        self.db = Database(conn, execute_plugins=False)
        self.conn = conn
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            configure(conn)
            migrations.apply(self.db)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{self.path} is not a docspasta database: {exc}") from exc

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SQLiteWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE: take the write lock up front so a read-then-write never
        fails half way with SQLITE_BUSY when another process is writing too."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.rollback()
            raise
        else:
            self.conn.commit()

    # -- jobs -----------------------------------------------------------------------

    def create_job(self, settings: CrawlSettings, *, owner: str | None = None, run_by: RunBy = RunBy.CREATOR) -> str:
        with self.transaction() as conn:
            return self._insert_job(conn, settings, owner, run_by, None)

    def create_refresh(
        self,
        since_id: str,
        *,
        overrides: Mapping[str, Any] | None = None,
        owner: str | None = None,
        run_by: RunBy = RunBy.CREATOR,
    ) -> str:
        with self.transaction() as conn:
            row = conn.execute("SELECT status, settings FROM jobs WHERE id = ?", (since_id,)).fetchone()
            if row is None:
                raise JobNotFoundError(since_id)
            settings = refresh.refresh_settings(since_id, row["status"], row["settings"], overrides or {})
            job_id = self._insert_job(conn, settings, owner, run_by, since_id)
            conn.execute(refresh.SEED_FROM_EARLIER, (job_id, time.time(), since_id))
        return job_id

    def _insert_job(
        self, conn: sqlite3.Connection, settings: CrawlSettings, owner: str | None, run_by: RunBy, since: str | None
    ) -> str:
        job_id = secrets.token_hex(6)
        start = normalize(settings.url) or settings.url
        now = time.time()
        conn.execute(
            "INSERT INTO jobs (id, created_at, status, step, start_url, settings, owner, run_by, since_job) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, now, JobStatus.PENDING, JobStep.DISCOVERY, start, settings.to_json(), owner, run_by, since),
        )
        first = NewLink(start, dedup_key(start), 0, None, FoundBy.START, PageStatus.PENDING)
        frontier.add_links(conn, job_id, [first], now)
        payload: dict[str, Any] = {"settings": settings.to_dict()} | ({"since": since} if since else {})
        self._event(conn, job_id, "job_created", start, payload)
        return job_id

    def create_comparison(
        self,
        start_url: str,
        variants: list[tuple[str, CrawlSettings]],
        *,
        mode: str,
        owner: str | None = None,
        run_by: RunBy = RunBy.CREATOR,
    ) -> tuple[str, list[str]]:
        """A comparison and one job per (label, settings) variant, in order."""
        comparison_id = "c" + secrets.token_hex(6)
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO comparisons (id, created_at, start_url, mode, owner) VALUES (?, ?, ?, ?, ?)",
                (comparison_id, time.time(), start_url, mode, owner),
            )
        job_ids = []
        for label, settings in variants:
            job_id = self.create_job(settings, owner=owner, run_by=run_by)
            self.add_to_comparison(comparison_id, job_id, label)
            job_ids.append(job_id)
        return comparison_id, job_ids

    def add_to_comparison(self, comparison_id: str, job_id: str, label: str) -> None:
        """Group a job (a new one, or an earlier crawl of the same site) into a comparison."""
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM comparisons WHERE id = ?", (comparison_id,)).fetchone() is None:
                raise StoreError(f"no comparison {comparison_id!r} in this database")
            if conn.execute("UPDATE jobs SET comparison_id = ?, label = ? WHERE id = ?",
                            (comparison_id, label, job_id)).rowcount == 0:  # fmt: skip
                raise JobNotFoundError(job_id)

    def job(self, job_id: str) -> JobRecord:
        row = self.conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return job_record(row)

    def acquire(self, job_id: str, worker: str | None = None) -> JobRecord:
        """Take ownership of a job to run it; pages it had in flight return to pending."""
        worker = worker or self.worker
        now = time.time()
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFoundError(job_id)
            running = row["status"] == JobStatus.RUNNING
            if running and row["worker"] != worker and _alive(row["worker"], row["heartbeat_at"]):
                raise JobBusyError(job_id, row["worker"])
            resumed = row["started_at"] is not None
            conn.execute(  # a cancel or pause asked for before anyone ran the job still holds
                "UPDATE jobs SET status = ?, worker = ?, heartbeat_at = ?, "
                "control = CASE WHEN status = 'pending' THEN control END, "
                "started_at = coalesce(started_at, ?), finished_at = NULL, error = NULL WHERE id = ?",
                (JobStatus.RUNNING, worker, now, now, job_id),
            )
            released = frontier.release(conn, job_id)
            self._event(
                conn,
                job_id,
                "job_resumed" if resumed else "job_started",
                None,
                {"worker": worker, "released": released},
            )
        return self.job(job_id)

    def set_scope(
        self,
        job_id: str,
        host: str,
        prefix: str,
        site_title: str | None,
        *,
        markdown_base: str | None = None,
        markdown_relative: bool = False,
    ) -> None:
        with self.transaction() as conn:
            conn.execute(
                "UPDATE jobs SET scope_host = ?, scope_prefix = ?, site_title = ?, markdown_base = ?, "
                "markdown_relative = ? WHERE id = ?",
                (host, prefix, site_title, markdown_base, markdown_relative, job_id),
            )

    def set_step(self, job_id: str, step: JobStep) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE jobs SET step = ? WHERE id = ?", (step, job_id))
            self._event(conn, job_id, "step", None, {"step": step})

    def heartbeat(
        self, job_id: str, run_seconds: float, *, renew: Sequence[str] = (), lease_seconds: float = 0.0
    ) -> Beat:
        """Record liveness and run time, extend the leases still held; read back a pending
        control request (cancel/pause) and the job's status."""
        with self.transaction() as conn:
            row = conn.execute(
                "UPDATE jobs SET heartbeat_at = ?, run_seconds = run_seconds + ? WHERE id = ? "
                "RETURNING control, status, step",
                (time.time(), run_seconds, job_id),
            ).fetchone()
            if row is None:
                raise JobNotFoundError(job_id)
            if renew:
                marks = ",".join("?" * len(renew))
                conn.execute(
                    "UPDATE pages SET lease_until = ? "
                    f"WHERE job_id = ? AND status = 'processing' AND lease IN ({marks})",
                    (self.clock() + lease_seconds, job_id, *renew),
                )
        control = Control(row["control"]) if row["control"] else None
        return Beat(control, JobStatus(row["status"]), JobStep(row["step"]))

    def leave(self, job_id: str, leases: Sequence[str] = ()) -> None:
        """Stop running a job: it becomes `interrupted` (resumable), its pages back to pending."""
        with self.transaction() as conn:
            row = conn.execute("SELECT status FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFoundError(job_id)
            if row["status"] != JobStatus.RUNNING:
                return
            frontier.release(conn, job_id)
            now = time.time()
            conn.execute(
                "UPDATE jobs SET status = ?, control = NULL, finished_at = ?, heartbeat_at = ? WHERE id = ?",
                (JobStatus.INTERRUPTED, now, now, job_id),
            )
            self._event(conn, job_id, "job_interrupted", None, {"worker": self.worker})

    def try_finalize(self, job_id: str, max_pages: int) -> Finalize:
        with self.transaction() as conn:
            row = conn.execute(job_queue.FINALIZE_COUNTS, (job_id,) * 3).fetchone()
            if row is None:
                raise JobNotFoundError(job_id)
            verdict = finalize_verdict(row, max_pages)
            if verdict == Finalize.YOURS:
                conn.execute("UPDATE jobs SET step = ? WHERE id = ?", (JobStep.FINALIZING, job_id))
                self._event(conn, job_id, "step", None, {"step": JobStep.FINALIZING})
            return verdict

    def take_jobs(self, limit: int) -> list[str]:
        """Jobs left to workers, oldest first (see the PostgreSQL writer; SQLite runs them one process at a time)."""
        rows = self.conn.execute(job_queue.TAKE_JOBS, (limit,)).fetchall()
        return [r["id"] for r in rows]

    def enqueue(self, job_id: str) -> None:
        with self.transaction() as conn:
            updated = conn.execute(job_queue.ENQUEUE, (job_id,))
            if updated.rowcount == 0:
                raise JobNotFoundError(job_id)
            self._event(conn, job_id, "job_enqueued", None, None)

    def request_control(self, job_id: str, action: Control) -> None:
        """Ask whoever runs the job to cancel or pause it (works across processes)."""
        with self.transaction() as conn:
            row = conn.execute("SELECT status, run_by FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFoundError(job_id)
            if row[0] == JobStatus.PENDING and row[1] == RunBy.WORKERS:
                # nobody runs it yet, and a worker may take it any moment: it ends (or pauses) now
                ended = JobStatus.CANCELLED if action == Control.CANCEL else JobStatus.PAUSED
                conn.execute("UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?", (ended, time.time(), job_id))
            elif row[0] in (JobStatus.RUNNING, JobStatus.PENDING):
                conn.execute("UPDATE jobs SET control = ? WHERE id = ?", (action, job_id))
            elif row[0] in (JobStatus.INTERRUPTED, JobStatus.PAUSED) and action == Control.CANCEL:
                conn.execute(
                    "UPDATE jobs SET status = ?, finished_at = ? WHERE id = ?",
                    (JobStatus.CANCELLED, time.time(), job_id),
                )
                frontier.release(conn, job_id)
            self._event(conn, job_id, f"{action}_requested", None, None)

    def store_reading_order(self, job_id: str, start_url: str) -> None:
        """Number the completed pages in the site's reading order (reading_order.py)."""
        with self.transaction() as conn:
            rows = conn.execute(
                "SELECT id, url, final_url, next_url, prev_url FROM pages WHERE job_id = ? AND status = ?",
                (job_id, PageStatus.COMPLETED),
            ).fetchall()
            order = reading_order([OrderItem(*row) for row in rows], start_url)
            conn.execute("UPDATE pages SET position = NULL WHERE job_id = ? AND position IS NOT NULL", (job_id,))
            conn.executemany("UPDATE pages SET position = ? WHERE id = ?", [(n, i) for n, i in enumerate(order)])

    def finish(self, job_id: str, status: JobStatus, *, error: str | None = None, step: JobStep | None = None) -> None:
        with self.transaction() as conn:
            frontier.release(conn, job_id)
            conn.execute(
                "UPDATE jobs SET status = ?, error = ?, control = NULL, step = coalesce(?, step), "
                "finished_at = ?, heartbeat_at = ? WHERE id = ?",
                (status, error, step, time.time(), time.time(), job_id),
            )
            self._event(conn, job_id, f"job_{status}", None, {"error": error} if error else None)

    def delete_job(self, job_id: str) -> None:
        with self.transaction() as conn:
            search_index.unindex(conn, "s.job_id = ?", (job_id,))
            if conn.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount == 0:
                raise JobNotFoundError(job_id)

    def resumable_jobs(self) -> list[str]:
        """Jobs left `running` by a process that is gone (stale heartbeat or dead pid)."""
        rows = self.conn.execute(
            "SELECT id, worker, heartbeat_at FROM jobs WHERE status = ?", (JobStatus.RUNNING,)
        ).fetchall()
        return [r["id"] for r in rows if not _alive(r["worker"], r["heartbeat_at"])]

    # -- frontier ---------------------------------------------------------------------

    def page_status(self, job_id: str, url_key: str) -> PageStatus | None:
        row = self.conn.execute(
            "SELECT status FROM pages WHERE job_id = ? AND url_key = ?", (job_id, url_key)
        ).fetchone()
        return PageStatus(row[0]) if row else None

    def claim(
        self, job_id: str, limit: int, strategy: StrategyName, lease_seconds: float, *, max_pages: int | None = None
    ) -> list[Claim]:
        since = self._since(job_id)
        with self.transaction() as conn:
            now = self.clock()
            frontier.release_expired(conn, job_id, now)
            if max_pages is not None:
                limit = min(limit, frontier.room(conn, job_id, max_pages))
            claims = frontier.claim(conn, job_id, limit, strategy, lease_seconds, now, refresh=since is not None)
            if since is None or not claims:
                return claims
            rows = conn.execute(refresh.earlier_for_claims(len(claims)), (since, *(c.page_id for c in claims)))
            return refresh.attach_earlier(claims, rows.fetchall())

    def _since(self, job_id: str) -> str | None:
        """The job a job refreshes (fixed at its creation, so asked once)."""
        if job_id not in self._since_jobs:
            row = self.conn.execute("SELECT since_job FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                raise JobNotFoundError(job_id)
            self._since_jobs[job_id] = row[0]
        return self._since_jobs[job_id]

    def index_pages(self, job_id: str, limit: int | None = None) -> int:
        with self.transaction() as conn:
            return search_index.index_pending(conn, job_id, limit)

    def release(self, job_id: str, page_ids: list[int] | None = None) -> None:
        with self.transaction() as conn:
            frontier.release(conn, job_id, page_ids)

    def add_discovered(
        self,
        job_id: str,
        links: list[NewLink],
        *,
        max_depth: int,
        event: dict[str, Any],
        event_type: str = "sitemaps_read",
    ) -> int:
        """Add URLs found outside pages (sitemaps) with the event that says where from."""
        with self.transaction() as conn:
            added = frontier.add_links(conn, job_id, links, time.time(), max_depth=max_depth)
            conn.executemany(  # a page already pending takes the higher of its scores (a refresh's sitemap news)
                "UPDATE pages SET score = ? WHERE job_id = ? AND url_key = ? AND status = 'pending' AND score < ?",
                [
                    (l.score, job_id, l.url_key, l.score)
                    for l in links
                    if l.score > 0 and l.status == PageStatus.PENDING
                ],
            )
            self._event(conn, job_id, event_type, None, {**event, "added": added})
        return added

    def skip_pending(self, job_id: str, reason: str) -> int:
        with self.transaction() as conn:
            return frontier.skip_pending(conn, job_id, reason)

    def commit_batch(self, job_id: str, outcomes: list[PageOutcome], *, max_depth: int | None = None) -> None:
        """Write a batch — pages, their links, events, counters — in one transaction."""
        with self.transaction() as conn:
            commit_outcomes(_PageWrites(self, conn, job_id, time.time(), self._since(job_id)), outcomes, max_depth)

    def _write_page(self, conn: sqlite3.Connection, job_id: str, o: PageOutcome, now: float) -> None:
        completed = o.status == PageStatus.COMPLETED
        columns = page_columns(o)
        assignments = ", ".join(f"{name} = :{name}" for name in columns)
        conn.execute(
            f"UPDATE pages SET {assignments}, lease_until = NULL, lease = NULL, worker = :worker, "
            "updated_at = :now WHERE id = :id",
            {**columns, "worker": self.worker, "now": now, "id": o.page_id},
        )
        if completed and o.block_hashes:
            conn.executemany(
                "INSERT INTO blocks (job_id, hash, pages) VALUES (?, ?, 1) "
                "ON CONFLICT (job_id, hash) DO UPDATE SET pages = pages + 1",
                [(job_id, h) for h in o.block_hashes],
            )
        if completed:
            conn.execute(
                "UPDATE pages SET seq = (SELECT completed FROM jobs WHERE id = ?) WHERE id = ?", (job_id, o.page_id)
            )

    # -- events -----------------------------------------------------------------------

    def event(self, job_id: str, type_: str, url: str | None = None, payload: dict[str, Any] | None = None) -> None:
        with self.transaction() as conn:
            self._event(conn, job_id, type_, url, payload)

    @staticmethod
    def _event(
        conn: sqlite3.Connection, job_id: str, type_: str, url: str | None, payload: dict[str, Any] | None
    ) -> None:
        conn.execute(
            "INSERT INTO events (job_id, ts, type, url, payload) VALUES (?, ?, ?, ?, ?)",
            (job_id, time.time(), type_, url, json.dumps(payload) if payload else None),
        )


@dataclass
class _PageWrites:
    """commit_flow.PageWrites in one SQLite transaction."""

    writer: SQLiteWriter
    conn: sqlite3.Connection
    job_id: str
    now: float
    since: str | None

    def held(self, page_id: int) -> dict[str, Any] | None:
        row = self.conn.execute(
            "SELECT status, lease, depth, lease_until < ? AS expired FROM pages WHERE id = ?",
            (self.writer.clock(), page_id),
        ).fetchone()
        return dict(row) if row else None

    def earlier(self, page_id: int) -> dict[str, Any] | None:
        if self.since is None:
            return None
        row = self.conn.execute(refresh.EARLIER_ROW, (self.since, page_id)).fetchone()
        return dict(row) if row else None

    def candidates(self, o: PageOutcome) -> Candidates:
        return _candidates(self.conn, self.job_id, o)

    def add_links(self, links: list[NewLink], max_depth: int | None) -> int:
        return frontier.add_links(self.conn, self.job_id, links, self.now, max_depth=max_depth)

    def skip(self, page_id: int, reason: str) -> None:
        self.conn.execute("UPDATE pages SET status = ?, reason = ? WHERE id = ?", (PageStatus.SKIPPED, reason, page_id))

    def demote(self, page: StoredPage, original: str) -> None:
        _demote(self.conn, self.job_id, page, original)

    def write_page(self, o: PageOutcome) -> None:
        self.writer._write_page(self.conn, self.job_id, o, self.now)

    def record_outlinks(self, page_id: int, keys: list[str]) -> None:
        frontier.record_outlinks(self.conn, self.job_id, page_id, keys)

    def event(self, type_: str, url: str | None, payload: dict[str, Any] | None) -> None:
        self.writer._event(self.conn, self.job_id, type_, url, payload)


def _candidates(conn: sqlite3.Connection, job_id: str, o: PageOutcome) -> Candidates:
    """What `duplicates.judge` compares a completed page with, in a few indexed lookups."""
    done = PageStatus.COMPLETED
    target = None
    if o.final_key:
        row = conn.execute("SELECT id, url, status FROM pages WHERE job_id = ? AND url_key = ?",
                           (job_id, o.final_key)).fetchone()  # fmt: skip
        target = StoredPage(row["id"], row["url"], PageStatus(row["status"])) if row else None
    same = None
    if o.content_hash:
        row = conn.execute(
            "SELECT id, url FROM pages WHERE job_id = ? AND content_hash = ? AND status = ? AND id != ? LIMIT 1",
            (job_id, o.content_hash, done, o.page_id),
        ).fetchone()
        same = StoredPage(row["id"], row["url"], done) if row else None
    canonical = None
    if o.canonical_key:
        row = conn.execute(
            "SELECT id, url, sketch, block_hashes FROM pages WHERE job_id = ? AND url_key = ? AND status = ?",
            (job_id, o.canonical_key, done),
        ).fetchone()
        canonical = stored_page(dict(row)) if row else None
    naming_it = conn.execute(
        "SELECT id, url, sketch, block_hashes FROM pages WHERE job_id = ? AND canonical_key = ? "
        "AND status = ? AND id != ?",
        (job_id, dedup_key(o.url), done, o.page_id),  # the key the page's row was stored under
    ).fetchall()
    return Candidates(target, same, _near(conn, job_id, o), canonical, [stored_page(dict(r)) for r in naming_it])


def _near(conn: sqlite3.Connection, job_id: str, o: PageOutcome) -> list[StoredPage]:
    """Completed pages sharing one of the page's four smallest line hashes in one of the
    four band columns: four indexed lookups. (One query OR-ing the bands made SQLite scan
    every completed page of the job, a cost that grew with the crawl: 3.8 ms a page at 500.)"""
    if o.sketch is None:
        return []
    keys = list(o.sketch[:4])
    marks = ",".join("?" * len(keys))
    branch = (  # the status is spelled out: the partial band indexes are only usable then
        "SELECT id, url, sketch, NULL AS block_hashes FROM pages INDEXED BY pages_band{n} "
        f"WHERE job_id = ? AND status = 'completed' AND sketch IS NOT NULL AND band{{n}} IN ({marks}) AND id != ?"
    )
    query = " UNION ".join(branch.format(n=n) for n in range(4))
    rows = conn.execute(query, [job_id, *keys, o.page_id] * 4).fetchall()
    return [stored_page(dict(r)) for r in rows]


def _demote(conn: sqlite3.Connection, job_id: str, page: StoredPage, original: str) -> None:
    search_index.unindex(conn, "s.page_id = ?", (page.id,))  # while its Markdown is there to unindex
    conn.execute(
        "UPDATE pages SET status = ?, reason = ?, duplicate_of = ?, markdown = NULL, html_gz = NULL, "
        "content_hash = NULL, sketch = NULL, band0 = NULL, band1 = NULL, band2 = NULL, band3 = NULL, "
        "block_hashes = NULL WHERE id = ?",
        (PageStatus.SKIPPED, duplicates.reason_for_canonical(original), original, page.id),
    )
    conn.executemany(
        "UPDATE blocks SET pages = pages - 1 WHERE job_id = ? AND hash = ?",
        [(job_id, h) for h in page.block_hashes],
    )


def _alive(worker: str | None, heartbeat_at: float | None) -> bool:
    """Is the process that last ran a job still running it?"""
    if not worker or heartbeat_at is None:
        return False
    host, _, pid = worker.rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        if int(pid) == os.getpid():
            return True
    return time.time() - heartbeat_at < HEARTBEAT_STALE_S
