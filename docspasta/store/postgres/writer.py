"""The store writer over PostgreSQL (see contract.StoreWriter): the SQLite writer's
behaviour, for a store that outlives any process and is shared by workers on many
machines.

Every time (created, heartbeat, lease) comes from the database's clock, never a worker's.
A job's liveness is its heartbeat's age on that clock: a pid means nothing on another
machine. Each write is one transaction that first locks the job's row (frontier.lock_job),
so writers of one job queue instead of deadlocking. Driver errors become StoreError here.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import psycopg

from ...errors import JobNotFoundError, StoreError, StoreUnavailableError
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
from ..page_rows import finalize_verdict, job_record, page_columns, stored_page
from ..reading_order import OrderItem, reading_order
from ..sections import section_rows
from . import frontier, migrations
from .connect import RECONNECT_FIRST_S, RECONNECT_MAX_S, connect, display_url
from .frontier import NOW, WORKER_STALE_S, Conn
from .migrations import insert_sections
from .reads import QmarkConnection

HEARTBEAT_STALE_S = 30.0  # a job whose last heartbeat (from any worker) is older has nobody running it
OUTAGE_S = 60.0  # how long a call waits for a lost database before giving up (the default lease)
T = TypeVar("T")
log = logging.getLogger(__name__)  # a worker silent this long on a job is gone: its pages may be handed out again


class PostgresWriter:
    """The write side over one PostgreSQL database. Use it from one thread."""

    shares_jobs = True  # any number of workers may run one job at once

    def __init__(self, url: str, *, worker: str | None = None) -> None:
        self.url = url
        self.location = display_url(url)
        self.worker = worker or worker_name()
        self._since_jobs: dict[str, str | None] = {}
        self.conn = connect(url)
        try:
            migrations.apply(self.conn)
        except psycopg.Error as exc:
            self.conn.close()
            raise StoreError(f"cannot set up the docspasta tables in {self.location}: {exc}") from exc

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> PostgresWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self, job_id: str | None = None) -> Iterator[Conn]:
        """One transaction; with a job id, its row is locked first (JobNotFoundError if none)."""
        try:
            with self.conn.transaction():
                if job_id is not None and not frontier.lock_job(self.conn, job_id):
                    raise JobNotFoundError(job_id)
                yield self.conn
        except psycopg.OperationalError as exc:
            raise _ConnectionLost(f"lost the database at {self.location}: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreError(f"the database at {self.location} failed: {exc}") from exc

    def _reconnect(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        self.conn = connect(self.url)

    # -- jobs -----------------------------------------------------------------------

    def create_job(self, settings: CrawlSettings, *, owner: str | None = None, run_by: RunBy = RunBy.CREATOR) -> str:
        with self.transaction() as conn:
            return _insert_job(conn, settings, owner, run_by, None)

    def create_refresh(
        self,
        since_id: str,
        *,
        overrides: Mapping[str, Any] | None = None,
        owner: str | None = None,
        run_by: RunBy = RunBy.CREATOR,
    ) -> str:
        with self.transaction() as conn:
            row = conn.execute("SELECT status, settings FROM jobs WHERE id = %s", (since_id,)).fetchone()
            if row is None:
                raise JobNotFoundError(since_id)
            settings = refresh.refresh_settings(since_id, row["status"], row["settings"], overrides or {})
            job_id = _insert_job(conn, settings, owner, run_by, since_id)
            QmarkConnection(conn).execute(refresh.SEED_FROM_EARLIER, (job_id, time.time(), since_id))
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
        comparison_id = "c" + secrets.token_hex(6)
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO comparisons (id, created_at, start_url, mode, owner) VALUES (%s, {NOW}, %s, %s, %s)",
                (comparison_id, start_url, mode, owner),
            )
        job_ids = []
        for label, settings in variants:
            job_id = self.create_job(settings, owner=owner, run_by=run_by)
            self.add_to_comparison(comparison_id, job_id, label)
            job_ids.append(job_id)
        return comparison_id, job_ids

    def add_to_comparison(self, comparison_id: str, job_id: str, label: str) -> None:
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM comparisons WHERE id = %s", (comparison_id,)).fetchone() is None:
                raise StoreError(f"no comparison {comparison_id!r} in this database")
            updated = conn.execute(
                "UPDATE jobs SET comparison_id = %s, label = %s WHERE id = %s", (comparison_id, label, job_id)
            )
            if updated.rowcount == 0:
                raise JobNotFoundError(job_id)

    def job(self, job_id: str) -> JobRecord:
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM jobs WHERE id = %s", (job_id,)).fetchone()
        if row is None:
            raise JobNotFoundError(job_id)
        return job_record(row)

    def acquire(self, job_id: str, worker: str | None = None) -> JobRecord:
        """Run a job, alone or beside the workers already running it (each claims its own
        pages). The first to take it, or the first after every earlier worker went silent
        on the database's clock, starts or resumes it, and the pages those left in flight
        return to pending; a later one joins it as it is."""
        worker = worker or self.worker
        with self.transaction(job_id) as conn:
            row = conn.execute("SELECT status, started_at FROM jobs WHERE id = %s", (job_id,)).fetchone()
            assert row is not None  # the row is locked
            joining = row["status"] == JobStatus.RUNNING and _live_others(conn, job_id, worker) > 0
            conn.execute(
                f"INSERT INTO job_workers (job_id, worker, joined_at, heartbeat_at) VALUES (%s, %s, {NOW}, {NOW}) "
                f"ON CONFLICT (job_id, worker) DO UPDATE SET joined_at = {NOW}, heartbeat_at = {NOW}",
                (job_id, worker),
            )
            if joining:
                _event(conn, job_id, "worker_joined", None, {"worker": worker})
                return self.job(job_id)
            conn.execute(  # a cancel or pause asked for before anyone ran the job still holds
                f"UPDATE jobs SET status = %s, worker = %s, heartbeat_at = {NOW}, "
                f"control = CASE WHEN status = 'pending' THEN control END, "
                f"started_at = coalesce(started_at, {NOW}), finished_at = NULL, error = NULL WHERE id = %s",
                (JobStatus.RUNNING, worker, job_id),
            )
            released = frontier.release(conn, job_id)
            started = "job_resumed" if row["started_at"] is not None else "job_started"
            _event(conn, job_id, started, None, {"worker": worker, "released": released})
        return self.job(job_id)

    def leave(self, job_id: str, leases: Sequence[str] = ()) -> None:
        """Stop running a job: this worker's pages go back to pending; a job no other live
        worker runs becomes `interrupted` (resumable)."""
        with self.transaction(job_id) as conn:
            frontier.release_leases(conn, job_id, list(leases))
            conn.execute("DELETE FROM job_workers WHERE job_id = %s AND worker = %s", (job_id, self.worker))
            conn.execute("DELETE FROM host_slots WHERE job_id = %s AND worker = %s", (job_id, self.worker))
            row = conn.execute("SELECT status FROM jobs WHERE id = %s", (job_id,)).fetchone()
            assert row is not None
            if row["status"] != JobStatus.RUNNING:
                return
            if _live_others(conn, job_id, self.worker) > 0:
                _event(conn, job_id, "worker_left", None, {"worker": self.worker})
                return
            frontier.release(conn, job_id)
            conn.execute(
                f"UPDATE jobs SET status = %s, control = NULL, finished_at = {NOW}, heartbeat_at = {NOW} WHERE id = %s",
                (JobStatus.INTERRUPTED, job_id),
            )
            _event(conn, job_id, "job_interrupted", None, {"worker": self.worker})

    def try_finalize(self, job_id: str, max_pages: int) -> Finalize:
        """Whether this worker, out of pages to claim, finalizes the job (see records.Finalize)."""
        with self.transaction(job_id) as conn:
            row = QmarkConnection(conn).execute(job_queue.FINALIZE_COUNTS, (job_id,) * 3).fetchone()
            assert row is not None
            verdict = finalize_verdict(row, max_pages)
            if verdict == Finalize.YOURS:
                conn.execute("UPDATE jobs SET step = %s WHERE id = %s", (JobStep.FINALIZING, job_id))
                _event(conn, job_id, "step", None, {"step": JobStep.FINALIZING})
            return verdict

    def take_jobs(self, limit: int) -> list[str]:
        """Jobs left to workers that a worker may run now, oldest first (job_queue.TAKE_JOBS)."""
        with self.transaction() as conn:
            rows = QmarkConnection(conn).execute(job_queue.TAKE_JOBS, (limit,)).fetchall()
        return [r["id"] for r in rows]

    def enqueue(self, job_id: str) -> None:
        """Leave a job to workers: a paused, interrupted, failed or cancelled one waits for them as `pending`."""
        with self.transaction(job_id) as conn:
            QmarkConnection(conn).execute(job_queue.ENQUEUE, (job_id,))
            _event(conn, job_id, "job_enqueued", None, None)

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
                "UPDATE jobs SET scope_host = %s, scope_prefix = %s, site_title = %s, markdown_base = %s, "
                "markdown_relative = %s WHERE id = %s",
                (host, prefix, site_title, markdown_base, markdown_relative, job_id),
            )

    def set_step(self, job_id: str, step: JobStep) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE jobs SET step = %s WHERE id = %s", (step, job_id))
            _event(conn, job_id, "step", None, {"step": step})

    def heartbeat(
        self, job_id: str, run_seconds: float, *, renew: Sequence[str] = (), lease_seconds: float = 0.0
    ) -> Beat:
        """This worker's liveness on the database's clock; the leases it still holds are
        extended. Run time grows by wall time, however many workers beat: each adds the time
        since the job's last heartbeat from anyone, at most its own `run_seconds`."""
        with self.transaction() as conn:
            row = conn.execute(
                f"UPDATE jobs SET heartbeat_at = {NOW}, "
                f"run_seconds = run_seconds + least(%s, greatest(0, {NOW} - coalesce(heartbeat_at, {NOW} - %s))) "
                "WHERE id = %s RETURNING control, status, step",
                (run_seconds, run_seconds, job_id),
            ).fetchone()
            if row is None:
                raise JobNotFoundError(job_id)
            conn.execute(
                f"UPDATE job_workers SET heartbeat_at = {NOW} WHERE job_id = %s AND worker = %s",
                (job_id, self.worker),
            )
            if renew:
                conn.execute(
                    f"UPDATE pages SET lease_until = {NOW} + %s "
                    "WHERE job_id = %s AND status = 'processing' AND lease = ANY(%s)",
                    (lease_seconds, job_id, list(renew)),
                )
            others = _live_others(conn, job_id, self.worker)
        control = Control(row["control"]) if row["control"] else None
        return Beat(control, JobStatus(row["status"]), JobStep(row["step"]), others)

    def request_control(self, job_id: str, action: Control) -> None:
        with self.transaction(job_id) as conn:
            row = conn.execute("SELECT status, run_by FROM jobs WHERE id = %s", (job_id,)).fetchone()
            assert row is not None
            if row["status"] == JobStatus.PENDING and row["run_by"] == RunBy.WORKERS:
                # nobody runs it yet, and a worker may take it any moment: it ends (or pauses) now
                ended = JobStatus.CANCELLED if action == Control.CANCEL else JobStatus.PAUSED
                conn.execute(f"UPDATE jobs SET status = %s, finished_at = {NOW} WHERE id = %s", (ended, job_id))
            elif row["status"] in (JobStatus.RUNNING, JobStatus.PENDING):
                conn.execute("UPDATE jobs SET control = %s WHERE id = %s", (action, job_id))
            elif row["status"] in (JobStatus.INTERRUPTED, JobStatus.PAUSED) and action == Control.CANCEL:
                conn.execute(
                    f"UPDATE jobs SET status = %s, finished_at = {NOW} WHERE id = %s",
                    (JobStatus.CANCELLED, job_id),
                )
                frontier.release(conn, job_id)
            _event(conn, job_id, f"{action}_requested", None, None)

    def store_reading_order(self, job_id: str, start_url: str) -> None:
        with self.transaction(job_id) as conn:
            rows = conn.execute(
                "SELECT id, url, final_url, next_url, prev_url FROM pages WHERE job_id = %s AND status = %s",
                (job_id, PageStatus.COMPLETED),
            ).fetchall()
            items = [OrderItem(r["id"], r["url"], r["final_url"], r["next_url"], r["prev_url"]) for r in rows]
            order = reading_order(items, start_url)
            conn.execute("UPDATE pages SET position = NULL WHERE job_id = %s AND position IS NOT NULL", (job_id,))
            conn.execute(
                "UPDATE pages SET position = o.n - 1 FROM unnest(%s::bigint[]) WITH ORDINALITY AS o(id, n) "
                "WHERE pages.id = o.id",
                (order,),
            )

    def finish(self, job_id: str, status: JobStatus, *, error: str | None = None, step: JobStep | None = None) -> None:
        with self.transaction(job_id) as conn:
            frontier.release(conn, job_id)
            conn.execute("DELETE FROM job_workers WHERE job_id = %s", (job_id,))
            conn.execute("DELETE FROM host_slots WHERE job_id = %s", (job_id,))
            conn.execute(
                f"UPDATE jobs SET status = %s, error = %s, control = NULL, step = coalesce(%s, step), "
                f"finished_at = {NOW}, heartbeat_at = {NOW} WHERE id = %s",
                (status, error, step, job_id),
            )
            _event(conn, job_id, f"job_{status}", None, {"error": error} if error else None)

    def delete_job(self, job_id: str) -> None:
        with self.transaction() as conn:
            if conn.execute("DELETE FROM jobs WHERE id = %s", (job_id,)).rowcount == 0:
                raise JobNotFoundError(job_id)

    def resumable_jobs(self) -> list[str]:
        """Jobs left `running` whose heartbeat is older than 30 s on the database's clock."""
        with self.transaction() as conn:
            rows = conn.execute(
                f"SELECT id FROM jobs WHERE status = %s "
                f"AND (heartbeat_at IS NULL OR heartbeat_at < {NOW} - %s) ORDER BY created_at",
                (JobStatus.RUNNING, HEARTBEAT_STALE_S),
            ).fetchall()
        return [r["id"] for r in rows]

    # -- the frontier ---------------------------------------------------------------

    def page_status(self, job_id: str, url_key: str) -> PageStatus | None:
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT status FROM pages WHERE job_id = %s AND url_key = %s", (job_id, url_key)
            ).fetchone()
        return PageStatus(row["status"]) if row else None

    def claim(
        self, job_id: str, limit: int, strategy: StrategyName, lease_seconds: float, *, max_pages: int | None = None
    ) -> list[Claim]:
        with self.transaction(job_id) as conn:
            since = self._since(conn, job_id)
            frontier.release_expired(conn, job_id, WORKER_STALE_S)
            if max_pages is not None:
                limit = min(limit, frontier.room(conn, job_id, max_pages))
            claims = frontier.claim(
                conn, job_id, limit, strategy, lease_seconds, self.worker, refresh=since is not None
            )
            if since is None or not claims:
                return claims
            earlier = refresh.earlier_for_claims(len(claims))
            rows = QmarkConnection(conn).execute(earlier, (since, *(c.page_id for c in claims))).fetchall()
            return refresh.attach_earlier(claims, rows)

    def _since(self, conn: Conn, job_id: str) -> str | None:
        """The job a job refreshes (fixed at its creation, so asked once)."""
        if job_id not in self._since_jobs:
            row = conn.execute("SELECT since_job FROM jobs WHERE id = %s", (job_id,)).fetchone()
            if row is None:
                raise JobNotFoundError(job_id)
            self._since_jobs[job_id] = row["since_job"]
        return self._since_jobs[job_id]

    def index_pages(self, job_id: str, limit: int | None = None) -> int:
        with self.transaction(job_id) as conn:  # the job's row lock: two workers never index one page twice
            pages = conn.execute(
                "SELECT id, coalesce(title, url) AS title, markdown FROM pages WHERE job_id = %s "
                "AND status = 'completed' AND NOT indexed ORDER BY id LIMIT %s",
                (job_id, limit),
            ).fetchall()
            rows = [s for p in pages for s in section_rows(job_id, p["id"], p["title"], p["markdown"] or "")]
            insert_sections(conn, rows)
            conn.execute("UPDATE pages SET indexed = true WHERE id = ANY(%s)", ([p["id"] for p in pages],))
        return len(pages)

    def release(self, job_id: str, page_ids: list[int] | None = None) -> None:
        with self.transaction(job_id) as conn:
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
        with self.transaction(job_id) as conn:
            added = frontier.add_links(conn, job_id, links, max_depth=max_depth)
            scored = [l for l in links if l.score > 0 and l.status == PageStatus.PENDING]
            if scored:  # a page already pending takes the higher of its scores (a refresh's sitemap news)
                conn.execute(
                    "UPDATE pages p SET score = u.score FROM unnest(%s::text[], %s::float8[]) AS u(k, score) "
                    "WHERE p.job_id = %s AND p.url_key = u.k AND p.status = 'pending' AND p.score < u.score",
                    ([l.url_key for l in scored], [l.score for l in scored], job_id),
                )
            _event(conn, job_id, event_type, None, {**event, "added": added})
        return added

    def skip_pending(self, job_id: str, reason: str) -> int:
        with self.transaction(job_id) as conn:
            return frontier.skip_pending(conn, job_id, reason)

    def commit_batch(self, job_id: str, outcomes: list[PageOutcome], *, max_depth: int | None = None) -> None:
        with self.transaction(job_id) as conn:
            writes = _PageWrites(self, conn, job_id, self._since(conn, job_id))
            commit_outcomes(writes, outcomes, max_depth)
            writes.flush_events()

    def _write_page(self, conn: Conn, job_id: str, o: PageOutcome) -> None:
        columns = page_columns(o)
        assignments = ", ".join(f"{name} = %({name})s" for name in columns)
        # a completed page's seq is the job's completed count once it is counted (the job's row is
        # locked, and the counter trigger adds this page after the update)
        seq = "(SELECT completed + 1 FROM jobs WHERE id = %(job)s)" if o.status == PageStatus.COMPLETED else "seq"
        conn.execute(
            f"UPDATE pages SET {assignments}, lease_until = NULL, lease = NULL, worker = %(worker)s, "
            f"seq = {seq}, updated_at = {NOW} WHERE id = %(id)s",
            {**columns, "worker": self.worker, "id": o.page_id, "job": job_id},
        )
        if o.status == PageStatus.COMPLETED and o.block_hashes:
            conn.execute(
                "INSERT INTO blocks (job_id, hash, pages) SELECT %s, h, count(*) FROM unnest(%s::text[]) AS h "
                "GROUP BY h ON CONFLICT (job_id, hash) DO UPDATE SET pages = blocks.pages + excluded.pages",
                (job_id, list(o.block_hashes)),
            )

    # -- events -----------------------------------------------------------------------

    def event(self, job_id: str, type_: str, url: str | None = None, payload: dict[str, Any] | None = None) -> None:
        with self.transaction() as conn:
            _event(conn, job_id, type_, url, payload)


