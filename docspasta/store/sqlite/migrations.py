"""The job store's schema, as sqlite-utils migrations (applied in order, once each).

Counters on `jobs` are kept by triggers on `pages`, inside the same transaction as
the page change: the dashboard reads them in O(1) and no batch ever counts the
pages table. Never edit an applied migration; add a new one.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ..page_rows import markdown_hash
from . import search_index


def _import_sqlite_utils() -> Any:
    """sqlite-utils imports pandas and numpy when they are installed (Streamlit installs both)
    to map their column types, which docspasta never passes: ~90 MB in every crawl process.
    So they are hidden while it is imported, unless already loaded (as in the dashboard's
    process, where hiding them could fail another thread's import and would save nothing)."""
    hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` raise ImportError
    try:
        import sqlite_utils
    finally:
        for name in hidden:
            del sys.modules[name]
    return sqlite_utils


if TYPE_CHECKING:
    from sqlite_utils import Database, Migrations
else:
    _sqlite_utils = _import_sqlite_utils()
    Database, Migrations = _sqlite_utils.Database, _sqlite_utils.Migrations

migrations = Migrations("docspasta")

JOB_STATUSES = ("pending", "running", "paused", "completed", "failed", "cancelled", "interrupted")
JOB_STEPS = ("discovery", "crawling", "finalizing", "done")
PAGE_STATUSES = ("pending", "processing", "completed", "failed", "skipped")


@migrations(transactional=False)  # executescript commits; the script is idempotent instead
def m001_initial(db: Database) -> None:
    job_statuses = ", ".join(f"'{s}'" for s in JOB_STATUSES)
    job_steps = ", ".join(f"'{s}'" for s in JOB_STEPS)
    page_statuses = ", ".join(f"'{s}'" for s in PAGE_STATUSES)
    db.executescript(
        f"""
        BEGIN;
        CREATE TABLE IF NOT EXISTS jobs (
            id TEXT PRIMARY KEY,
            created_at REAL NOT NULL,
            started_at REAL,
            finished_at REAL,
            heartbeat_at REAL,
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ({job_statuses})),
            step TEXT NOT NULL DEFAULT 'discovery' CHECK (step IN ({job_steps})),
            control TEXT CHECK (control IN ('cancel', 'pause')),
            worker TEXT,
            owner TEXT,
            start_url TEXT NOT NULL,
            settings TEXT NOT NULL,
            scope_host TEXT,
            scope_prefix TEXT,
            site_title TEXT,
            run_seconds REAL NOT NULL DEFAULT 0,
            discovered INTEGER NOT NULL DEFAULT 0,
            queued INTEGER NOT NULL DEFAULT 0,
            completed INTEGER NOT NULL DEFAULT 0,
            failed INTEGER NOT NULL DEFAULT 0,
            skipped INTEGER NOT NULL DEFAULT 0,
            error TEXT
        );
        CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);

        CREATE TABLE IF NOT EXISTS pages (
            id INTEGER PRIMARY KEY,
            job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            url TEXT NOT NULL,
            url_key TEXT NOT NULL,
            final_url TEXT,
            depth INTEGER NOT NULL,
            discovered_from TEXT,
            found_by TEXT NOT NULL DEFAULT 'link',
            status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ({page_statuses})),
            reason TEXT,
            retries INTEGER NOT NULL DEFAULT 0,
            lease_until REAL,
            http_status INTEGER,
            content_type TEXT,
            fetch_ms REAL,
            extract_ms REAL,
            bytes INTEGER,
            title TEXT,
            quality INTEGER,
            quality_reasons TEXT,
            content_hash TEXT,
            words INTEGER,
            seq INTEGER,
            updated_at REAL,
            markdown TEXT,
            html_gz BLOB,
            UNIQUE (job_id, url_key)
        );
        CREATE INDEX IF NOT EXISTS pages_frontier ON pages (job_id, status, depth, id);
        CREATE INDEX IF NOT EXISTS pages_hash ON pages (job_id, content_hash) WHERE content_hash IS NOT NULL;
        CREATE INDEX IF NOT EXISTS pages_seq ON pages (job_id, seq) WHERE seq IS NOT NULL;

        CREATE TABLE IF NOT EXISTS events (
            id INTEGER PRIMARY KEY,
            job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
            ts REAL NOT NULL,
            type TEXT NOT NULL,
            url TEXT,
            payload TEXT
        );
        CREATE INDEX IF NOT EXISTS events_job ON events (job_id, id);

        CREATE TRIGGER IF NOT EXISTS pages_counters_insert AFTER INSERT ON pages BEGIN
            UPDATE jobs SET
                discovered = discovered + 1,
                queued = queued + (NEW.status IN ('pending', 'processing')),
                completed = completed + (NEW.status = 'completed'),
                failed = failed + (NEW.status = 'failed'),
                skipped = skipped + (NEW.status = 'skipped')
            WHERE id = NEW.job_id;
        END;
        CREATE TRIGGER IF NOT EXISTS pages_counters_update AFTER UPDATE OF status ON pages
        WHEN OLD.status != NEW.status BEGIN
            UPDATE jobs SET
                queued = queued + (NEW.status IN ('pending', 'processing')) - (OLD.status IN ('pending', 'processing')),
                completed = completed + (NEW.status = 'completed') - (OLD.status = 'completed'),
                failed = failed + (NEW.status = 'failed') - (OLD.status = 'failed'),
                skipped = skipped + (NEW.status = 'skipped') - (OLD.status = 'skipped')
            WHERE id = NEW.job_id;
        END;
        COMMIT;
        """
    )


@migrations()
def m002_docs_markdown(db: Database) -> None:
    """Which extractor made a page, its token estimate, fingerprints and fidelity; and the
    per-job counts of repeated text blocks (kept in the store, not in memory)."""
    for column, kind in (
        ("extractor", "TEXT"),
        ("tokens", "INTEGER"),
        ("sketch", "TEXT"),
        ("band0", "INTEGER"),
        ("band1", "INTEGER"),
        ("band2", "INTEGER"),
        ("band3", "INTEGER"),
        ("block_hashes", "TEXT"),
        ("fidelity", "TEXT"),
        ("duplicate_of", "TEXT"),
    ):
        db.execute(f"ALTER TABLE pages ADD COLUMN {column} {kind}")
    for band in range(4):
        db.execute(
            f"CREATE INDEX pages_band{band} ON pages (job_id, band{band}) "
            "WHERE status = 'completed' AND sketch IS NOT NULL"
        )
    db.execute(
        "CREATE TABLE blocks (job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, "
        "hash TEXT NOT NULL, pages INTEGER NOT NULL, PRIMARY KEY (job_id, hash)) WITHOUT ROWID"
    )


@migrations()
def m003_strategies(db: Database) -> None:
    """Best-first scores per URL, and each crawled page's in-scope outlinks: when a shorter
    path reaches a page already crawled, its children's depths are lowered through them."""
    db.execute("ALTER TABLE pages ADD COLUMN score REAL NOT NULL DEFAULT 0")
    db.execute("CREATE INDEX pages_best ON pages (job_id, status, score DESC, depth, id)")
    db.execute(
        "CREATE TABLE links (job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, "
        "from_id INTEGER NOT NULL, to_key TEXT NOT NULL, PRIMARY KEY (job_id, from_id, to_key)) WITHOUT ROWID"
    )


@migrations()
def m004_comparisons(db: Database) -> None:
    """Comparison runs: several jobs of one site under different settings, grouped."""
    db.execute(
        "CREATE TABLE comparisons (id TEXT PRIMARY KEY, created_at REAL NOT NULL, start_url TEXT NOT NULL, "
        "mode TEXT NOT NULL CHECK (mode IN ('sequential', 'parallel')), owner TEXT)"
    )
    db.execute("ALTER TABLE jobs ADD COLUMN comparison_id TEXT REFERENCES comparisons (id) ON DELETE SET NULL")
    db.execute("ALTER TABLE jobs ADD COLUMN label TEXT")
    db.execute("CREATE INDEX jobs_comparison ON jobs (comparison_id)")


@migrations()
def m005_canonical(db: Database) -> None:
    """Each page's <link rel=canonical> (its dedup key), so a page and its canonical URL are stored once."""
    db.execute("ALTER TABLE pages ADD COLUMN canonical_key TEXT")
    db.execute("CREATE INDEX pages_canonical ON pages (job_id, canonical_key) WHERE canonical_key IS NOT NULL")


@migrations()
def m006_reading_order(db: Database) -> None:
    """The site's own reading order: each page's "next" and "previous page" links, its position once the
    job ends, and the kind of a generated page (index, search, source, print)."""
    db.execute("ALTER TABLE pages ADD COLUMN next_url TEXT")
    db.execute("ALTER TABLE pages ADD COLUMN prev_url TEXT")
    db.execute("ALTER TABLE pages ADD COLUMN position INTEGER")
    db.execute("ALTER TABLE pages ADD COLUMN page_kind TEXT")


@migrations()
def m007_lease_token(db: Database) -> None:
    """Each claim's token on the pages it holds: a commit is stored only under the lease it
    was claimed with, so a worker whose lease expired cannot overwrite a newer claim's work."""
    db.execute("ALTER TABLE pages ADD COLUMN lease TEXT")


@migrations()
def m008_workers(db: Database) -> None:
    """Jobs left to `docspasta worker` processes, the workers running each job, and the
    per-host limits they share (used by the PostgreSQL store; here so both have the same tables)."""
    db.execute(
        "ALTER TABLE jobs ADD COLUMN run_by TEXT NOT NULL DEFAULT 'creator' CHECK (run_by IN ('creator', 'workers'))"
    )
    db.execute("CREATE INDEX jobs_run_by ON jobs (run_by, status)")
    db.execute("ALTER TABLE pages ADD COLUMN worker TEXT")  # who fetched the page
    db.execute(
        "CREATE TABLE job_workers (job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, "
        "worker TEXT NOT NULL, joined_at REAL NOT NULL, heartbeat_at REAL NOT NULL, PRIMARY KEY (job_id, worker))"
    )
    db.execute(
        "CREATE TABLE host_slots (token TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs (id) "
        "ON DELETE CASCADE, host TEXT NOT NULL, worker TEXT NOT NULL, until REAL NOT NULL, "
        "waiting_since REAL NOT NULL, granted INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute("CREATE INDEX host_slots_job ON host_slots (job_id, host)")
    db.execute(
        "CREATE TABLE host_pace (job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, host TEXT NOT NULL, "
        "floor REAL NOT NULL, delay REAL NOT NULL, next_at REAL NOT NULL, taker TEXT, held_by TEXT, held_until REAL, "
        "PRIMARY KEY (job_id, host))"
    )


@migrations()
def m009_refresh(db: Database) -> None:
    """Refresh: the job a job refreshes; each page's validators (ETag, Last-Modified), the
    hashes of its raw body and of its Markdown, its links (packed), and how a refresh took
    it over from the earlier job. Pages stored before get their Markdown hash here."""
    db.execute("ALTER TABLE jobs ADD COLUMN since_job TEXT")  # no foreign key: a refresh outlives the job it refreshed
    db.execute("CREATE INDEX jobs_since ON jobs (since_job) WHERE since_job IS NOT NULL")
    for column in ("etag", "last_modified", "body_hash", "markdown_hash"):
        db.execute(f"ALTER TABLE pages ADD COLUMN {column} TEXT")
    db.execute("ALTER TABLE pages ADD COLUMN outlinks BLOB")
    db.execute("ALTER TABLE pages ADD COLUMN reuse TEXT CHECK (reuse IN ('not-modified', 'same-bytes', 'kept'))")
    last = -1
    while rows := db.execute(  # a few hundred pages' Markdown in memory at a time, however big the store
        "SELECT id, markdown FROM pages WHERE markdown IS NOT NULL AND id > ? ORDER BY id LIMIT 500", [last]
    ).fetchall():
        db.conn.executemany("UPDATE pages SET markdown_hash = ? WHERE id = ?", [(markdown_hash(t), i) for i, t in rows])
        last = rows[-1][0]


@migrations()
def m010_search(db: Database) -> None:
    """Full-text search: each completed page's sections (store/sections.py) and a contentless
    FTS5 index over their page title, heading and words (porter stemming); see
    sqlite/search_index.py for why contentless. `pages.indexed` says which completed pages
    are in it (the engine indexes in the writer's idle time). Pages stored before are
    indexed here."""
    for statement in search_index.SCHEMA:
        db.execute(statement)
    last = -1
    while rows := db.execute(  # a few hundred pages at a time, however big the store
        "SELECT id, job_id, coalesce(title, url), markdown FROM pages WHERE status = 'completed' "
        "AND markdown IS NOT NULL AND id > ? ORDER BY id LIMIT 500",
        [last],
    ).fetchall():
        for page_id, job_id, title, markdown in rows:
            search_index.index_page(db.conn, job_id, page_id, title, markdown)
        db.conn.executemany("UPDATE pages SET indexed = 1 WHERE id = ?", [(row[0],) for row in rows])
        last = rows[-1][0]


@migrations()
def m011_sources(db: Database) -> None:
    """Where each page's Markdown came from (records.PageSource) and why not from a better
    source; a Docsify-style job's Markdown base. Pages stored before came from HTML."""
    db.execute("ALTER TABLE pages ADD COLUMN source TEXT CHECK (source IN ('html', 'publisher-markdown', 'rendered'))")
    db.execute("ALTER TABLE pages ADD COLUMN source_note TEXT")
    db.execute("UPDATE pages SET source = 'html' WHERE status = 'completed'")
    db.execute("ALTER TABLE jobs ADD COLUMN markdown_base TEXT")
    db.execute("ALTER TABLE jobs ADD COLUMN markdown_relative INTEGER NOT NULL DEFAULT 0")
