"""Full-text search over crawled pages, on both store backends: sections indexed as pages
commit, ranked so the section that answers a question comes first, scoped to a job or a
site, and reachable from the CLI. The corpus is a small docs site whose right answers
are known."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

import pytest
from changing_site import ChangingSite, Page
from conftest import FAST

import docspasta
from docspasta.errors import InvalidQueryError, JobNotFoundError, UnknownSiteError
from docspasta.exports.search import find_site, hits_markdown, search, search_jobs
from docspasta.records import JobStatus
from docspasta.store import open_reader, open_writer
from docspasta.store.sections import split_sections


def section(heading: str, *paragraphs: str, code: str = "") -> str:
    block = f"<pre><code class='language-python'>{code}</code></pre>" if code else ""
    return f"<h2>{heading}</h2>" + "".join(f"<p>{p}</p>" for p in paragraphs) + block


CORPUS = {
    "tasks": (
        "Coroutines and Tasks",
        [
            section(
                "Creating Tasks",
                "Wrap a coroutine into a Task and schedule its execution with create_task().",
                "The event loop runs the task concurrently with other tasks; keep a reference to it.",
                code="task = asyncio.create_task(main())",
            ),
            section(
                "Task Cancellation",
                "Tasks can easily and safely be cancelled. When a task is cancelled, "
                "CancelledError is raised in the coroutine at the next opportunity.",
                "Call cancel() on the task to request cancellation; the coroutine may catch CancelledError "
                "to clean up, and should then re-raise it.",
                code="task.cancel()",
            ),
            section("Sleeping", "sleep() blocks for a number of seconds and lets other tasks run meanwhile."),
        ],
    ),
    "files": (
        "Reading and Writing Files",
        [
            section(
                "Opening files",
                "open() returns a file object; the mode says whether to read or write.",
                "Use a with statement so the file is closed even when an exception is raised.",
            ),
            section(
                "Reading line by line",
                "To read a file line by line, loop over the file object: each "
                "iteration gives one line, without loading the whole file into memory.",
                code="for line in f:\n    print(line, end='')",
            ),
        ],
    ),
    "sorting": (
        "Sorting HOW TO",
        [
            section(
                "Key Functions",
                "The key parameter names a function called on each element before "
                "comparisons; sorting by a key function is fast because it is called once per element.",
                code="sorted(students, key=lambda s: s.age)",
            ),
            section(
                "Sort Stability",
                "Sorts are guaranteed to be stable: records with equal keys keep their original order.",
            ),
        ],
    ),
    "subprocess": (
        "Subprocess management",
        [
            section(
                "Timeouts",
                "If the timeout expires, the child process is killed and waited for, and TimeoutExpired is raised.",
            ),
            section("Popen objects", "A Popen object runs a child program in a new process."),
        ],
    ),
    "glossary": (
        "Glossary",
        [
            section(
                "Terms",
                "task: a unit of work; cancel: to stop; file: a named store of bytes; "
                "key: a value that names another; sort: to put in order.",
            ),
        ],
    ),
}


def build(site: ChangingSite) -> None:
    for name, (title, sections) in CORPUS.items():
        site.put(f"/docs/{name}.html", Page(title, "", body=f"<h1>{title}</h1>" + "".join(sections)))
    links = tuple(f"/docs/{name}.html" for name in CORPUS)
    site.put("/docs/index.html", Page("Docs", "The documentation of a small library, its guides and how-tos.",
                                      links=links))  # fmt: skip


@pytest.fixture
def crawled(any_db):
    with ChangingSite() as site:
        build(site)
        result = docspasta.crawl(site.url("/docs/index.html"), db=any_db, allow_hosts=site.allow_hosts,
                                 **{**FAST, "max_pages": 50})  # fmt: skip
        assert result.completed == len(CORPUS) + 1
        yield any_db, result.job_id, site


@pytest.mark.parametrize(
    ("query", "page", "heading"),
    [
        ("cancel a task", "/docs/tasks.html", "Task Cancellation"),
        ("how do I cancel a task?", "/docs/tasks.html", "Task Cancellation"),
        ("read a file line by line", "/docs/files.html", "Reading line by line"),
        ("sort by key function", "/docs/sorting.html", "Key Functions"),
        ("subprocess timeout kill", "/docs/subprocess.html", "Timeouts"),
        ("create_task", "/docs/tasks.html", "Creating Tasks"),
    ],
)
def test_the_section_that_answers_comes_first(crawled, query, page, heading):
    db, job_id, site = crawled
    hits = search(open_reader(db), query, limit=5)
    assert hits, query
    first = hits[0]
    assert first.url == site.url(page) and first.heading_path.endswith(heading), [(h.url, h.heading_path) for h in hits]
    assert first.markdown.startswith(f"## {heading}") and first.job_id == job_id
    assert "**" in first.snippet  # the matched words are marked
    assert len({(h.url, h.heading_path) for h in hits}) == len(hits)  # no section twice
    assert all(h.markdown.strip().count("\n") for h in hits)  # no section that is a bare heading


def test_search_is_scoped_to_a_job_or_a_site_and_bad_input_is_named(crawled):
    db, job_id, site = crawled
    reader = open_reader(db)
    [known] = reader.sites()
    assert known.key == f"127.0.0.1:{site.port}/docs/" and known.job_id == job_id and known.pages == len(CORPUS) + 1
    assert find_site(reader, f"http://127.0.0.1:{site.port}/docs").job_id == job_id  # scheme, no slash
    assert search_jobs(reader, site=known.key) == [job_id] == search_jobs(reader, job=job_id)
    with pytest.raises(UnknownSiteError, match=f"the sites are: 127.0.0.1:{site.port}/docs/"):
        search(reader, "task", site="docs.nowhere.org")
    with pytest.raises(JobNotFoundError):
        search(reader, "task", job="nope")
    for empty in ("", "   ", "?!"):
        with pytest.raises(InvalidQueryError, match="no words to search for"):
            search(reader, empty)
    assert search(reader, "zyzzyva quux") == []


def test_a_refresh_is_searchable_and_becomes_the_site_s_crawl(crawled):
    db, job_id, site = crawled
    site.edit("/docs/sorting.html", body="<h1>Sorting HOW TO</h1>" + section("Key Functions", "Reverse sorts."))
    fresh = docspasta.refresh(job_id, db=db)
    reader = open_reader(db)
    assert [s.job_id for s in reader.sites()] == [fresh.job_id] and reader.sites()[0].crawls == 2
    hits = search(reader, "task cancellation")  # a page taken over unchanged is indexed too
    assert hits[0].job_id == fresh.job_id and hits[0].heading_path.endswith("Task Cancellation")
    assert "Reverse sorts" in search(reader, "reverse sorts")[0].markdown
    assert not search(reader, "guaranteed stable", job=fresh.job_id)  # the old text is the old job's
    assert search(reader, "guaranteed stable", job=job_id)


def test_deleting_a_job_drops_its_sections(crawled):
    db, job_id, _ = crawled
    with open_writer(db) as store:
        store.delete_job(job_id)
    assert open_reader(db).sites() == []
    assert open_reader(db).search("task", [job_id]) == []


def test_hits_as_markdown_lead_with_their_url_and_keep_to_the_budget(crawled):
    db, _, site = crawled
    hits = search(open_reader(db), "task", limit=5)
    words = lambda text: len(text.split())  # noqa: E731  # a stand-in count: the budget logic, not the tokenizer
    text = hits_markdown(hits, 60, words)
    assert text.startswith(f"[1] {hits[0].url} — {hits[0].heading_path}\n")
    assert words(text) <= 60
    cut = hits_markdown(hits, 30, words)
    assert cut.startswith(f"[1] {hits[0].url}") and words(cut) <= 30
    assert "get_page(" in cut  # a cut section says where the rest is
    whole = hits_markdown(hits, 100_000, words)
    assert whole.count("\n[") + 1 == len(hits) and site.url("/docs/") in whole


def test_sections_follow_headings_and_skip_code():
    md = "# Tasks\n\nIntro.\n\n## Create\n\n```python\n# not a heading\n```\n\n### Deep `one`\n\nx\n\n## Cancel\n\ny"
    got = [(s.heading_path, s.headings) for s in split_sections(md, "Tasks — Site")]
    assert got == [("Tasks", "Tasks"), ("Tasks › Create", "Create"), ("Tasks › Create › Deep one", "Deep one"),
                   ("Tasks › Cancel", "Cancel")]  # fmt: skip
    assert [s.headings for s in split_sections("# Title\n\n## Empty\n\n## Full\n\ntext", "T")] == ["Full"]
    assert [(s.heading_path, s.ord) for s in split_sections("Lead.\n\n## A\n\nx", "T")] == [("T", 0), ("T › A", 1)]


def test_a_store_made_before_search_gets_its_pages_indexed(tmp_path):
    from docspasta import CrawlSettings
    from docspasta.store.sqlite.migrations import Database, migrations

    db = tmp_path / "old.db"
    conn = sqlite3.connect(db)
    migrations.apply(Database(conn), stop_before="m010_search")
    conn.execute("INSERT INTO jobs (id, created_at, finished_at, status, start_url, settings, scope_host, "
                 "scope_prefix) VALUES ('old', 0, 1, 'completed', 'https://x.org/docs/', ?, 'x.org', '/docs/')",
                 (CrawlSettings(url="https://x.org/docs/").to_json(),))  # fmt: skip
    conn.execute("INSERT INTO pages (job_id, url, url_key, depth, status, title, markdown) VALUES "
                 "('old', 'https://x.org/docs/a', 'x.org/docs/a', 0, 'completed', 'A', "
                 "'# Alpha\n\nabout widgets\n\n## Beta\n\nabout gadgets')")  # fmt: skip
    conn.commit()
    conn.close()
    with open_writer(db):
        pass
    [hit] = open_reader(db).search("gadgets", ["old"])
    assert hit.heading_path == "Alpha › Beta" and hit.url == "https://x.org/docs/a"


def test_the_cli_searches_with_json_and_refuses_bad_input(crawled):
    db, job_id, site = crawled
    run = lambda *a: subprocess.run([sys.executable, "-m", "docspasta", *a, "--db", str(db)],  # noqa: E731
                                    capture_output=True, text=True, timeout=60)  # fmt: skip
    found = run("search", "cancel a task", "--json", "--limit", "3")
    assert found.returncode == 0, found.stderr
    rows = json.loads(found.stdout)
    assert rows[0]["url"] == site.url("/docs/tasks.html") and rows[0]["heading_path"].endswith("Task Cancellation")
    assert set(rows[0]) == {"rank", "url", "title", "heading_path", "snippet", "score", "job_id", "section"}
    text = run("search", "read file line by line", "--site", f"127.0.0.1:{site.port}/docs/")
    assert text.stdout.startswith("1. Reading and Writing Files › Reading line by line\n")
    for args, message in [(("search", ""), "no words to search for"),
                          (("search", "x", "--site", "nowhere.org"), "no completed crawl of 'nowhere.org'"),
                          (("search", "x", "--job", job_id, "--site", "y"), "choose one")]:  # fmt: skip
        bad = run(*args)
        assert bad.returncode == 2 and message in bad.stderr, (args, bad.stderr)


def test_pages_are_searchable_while_their_crawl_still_runs(tmp_path):
    import threading

    from conftest import wait_until

    db = tmp_path / "live.db"
    with ChangingSite() as site:
        build(site)
        site.delay = 0.3  # the index page first, then the rest one by one: slow enough to look in between
        crawl = threading.Thread(target=docspasta.crawl, args=(site.url("/docs/index.html"),),
                                 kwargs={"db": db, "allow_hosts": site.allow_hosts, "concurrency": 1,
                                         "batch_size": 1, **FAST})  # fmt: skip
        crawl.start()
        try:
            reader = open_reader(db)

            def found_while_running() -> bool:
                jobs = reader.list_jobs() if reader.exists() else []
                if not jobs or jobs[0].status != JobStatus.RUNNING or not jobs[0].completed:
                    return False
                return bool(reader.search("documentation small library", [jobs[0].id]))

            wait_until(found_while_running, 30, what="the first page to be searchable mid-crawl")
        finally:
            crawl.join(60)