class _ConnectionLost(StoreError):
    """The connection broke mid-call (a restart, a partition): the call is retried on a new one."""


def _retrying(method: Callable[..., T]) -> Callable[..., T]:
    """Re-run a writer call whose connection was lost, reconnecting with back-off, for up
    to OUTAGE_S; then StoreUnavailableError. A retried commit is safe: its pages are fenced
    by their leases, so work stored by the first try is never stored twice."""

    @functools.wraps(method)
    def call(self: PostgresWriter, *args: Any, **kwargs: Any) -> T:
        started, wait = time.monotonic(), RECONNECT_FIRST_S
        while True:
            try:
                return method(self, *args, **kwargs)
            except _ConnectionLost as lost:
                error: StoreError = lost
            while True:
                if time.monotonic() - started > OUTAGE_S:
                    raise StoreUnavailableError(
                        f"the database at {self.location} has been unreachable for over {OUTAGE_S:g} s: {error}"
                    ) from error
                log.warning("%s; reconnecting in %.2f s", error, wait)
                time.sleep(wait)
                wait = min(RECONNECT_MAX_S, wait * 2)
                try:
                    self._reconnect()
                    break
                except StoreError as exc:
                    error = exc

    return call


for _name, _method in list(vars(PostgresWriter).items()):
    if callable(_method) and not _name.startswith("_") and _name not in ("close", "transaction"):
        setattr(PostgresWriter, _name, _retrying(_method))


