"""The PostgreSQL schema: the same tables, columns and status values as the SQLite store
(`jobs`, `pages`, `events`, `blocks`, `links`, `comparisons`) in the default schema, so
other tools query either alike. Times are epoch seconds (double precision), as in SQLite,
and always from the database's clock.

Migrations are applied in order, once each, by whichever process opens the store first;
an advisory lock makes concurrent first openers (several workers starting together) wait
for one another. Never edit an applied migration; add a new one.
"""

from __future__ import annotations

from typing import Any

import psycopg

from ..page_rows import markdown_hash
from ..sections import section_rows

LOCK_KEY = 0x646F6373  # "docs": the advisory lock taken while migrating

M001_INITIAL = """
CREATE TABLE comparisons (
    id TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    start_url TEXT NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('sequential', 'parallel')),
    owner TEXT
);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    created_at DOUBLE PRECISION NOT NULL,
    started_at DOUBLE PRECISION,
    finished_at DOUBLE PRECISION,
    heartbeat_at DOUBLE PRECISION,
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'paused', 'completed', 'failed', 'cancelled', 'interrupted')),
    step TEXT NOT NULL DEFAULT 'discovery' CHECK (step IN ('discovery', 'crawling', 'finalizing', 'done')),
    control TEXT CHECK (control IN ('cancel', 'pause')),
    worker TEXT,
    owner TEXT,
    start_url TEXT NOT NULL,
    settings TEXT NOT NULL,
    scope_host TEXT,
    scope_prefix TEXT,
    site_title TEXT,
    run_seconds DOUBLE PRECISION NOT NULL DEFAULT 0,
    discovered INTEGER NOT NULL DEFAULT 0,
    queued INTEGER NOT NULL DEFAULT 0,
    completed INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    skipped INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    comparison_id TEXT REFERENCES comparisons (id) ON DELETE SET NULL,
    label TEXT
);
CREATE INDEX jobs_status ON jobs (status);
CREATE INDEX jobs_comparison ON jobs (comparison_id);

CREATE TABLE pages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    url_key TEXT NOT NULL,
    final_url TEXT,
    depth INTEGER NOT NULL,
    discovered_from TEXT,
    found_by TEXT NOT NULL DEFAULT 'link',
    status TEXT NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'skipped')),
    reason TEXT,
    retries INTEGER NOT NULL DEFAULT 0,
    lease_until DOUBLE PRECISION,
    http_status INTEGER,
    content_type TEXT,
    fetch_ms DOUBLE PRECISION,
    extract_ms DOUBLE PRECISION,
    bytes INTEGER,
    title TEXT,
    quality INTEGER,
    quality_reasons TEXT,
    content_hash TEXT,
    words INTEGER,
    seq INTEGER,
    updated_at DOUBLE PRECISION,
    markdown TEXT,
    html_gz BYTEA,
    extractor TEXT,
    tokens INTEGER,
    sketch TEXT,
    band0 BIGINT,
    band1 BIGINT,
    band2 BIGINT,
    band3 BIGINT,
    block_hashes TEXT,
    fidelity TEXT,
    duplicate_of TEXT,
    score DOUBLE PRECISION NOT NULL DEFAULT 0,
    canonical_key TEXT,
    next_url TEXT,
    prev_url TEXT,
    position INTEGER,
    page_kind TEXT,
    UNIQUE (job_id, url_key)
);
CREATE INDEX pages_frontier ON pages (job_id, status, depth, id);
CREATE INDEX pages_best ON pages (job_id, status, score DESC, depth, id);
CREATE INDEX pages_hash ON pages (job_id, content_hash) WHERE content_hash IS NOT NULL;
CREATE INDEX pages_seq ON pages (job_id, seq) WHERE seq IS NOT NULL;
CREATE INDEX pages_canonical ON pages (job_id, canonical_key) WHERE canonical_key IS NOT NULL;
CREATE INDEX pages_band0 ON pages (job_id, band0) WHERE status = 'completed' AND sketch IS NOT NULL;
CREATE INDEX pages_band1 ON pages (job_id, band1) WHERE status = 'completed' AND sketch IS NOT NULL;
CREATE INDEX pages_band2 ON pages (job_id, band2) WHERE status = 'completed' AND sketch IS NOT NULL;
CREATE INDEX pages_band3 ON pages (job_id, band3) WHERE status = 'completed' AND sketch IS NOT NULL;

CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    ts DOUBLE PRECISION NOT NULL,
    type TEXT NOT NULL,
    url TEXT,
    payload TEXT
);
CREATE INDEX events_job ON events (job_id, id);

CREATE TABLE blocks (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    hash TEXT NOT NULL,
    pages INTEGER NOT NULL,
    PRIMARY KEY (job_id, hash)
);

CREATE TABLE links (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    from_id BIGINT NOT NULL,
    to_key TEXT NOT NULL,
    PRIMARY KEY (job_id, from_id, to_key)
);

-- the job counters follow every page status change, in the page's own transaction
CREATE FUNCTION docspasta_page_counters() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE jobs SET
            discovered = discovered + 1,
            queued = queued + (NEW.status IN ('pending', 'processing'))::int,
            completed = completed + (NEW.status = 'completed')::int,
            failed = failed + (NEW.status = 'failed')::int,
            skipped = skipped + (NEW.status = 'skipped')::int
        WHERE id = NEW.job_id;
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        UPDATE jobs SET
            queued = queued + (NEW.status IN ('pending', 'processing'))::int
                - (OLD.status IN ('pending', 'processing'))::int,
            completed = completed + (NEW.status = 'completed')::int - (OLD.status = 'completed')::int,
            failed = failed + (NEW.status = 'failed')::int - (OLD.status = 'failed')::int,
            skipped = skipped + (NEW.status = 'skipped')::int - (OLD.status = 'skipped')::int
        WHERE id = NEW.job_id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER pages_counters_insert AFTER INSERT ON pages
    FOR EACH ROW EXECUTE FUNCTION docspasta_page_counters();
CREATE TRIGGER pages_counters_update AFTER UPDATE OF status ON pages
    FOR EACH ROW EXECUTE FUNCTION docspasta_page_counters();
"""

