"""The SQLite search index: `sections` (where each section is, and its heading path) and a
contentless FTS5 table `sections_fts` over each section's page title, heading and words,
whose rowid is the section's id.

Contentless, because the words are already stored (a section is a slice of its page's
Markdown): on the Python docs an FTS5 table holding its own copy cost 1.05 ms a page and
17 MB, a contentless one 0.70 ms and nothing, and sqlite-utils' `enable_fts` (a table plus
an external-content index kept by triggers) 1.37 ms; the crawl pays this in its writer
thread. The price: FTS5 removes a contentless row only when told the words it indexed,
so `unindex` recomputes them from the page, which never changes once completed.
"""

from __future__ import annotations

import sqlite3

from ..sections import index_text, section_rows

SCHEMA = (
    "CREATE TABLE sections (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE, "
    "page_id INTEGER NOT NULL REFERENCES pages (id) ON DELETE CASCADE, ord INTEGER NOT NULL, title TEXT NOT NULL, "
    "heading_path TEXT NOT NULL, headings TEXT NOT NULL, start INTEGER NOT NULL, stop INTEGER NOT NULL)",
    "CREATE INDEX sections_page ON sections (page_id)",
    "CREATE INDEX sections_job ON sections (job_id)",
    "CREATE VIRTUAL TABLE sections_fts USING fts5(title, headings, text, content = '', tokenize = 'porter')",
    "ALTER TABLE pages ADD COLUMN indexed INTEGER NOT NULL DEFAULT 0",  # its sections are in the index
    "CREATE INDEX pages_unindexed ON pages (job_id, id) WHERE status = 'completed' AND indexed = 0",
)
# page title, section heading, section words: a heading match counts most
BM25_WEIGHTS = "2.0, 5.0, 1.0"


def index_page(conn: sqlite3.Connection, job_id: str, page_id: int, title: str, markdown: str) -> None:
    """A completed page's sections, stored and indexed (inside the caller's transaction)."""
    rows = section_rows(job_id, page_id, title, markdown)
    if not rows:
        return
    first = conn.execute("SELECT coalesce(max(id), 0) + 1 FROM sections").fetchone()[0]  # the one writer numbers them
    ids = range(first, first + len(rows))
    conn.executemany(
        "INSERT INTO sections (id, job_id, page_id, ord, title, heading_path, headings, start, stop) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(i, j, p, o, t, hp, h, a, b) for i, (j, p, o, t, hp, h, _, a, b) in zip(ids, rows, strict=True)],
    )
    conn.executemany(
        "INSERT INTO sections_fts (rowid, title, headings, text) VALUES (?, ?, ?, ?)",
        [(i, t, h, text) for i, (_, _, _, t, _, h, text, _, _) in zip(ids, rows, strict=True)],
    )


def index_pending(conn: sqlite3.Connection, job_id: str, limit: int | None) -> int:
    """Index up to `limit` completed pages of the job not indexed yet; returns how many."""
    pages = conn.execute(
        "SELECT id, coalesce(title, url), markdown FROM pages WHERE job_id = ? AND status = 'completed' "
        "AND indexed = 0 ORDER BY id LIMIT ?",
        (job_id, -1 if limit is None else limit),
    ).fetchall()
    for page_id, title, markdown in pages:
        index_page(conn, job_id, page_id, title, markdown or "")
    conn.executemany("UPDATE pages SET indexed = 1 WHERE id = ?", [(p[0],) for p in pages])
    return len(pages)


def unindex(conn: sqlite3.Connection, where: str, params: tuple[object, ...]) -> None:
    """Drop the sections `where` (a condition on `s`, the sections table) from the index and the
    table: before their pages' Markdown is cleared or their rows deleted."""
    rows = conn.execute(
        f"SELECT s.id, s.title, s.headings, s.start, s.stop, p.markdown FROM sections s "
        f"JOIN pages p ON p.id = s.page_id WHERE {where}",
        params,
    ).fetchall()
    conn.executemany(
        "INSERT INTO sections_fts (sections_fts, rowid, title, headings, text) VALUES ('delete', ?, ?, ?, ?)",
        [(r[0], r[1], r[2], index_text((r[5] or "")[r[3] : r[4]])) for r in rows],
    )
    conn.execute(f"DELETE FROM sections WHERE id IN (SELECT s.id FROM sections s WHERE {where})", params)


def search_sql(job_count: int) -> str:
    """The best matching sections of some jobs (params: the FTS5 query, the job ids, the limit),
    ranked by bm25 in the inner query; the section's Markdown cut from its page's for the hits."""
    marks = ",".join("?" * job_count)
    return f"""
        WITH hits AS (
            SELECT s.id, -bm25(sections_fts, {BM25_WEIGHTS}) AS score
            FROM sections_fts JOIN sections s ON s.id = sections_fts.rowid
            WHERE sections_fts MATCH ? AND s.job_id IN ({marks})
            ORDER BY bm25(sections_fts, {BM25_WEIGHTS}) LIMIT ?
        )
        SELECT s.job_id, s.page_id, p.url, s.title, s.heading_path, s.ord, h.score,
               substr(p.markdown, s.start + 1, s.stop - s.start) AS body
        FROM hits h JOIN sections s ON s.id = h.id JOIN pages p ON p.id = s.page_id ORDER BY h.score DESC
    """