def _insert_job(conn: Conn, settings: CrawlSettings, owner: str | None, run_by: RunBy, since: str | None) -> str:
    job_id = secrets.token_hex(6)
    start = normalize(settings.url) or settings.url
    conn.execute(
        f"INSERT INTO jobs (id, created_at, status, step, start_url, settings, owner, run_by, since_job) "
        f"VALUES (%s, {NOW}, %s, %s, %s, %s, %s, %s, %s)",
        (job_id, JobStatus.PENDING, JobStep.DISCOVERY, start, settings.to_json(), owner, run_by, since),
    )
    first = NewLink(start, dedup_key(start), 0, None, FoundBy.START, PageStatus.PENDING)
    frontier.add_links(conn, job_id, [first])
    payload: dict[str, Any] = {"settings": settings.to_dict()} | ({"since": since} if since else {})
    _event(conn, job_id, "job_created", start, payload)
    return job_id


def _live_others(conn: Conn, job_id: str, worker: str) -> int:
    """Workers other than `worker` whose heartbeat on this job is fresh."""
    row = conn.execute(
        f"SELECT count(*) AS n FROM job_workers WHERE job_id = %s AND worker != %s AND heartbeat_at > {NOW} - %s",
        (job_id, worker, WORKER_STALE_S),
    ).fetchone()
    return int(row["n"]) if row else 0