M002_LEASE_TOKEN = """
-- each claim's token on the pages it holds: a commit is stored only under the lease it was claimed with
ALTER TABLE pages ADD COLUMN lease TEXT;
"""

M003_WORKERS = """
-- jobs left to `docspasta worker` processes; the workers running each job (liveness by
-- heartbeat age on the database's clock); the per-host limits every worker of a job shares
ALTER TABLE jobs ADD COLUMN run_by TEXT NOT NULL DEFAULT 'creator' CHECK (run_by IN ('creator', 'workers'));
CREATE INDEX jobs_run_by ON jobs (run_by, status);
ALTER TABLE pages ADD COLUMN worker TEXT;  -- who fetched the page
CREATE TABLE job_workers (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    worker TEXT NOT NULL,
    joined_at DOUBLE PRECISION NOT NULL,
    heartbeat_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (job_id, worker)
);
-- one row per request to a host, waiting or in flight: per_host_concurrency and the job's
-- concurrency count the granted rows across every worker, and the oldest waiter goes next
CREATE TABLE host_slots (
    token TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    worker TEXT NOT NULL,
    until DOUBLE PRECISION NOT NULL,
    waiting_since DOUBLE PRECISION NOT NULL,
    granted BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX host_slots_job ON host_slots (job_id, host);
-- when a host's next request may start (min_delay, Crawl-delay, 429/503 back-off), for every
-- worker: a request takes the turn only once it is due (`taker` says who took it last) and,
-- while the host has an interval, holds it until its bytes are on the wire (`held_by`)
CREATE TABLE host_pace (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    host TEXT NOT NULL,
    floor DOUBLE PRECISION NOT NULL,
    delay DOUBLE PRECISION NOT NULL,
    next_at DOUBLE PRECISION NOT NULL,
    taker TEXT,
    held_by TEXT,
    held_until DOUBLE PRECISION,
    PRIMARY KEY (job_id, host)
);

-- a request asks for a slot, in one round trip; see store/postgres/limits.py
CREATE FUNCTION docspasta_take_slot(
    p_job TEXT, p_host TEXT, p_token TEXT, p_worker TEXT, p_job_cap INT, p_host_cap INT,
    p_ttl DOUBLE PRECISION, p_wait_ttl DOUBLE PRECISION, p_stale DOUBLE PRECISION
) RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE
    now_s DOUBLE PRECISION := extract(epoch FROM clock_timestamp());
    mine RECORD;
    job_n INT;
    host_n INT;
    ahead INT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('slots:' || p_job, 0));
    DELETE FROM host_slots s WHERE s.job_id = p_job AND (s.until < now_s OR NOT EXISTS (
        SELECT 1 FROM job_workers w WHERE w.job_id = s.job_id AND w.worker = s.worker
        AND w.heartbeat_at > now_s - p_stale));
    INSERT INTO host_slots (token, job_id, host, worker, until, waiting_since)
        VALUES (p_token, p_job, p_host, p_worker, now_s + p_wait_ttl, now_s)
        ON CONFLICT (token) DO UPDATE SET until = now_s + p_wait_ttl WHERE NOT host_slots.granted;
    SELECT granted, waiting_since INTO mine FROM host_slots WHERE token = p_token;
    IF mine.granted THEN
        RETURN true;
    END IF;
    SELECT count(*) FILTER (WHERE granted), count(*) FILTER (WHERE granted AND host = p_host),
           count(*) FILTER (WHERE NOT granted AND host = p_host AND waiting_since < mine.waiting_since)
        INTO job_n, host_n, ahead FROM host_slots WHERE job_id = p_job;
    IF job_n >= p_job_cap OR host_n + ahead >= p_host_cap THEN
        RETURN false;
    END IF;
    UPDATE host_slots SET granted = true, until = now_s + p_ttl WHERE token = p_token;
    RETURN true;
END $$;
"""