def _event(conn: Conn, job_id: str, type_: str, url: str | None, payload: dict[str, Any] | None) -> None:
    conn.execute(
        f"INSERT INTO events (job_id, ts, type, url, payload) VALUES (%s, {NOW}, %s, %s, %s)",
        (job_id, type_, url, json.dumps(payload) if payload else None),
    )


@dataclass
class _PageWrites:
    """commit_flow.PageWrites in one PostgreSQL transaction (the job's row already locked)."""

    writer: PostgresWriter
    conn: Conn
    job_id: str
    since: str | None
    events: list[tuple[str, str | None, str | None]] = field(default_factory=list)  # written once, at the end

    def held(self, page_id: int) -> dict[str, Any] | None:
        return self.conn.execute(
            f"SELECT status, lease, depth, lease_until < {NOW} AS expired FROM pages WHERE id = %s", (page_id,)
        ).fetchone()

    def earlier(self, page_id: int) -> dict[str, Any] | None:
        if self.since is None:
            return None
        row: dict[str, Any] | None = (
            QmarkConnection(self.conn).execute(refresh.EARLIER_ROW, (self.since, page_id)).fetchone()
        )
        return row

    def candidates(self, o: PageOutcome) -> Candidates:
        return _candidates(self.conn, self.job_id, o)

    def add_links(self, links: list[NewLink], max_depth: int | None) -> int:
        return frontier.add_links(self.conn, self.job_id, links, max_depth=max_depth)

    def skip(self, page_id: int, reason: str) -> None:
        self.conn.execute(
            "UPDATE pages SET status = %s, reason = %s WHERE id = %s", (PageStatus.SKIPPED, reason, page_id)
        )

    def demote(self, page: StoredPage, original: str) -> None:
        _demote(self.conn, self.job_id, page, original)

    def write_page(self, o: PageOutcome) -> None:
        self.writer._write_page(self.conn, self.job_id, o)

    def record_outlinks(self, page_id: int, keys: list[str]) -> None:
        frontier.record_outlinks(self.conn, self.job_id, page_id, keys)

    def event(self, type_: str, url: str | None, payload: dict[str, Any] | None) -> None:
        self.events.append((type_, url, json.dumps(payload) if payload else None))

    def flush_events(self) -> None:
        """The batch's events in one statement, in the order they happened."""
        if self.events:
            types, urls, payloads = (list(c) for c in zip(*self.events, strict=True))
            self.conn.execute(
                f"INSERT INTO events (job_id, ts, type, url, payload) SELECT %s, {NOW}, t, u, p "
                "FROM unnest(%s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS e(t, u, p, n) ORDER BY n",
                (self.job_id, types, urls, payloads),
            )
            self.events.clear()


def _candidates(conn: Conn, job_id: str, o: PageOutcome) -> Candidates:
    """What `duplicates.judge` compares a completed page with, in a few indexed lookups."""
    done = PageStatus.COMPLETED
    target = None
    if o.final_key:
        row = conn.execute("SELECT id, url, status FROM pages WHERE job_id = %s AND url_key = %s",
                           (job_id, o.final_key)).fetchone()  # fmt: skip
        target = StoredPage(row["id"], row["url"], PageStatus(row["status"])) if row else None
    same = None
    if o.content_hash:
        row = conn.execute(
            "SELECT id, url FROM pages WHERE job_id = %s AND content_hash = %s AND status = %s AND id != %s LIMIT 1",
            (job_id, o.content_hash, done, o.page_id),
        ).fetchone()
        same = stored_page(row) if row else None
    canonical = None
    if o.canonical_key:
        row = conn.execute(
            "SELECT id, url, sketch, block_hashes FROM pages WHERE job_id = %s AND url_key = %s AND status = %s",
            (job_id, o.canonical_key, done),
        ).fetchone()
        canonical = stored_page(row) if row else None
    naming_it = conn.execute(
        "SELECT id, url, sketch, block_hashes FROM pages WHERE job_id = %s AND canonical_key = %s "
        "AND status = %s AND id != %s",
        (job_id, dedup_key(o.url), done, o.page_id),  # the key the page's row was stored under
    ).fetchall()
    near = []
    if o.sketch is not None:
        keys = list(o.sketch[:4])
        near = conn.execute(
            "SELECT id, url, sketch FROM pages WHERE job_id = %(job)s AND status = 'completed' "
            "AND sketch IS NOT NULL AND id != %(id)s AND (band0 = ANY(%(k)s) OR band1 = ANY(%(k)s) "
            "OR band2 = ANY(%(k)s) OR band3 = ANY(%(k)s))",
            {"job": job_id, "id": o.page_id, "k": keys},
        ).fetchall()
    return Candidates(target, same, [stored_page(r) for r in near], canonical, [stored_page(r) for r in naming_it])


def _demote(conn: Conn, job_id: str, page: StoredPage, original: str) -> None:
    conn.execute(
        "UPDATE pages SET status = %s, reason = %s, duplicate_of = %s, markdown = NULL, html_gz = NULL, "
        "content_hash = NULL, sketch = NULL, band0 = NULL, band1 = NULL, band2 = NULL, band3 = NULL, "
        "block_hashes = NULL WHERE id = %s",
        (PageStatus.SKIPPED, duplicates.reason_for_canonical(original), original, page.id),
    )
    if page.block_hashes:
        conn.execute(
            "UPDATE blocks SET pages = pages - 1 WHERE job_id = %s AND hash = ANY(%s)",
            (job_id, list(page.block_hashes)),
        )
    conn.execute("DELETE FROM sections WHERE page_id = %s", (page.id,))