M004_REFRESH = """
-- refresh: the job a job refreshes; each page's validators, the hashes of its raw body and of
-- its Markdown, its links (packed), and how a refresh took it over from the earlier job
ALTER TABLE jobs ADD COLUMN since_job TEXT;  -- no foreign key: a refresh outlives the job it refreshed
CREATE INDEX jobs_since ON jobs (since_job) WHERE since_job IS NOT NULL;
ALTER TABLE pages ADD COLUMN etag TEXT;
ALTER TABLE pages ADD COLUMN last_modified TEXT;
ALTER TABLE pages ADD COLUMN body_hash TEXT;
ALTER TABLE pages ADD COLUMN markdown_hash TEXT;
ALTER TABLE pages ADD COLUMN outlinks BYTEA;
ALTER TABLE pages ADD COLUMN reuse TEXT CHECK (reuse IN ('not-modified', 'same-bytes', 'kept'));
"""

M005_SEARCH = """
-- full-text search: each completed page's sections (store/sections.py: where each is in the
-- page's Markdown, and its words), weighted: the section's heading A, the page's title B,
-- its words C; English stemming
CREATE TABLE sections (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    page_id BIGINT NOT NULL REFERENCES pages (id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    title TEXT NOT NULL,
    heading_path TEXT NOT NULL,
    headings TEXT NOT NULL,
    text TEXT NOT NULL,
    start INTEGER NOT NULL,
    stop INTEGER NOT NULL,
    tsv tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', headings), 'A') || setweight(to_tsvector('english', title), 'B')
        || setweight(to_tsvector('english', text), 'C')
    ) STORED
);
CREATE INDEX sections_page ON sections (page_id);
CREATE INDEX sections_job ON sections (job_id);
CREATE INDEX sections_tsv ON sections USING GIN (tsv);
-- which completed pages are in the index (the engine indexes in the writer's idle time)
ALTER TABLE pages ADD COLUMN indexed BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX pages_unindexed ON pages (job_id, id) WHERE status = 'completed' AND NOT indexed;
"""

M006_SOURCES = """
-- where each page's Markdown came from (records.PageSource) and why not from a better
-- source; a Docsify-style job's Markdown base. Pages stored before came from HTML.
ALTER TABLE pages ADD COLUMN source TEXT CHECK (source IN ('html', 'publisher-markdown', 'rendered'));
ALTER TABLE pages ADD COLUMN source_note TEXT;
UPDATE pages SET source = 'html' WHERE status = 'completed';
ALTER TABLE jobs ADD COLUMN markdown_base TEXT;
ALTER TABLE jobs ADD COLUMN markdown_relative BOOLEAN NOT NULL DEFAULT false;
"""

MIGRATIONS: list[tuple[str, str]] = [
    ("m001_initial", M001_INITIAL),
    ("m002_lease_token", M002_LEASE_TOKEN),
    ("m003_workers", M003_WORKERS),
    ("m004_refresh", M004_REFRESH),
    ("m005_search", M005_SEARCH),
    ("m006_sources", M006_SOURCES),
]


def apply(conn: psycopg.Connection[Any]) -> list[str]:
    """Apply what is missing, in order, under the advisory lock; returns the names applied."""
    applied: list[str] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS docspasta_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL "
            "DEFAULT now())"
        )
        done = {row["name"] for row in conn.execute("SELECT name FROM docspasta_migrations")}
        for name, sql in MIGRATIONS:
            if name not in done:
                conn.execute(sql)
                if name == "m004_refresh":
                    _markdown_hashes(conn)
                if name == "m005_search":
                    _index_sections(conn)
                conn.execute("INSERT INTO docspasta_migrations (name) VALUES (%s)", (name,))
                applied.append(name)
    return applied


def _markdown_hashes(conn: psycopg.Connection[Any]) -> None:
    """Pages stored before m004 get their Markdown's hash, so a refresh of them can say what changed."""
    last = -1
    while rows := conn.execute(  # a few hundred pages' Markdown in memory at a time, however big the store
        "SELECT id, markdown FROM pages WHERE markdown IS NOT NULL AND id > %s ORDER BY id LIMIT 500", (last,)
    ).fetchall():
        with conn.cursor() as cur:
            cur.executemany(
                "UPDATE pages SET markdown_hash = %s WHERE id = %s",
                [(markdown_hash(r["markdown"]), r["id"]) for r in rows],
            )
        last = rows[-1]["id"]


def _index_sections(conn: psycopg.Connection[Any]) -> None:
    """Pages stored before m005 get their sections, so search finds them."""
    last = -1
    while rows := conn.execute(
        "SELECT id, job_id, coalesce(title, url) AS title, markdown FROM pages WHERE status = 'completed' "
        "AND markdown IS NOT NULL AND id > %s ORDER BY id LIMIT 500",
        (last,),
    ).fetchall():
        insert_sections(conn, [s for r in rows for s in section_rows(r["job_id"], r["id"], r["title"], r["markdown"])])
        conn.execute("UPDATE pages SET indexed = true WHERE id = ANY(%s)", ([r["id"] for r in rows],))
        last = rows[-1]["id"]


def insert_sections(conn: psycopg.Connection[Any], rows: list[tuple[object, ...]]) -> None:
    """Section rows (sections.section_rows) in one statement."""
    if rows:
        conn.execute(
            "INSERT INTO sections (job_id, page_id, ord, title, heading_path, headings, text, start, stop) "
            "SELECT * FROM unnest(%s::text[], %s::bigint[], %s::int[], %s::text[], %s::text[], %s::text[], "
            "%s::text[], %s::int[], %s::int[])",
            [list(column) for column in zip(*rows, strict=True)],
        )
