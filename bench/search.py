"""Search benchmark: what indexing costs the crawl, and how fast a search of the index answers,
each against a peer in the same run.

    python bench/search.py [--corpus DIR] [--runs 3] [--max-pages 500] [--baseline REV] [--keep]

Serves the corpus (by default the Python docs) with nginx on 127.0.0.1 (bench/crawl.py's
`serve`), and checks out the commit before search (`--baseline`, default e7d8dac~1) in a
temporary git worktree. Then:

1. Crawl cost. The whole job a user runs, `docspasta crawl URL --max-pages 500` into a fresh
   SQLite store and then `docspasta export JOB --out FILE`, alternately without indexing
   (the baseline's code: its CLI run with PYTHONPATH and cwd set to the worktree; its store
   must have no `sections` table) and with it (this checkout, the same way), `--runs` times
   each. Prints the median wall seconds of each, the ratio with / without (PASS if at most
   1.10: the issue's target), the index build cost per page ((median with - median without)
   / pages), and the store's size after a WAL checkpoint. A direct measure of the same cost
   follows: the last indexed store's sections deleted and written again page by page, as the
   writer does (split the Markdown, insert the rows and their contentless FTS5 entries).
2. Search latency, on the last indexed store. ~30 realistic queries, each 20 times through
   the reader API in-process (`open_reader(db).search(q, [job_id], limit=5)`), p50 / p95 /
   max; the peer, a search without an index: `pages.markdown LIKE '%word%'` for every word
   (AND) over the same job's pages, the same queries as often, and the ratio. Then a few
   queries through the CLI (`docspasta search ... --json`, start-up included), against the
   CLI's bare start-up (`docspasta --version`). Prints the top hit of the first 8 queries so
   a reader can judge relevance, and checks that "asyncio create task cancel" finds
   library/asyncio-task.html first.

Exits 1 if a check fails. Needs git, nginx and, by default, the Python docs
(`apt-get install nginx python3-doc`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from crawl import DEFAULT_CORPUS, measure, serve  # noqa: E402

from docspasta.store import open_reader  # noqa: E402
from docspasta.store.sections import search_terms, section_rows  # noqa: E402
from docspasta.store.sqlite import search_index  # noqa: E402

TARGET = 1.10  # indexing may slow the crawl by at most 10%
REPEATS = 20  # in-process calls per query
CLI_QUERIES = 6  # queries also timed through the CLI
SHOWN = 8  # queries whose top hit is printed
QUERIES = [
    "asyncio create task cancel",
    "read a file line by line",
    "pathlib glob recursive",
    "dataclass frozen",
    "subprocess timeout kill",
    "json dump indent",
    "datetime timezone aware",
    "argparse subcommands",
    "logging to a file",
    "regular expression named group",
    "sort list of dicts by key",
    "threading lock",
    "unittest mock patch",
    "csv writer quoting",
    "http server",
    "decimal rounding",
    "typing protocol",
    "context manager contextlib",
    "f-string format specifier",
    "zipfile extract",
    "socket timeout",
    "sqlite3 parameters",
    "random seed",
    "itertools groupby",
    "functools lru_cache",
    "enum auto",
    "os environ",
    "shutil copytree",
    "collections counter most common",
    "asyncio gather exceptions",
]
EXPECTED_TOP = ("asyncio create task cancel", "library/asyncio-task.html")


@dataclass
class Crawl:
    """One job, crawl and export, by one version of docspasta."""

    variant: str  # "without indexing" / "with indexing"
    crawl_s: float
    export_s: float
    cpu_s: float  # user + system of the crawl's and the export's process trees
    peak_rss_mb: float
    pages: int
    job_id: str
    db: Path
    db_bytes: int
    sections: int | None  # rows in `sections`; None: no such table

    @property
    def wall_s(self) -> float:
        return self.crawl_s + self.export_s


# -- the two versions ------------------------------------------------------------------


@contextlib.contextmanager
def worktree(rev: str, path: Path) -> Iterator[Path]:
    """`rev` checked out at `path` (a detached git worktree of this repository), removed after."""
    subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(path), rev],
                   check=True, capture_output=True, text=True)  # fmt: skip
    try:
        commit = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
                                check=True, capture_output=True, text=True).stdout.strip()  # fmt: skip
        print(f"baseline {rev} ({commit}) checked out at {path}", file=sys.stderr)
        # compiled once here, so the first timed run does not pay for it
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(path / "docspasta")], check=True)
        yield path
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(path)], capture_output=True)
        subprocess.run(["git", "-C", str(REPO), "worktree", "prune"], capture_output=True)


def cli(root: Path) -> list[str]:
    """docspasta's CLI as the code under `root` has it: `env` sets the import path and directory
    and then execs Python, so measure() still samples the one process tree."""
    return ["env", "-C", str(root), f"PYTHONPATH={root}", sys.executable, "-m", "docspasta"]


def imported_from(root: Path) -> Path:
    """Where `cli(root)` imports docspasta from (the check that PYTHONPATH wins over the editable install)."""
    command = cli(root)[:-2] + ["-c", "import docspasta; print(docspasta.__file__)"]
    return Path(subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()).parent


# -- crawl cost ------------------------------------------------------------------------


def run_crawl(variant: str, root: Path, url: str, max_pages: int, workdir: Path, n: int) -> Crawl:
    db = workdir / f"{'with' if variant.startswith('with ') else 'without'}-{n}.db"
    host = urlsplit(url).netloc
    cpu_before = children_cpu_s()
    crawl_s, peak, proc = measure([*cli(root), "crawl", url, "--db", str(db), "--allow-host", host,
                                   "--max-pages", str(max_pages), "--json", "--quiet"])  # fmt: skip
    summary = json.loads(proc.stdout)
    paste = workdir / f"paste-{summary['job_id']}.md"
    export_s, export_peak, _ = measure([*cli(root), "export", summary["job_id"], "--db", str(db), "--out", str(paste)])
    cpu_s = children_cpu_s() - cpu_before
    if not paste.stat().st_size:
        raise RuntimeError(f"{variant}: the paste {paste} is empty")
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        has = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sections'").fetchone()
        sections = conn.execute("SELECT count(*) FROM sections").fetchone()[0] if has else None
    run = Crawl(variant, crawl_s, export_s, cpu_s, max(peak, export_peak), summary["completed"], summary["job_id"], db,
                db.stat().st_size, sections)  # fmt: skip
    print(f"run {n}: {variant}: {run.pages} pages, crawl {crawl_s:.2f} s + export {export_s:.2f} s", file=sys.stderr)
    return run


def children_cpu_s() -> float:
    """CPU seconds of the finished child processes so far (each with the descendants it waited for)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def direct_index_cost(db: Path, job_id: str, workdir: Path) -> tuple[float, float, float, int]:
    """On a copy of an indexed store: every section deleted, then each completed page's written
    again as the writer does, one transaction per page. (split ms, insert ms, commit ms) per
    page, means, and the pages."""
    copy = workdir / "reindex.db"
    shutil.copyfile(db, copy)
    split, insert, commit = [], [], []
    with contextlib.closing(sqlite3.connect(copy, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("DELETE FROM sections")
        conn.execute("INSERT INTO sections_fts (sections_fts) VALUES ('delete-all')")  # contentless: all at once
        conn.execute("VACUUM")
        pages = conn.execute(
            "SELECT id, coalesce(title, url), markdown FROM pages WHERE job_id = ? AND status = 'completed' "
            "AND markdown IS NOT NULL ORDER BY seq",
            (job_id,),
        ).fetchall()
        for page_id, title, markdown in pages:
            t0 = time.perf_counter()
            section_rows(job_id, page_id, title, markdown)
            t1 = time.perf_counter()
            conn.execute("BEGIN")
            search_index.index_page(conn, job_id, page_id, title, markdown)  # splits again, then inserts
            t2 = time.perf_counter()
            conn.execute("COMMIT")
            t3 = time.perf_counter()
            split.append(t1 - t0)
            insert.append(max(0.0, (t2 - t1) - (t1 - t0)))
            commit.append(t3 - t2)
    copy.unlink()
    ms = [1000 * statistics.mean(x) for x in (split, insert, commit)]
    return ms[0], ms[1], ms[2], len(pages)


def report_crawls(runs: list[Crawl]) -> tuple[bool, float]:
    """The crawl table; (the 10% check passed, the ratio)."""
    print("\n## Crawl + export, without and with indexing (alternated)\n")
    print("| variant | runs | wall s median (crawl + export) | crawl s | export s | wall s, each run | CPU s | pages | "
          "store bytes | sections | peak RSS MB |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    medians: dict[str, float] = {}
    for variant in dict.fromkeys(r.variant for r in runs):
        mine = [r for r in runs if r.variant == variant]
        medians[variant] = statistics.median(r.wall_s for r in mine)
        sections = "—" if mine[-1].sections is None else f"{mine[-1].sections:,}"
        cells = [variant, len(mine), f"{medians[variant]:.2f}", f"{statistics.median(r.crawl_s for r in mine):.2f}",
                 f"{statistics.median(r.export_s for r in mine):.2f}", ", ".join(f"{r.wall_s:.2f}" for r in mine),
                 f"{statistics.median(r.cpu_s for r in mine):.2f}", f"{statistics.median(r.pages for r in mine):.0f}",
                 f"{mine[-1].db_bytes:,}", sections, f"{max(r.peak_rss_mb for r in mine):.0f}"]  # fmt: skip
        print("| " + " | ".join(map(str, cells)) + " |")
    without, with_ = medians["without indexing"], medians["with indexing"]
    ratio = with_ / without
    pages = statistics.median(r.pages for r in runs if r.variant == "with indexing")
    sizes = {v: [r.db_bytes for r in runs if r.variant == v][-1] for v in medians}
    cpu = {v: statistics.median(r.cpu_s for r in runs if r.variant == v) for v in medians}
    print(
        f"\nwith / without indexing: {ratio:.3f}x wall time (median of each); "
        f"index build cost {(with_ - without) * 1000 / pages:+.2f} ms wall per page (difference of medians / "
        f"{pages:.0f} pages), {(cpu['with indexing'] - cpu['without indexing']) * 1000 / pages:+.2f} ms CPU per page"
    )
    print(f"store with / without: {sizes['with indexing'] / sizes['without indexing']:.2f}x "
          f"({sizes['with indexing'] - sizes['without indexing']:+,} bytes)")  # fmt: skip
    return ratio <= TARGET, ratio


# -- search latency ----------------------------------------------------------------------


def percentiles(seconds: list[float]) -> tuple[float, float, float]:
    """p50, p95, max in ms."""
    ms = sorted(s * 1000 for s in seconds)
    return statistics.median(ms), ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))], ms[-1]


def naive_search(db: Path, query: str, job_id: str, limit: int) -> list[str]:
    """The peer: no index, every word of the query (as search reads them) in the page's Markdown;
    the first `limit` pages found, unranked."""
    terms = search_terms(query)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)  # a short-lived connection, as the reader opens
    try:
        likes = " AND ".join("markdown LIKE ?" for _ in terms)
        rows = conn.execute(
            f"SELECT url FROM pages WHERE job_id = ? AND status = 'completed' AND {likes} LIMIT ?",
            (job_id, *(f"%{t}%" for t in terms), limit),
        ).fetchall()
    finally:
        conn.close()
    return [r[0] for r in rows]


def bench_search(db: Path, job_id: str, root: Path) -> bool:
    reader = open_reader(str(db))
    fts: dict[str, list[float]] = {q: [] for q in QUERIES}
    naive: dict[str, list[float]] = {q: [] for q in QUERIES}
    top: dict[str, list] = {}
    naive_hits: dict[str, int] = {}
    for q in QUERIES:  # interleaved per query, so both see the same cache state
        for _ in range(REPEATS):
            t0 = time.perf_counter()
            hits = reader.search(q, [job_id], limit=5)
            t1 = time.perf_counter()
            urls = naive_search(db, q, job_id, 5)
            t2 = time.perf_counter()
            fts[q].append(t1 - t0)
            naive[q].append(t2 - t1)
        top[q], naive_hits[q] = hits, len(urls)
    all_fts = [t for q in QUERIES for t in fts[q]]
    all_naive = [t for q in QUERIES for t in naive[q]]
    f50, f95, fmax = percentiles(all_fts)
    n50, n95, nmax = percentiles(all_naive)
    print(f"\n## Search latency, {len(QUERIES)} queries x {REPEATS} calls, limit 5, in-process\n")
    print("| search | calls | p50 ms | p95 ms | max ms | queries with no hit |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| docspasta (FTS5 sections, reader API) | {len(all_fts)} | {f50:.2f} | {f95:.2f} | {fmax:.2f} | "
          f"{sum(1 for h in top.values() if not h)} |")  # fmt: skip
    print(f"| peer: pages.markdown LIKE every word, no index | {len(all_naive)} | {n50:.2f} | {n95:.2f} | {nmax:.2f} | "
          f"{sum(1 for n in naive_hits.values() if not n)} |")  # fmt: skip
    print(f"\ndocspasta / naive LIKE: {f50 / n50:.2f}x p50, {f95 / n95:.2f}x p95 (below 1: the index is faster)")
    p50 = {q: statistics.median(fts[q]) * 1000 for q in QUERIES}
    slowest = sorted(QUERIES, key=lambda q: -p50[q])[:3]
    print("slowest queries, p50 ms: " + ", ".join(f"{q!r} {p50[q]:.1f}" for q in slowest) +
          f"; fastest: {min(p50.values()):.1f}")  # fmt: skip

    # the whole command a user runs
    base = [*cli(root), "search"]
    cli_s = []
    for q in QUERIES[:CLI_QUERIES]:
        wall, _, proc = measure([*base, q, "--db", str(db), "--job", job_id, "--limit", "5", "--json"])
        json.loads(proc.stdout)
        cli_s.append(wall)
    startup = [measure([*cli(root), "--version"])[0] for _ in range(3)]
    c50, _, cmax = percentiles(cli_s)
    s50 = statistics.median(startup) * 1000
    print(f"\n## `docspasta search ... --json`, the whole command, {len(cli_s)} queries\n")
    print("| command | runs | p50 ms | max ms |")
    print("|---|---:|---:|---:|")
    print(f"| docspasta search QUERY --job JOB --limit 5 --json | {len(cli_s)} | {c50:.0f} | {cmax:.0f} |")
    print(f"| docspasta --version (start-up alone) | {len(startup)} | {s50:.0f} | {max(startup) * 1000:.0f} |")
    print(f"\nsearch command / bare start-up: {c50 / s50:.2f}x")

    print(f"\n## Top hit of the first {SHOWN} queries\n")
    print("| query | top hit: URL path | heading path | score | hits |")
    print("|---|---|---|---:|---:|")
    for q in QUERIES[:SHOWN]:
        hits = top[q]
        if hits:
            h = hits[0]
            print(f"| {q} | {urlsplit(h.url).path} | {h.heading_path} | {h.score:.2f} | {len(hits)} |")
        else:
            print(f"| {q} | — | — | — | 0 |")
    query, expected = EXPECTED_TOP
    first = top[query][0].url if top[query] else ""
    ok = urlsplit(first).path.endswith(expected)
    got = "" if ok else f" (got {first or 'nothing'})"
    print(f"\n{'PASS' if ok else 'FAIL'}: {query!r} finds {expected} first{got}")
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="directory of HTML (default: the Python docs)")
    parser.add_argument("--start", default="index.html", help="start page, relative to the corpus")
    parser.add_argument("--runs", type=int, default=3, help="crawls of each variant, alternated (at least 3)")
    parser.add_argument("--max-pages", type=int, default=500)
    parser.add_argument("--baseline", default="e7d8dac~1", help="the commit without indexing (default: e7d8dac~1)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (stores, pastes)")
    args = parser.parse_args()

    corpus = Path(args.corpus)
    if not (corpus / args.start).exists():
        sys.exit(f"no {corpus / args.start}: install the Python docs (apt-get install python3-doc) or pass --corpus")
    if not shutil.which("nginx"):
        sys.exit("needs nginx (apt-get install nginx)")
    workdir = Path(tempfile.mkdtemp(prefix="bench-search-"))
    failed = 0
    try:
        with worktree(args.baseline, workdir / "baseline") as baseline, serve(corpus) as base:
            for root in (baseline, REPO):
                found = imported_from(root)
                if found != root / "docspasta":
                    sys.exit(f"PYTHONPATH={root} imported docspasta from {found}")
            url = f"{base}/{args.start}"
            runs: list[Crawl] = []
            for n in range(1, args.runs + 1):
                runs.append(run_crawl("without indexing", baseline, url, args.max_pages, workdir, n))
                runs.append(run_crawl("with indexing", REPO, url, args.max_pages, workdir, n))
        ok, ratio = report_crawls(runs)
        last = runs[-1]
        split_ms, insert_ms, commit_ms, pages = direct_index_cost(last.db, last.job_id, workdir)
        print(f"index build cost, measured directly on {pages} pages: split {split_ms:.2f} ms + insert (FTS5 "
              f"index) {insert_ms:.2f} ms per page, mean; a commit of them alone {commit_ms:.2f} ms")  # fmt: skip
        print()
        unindexed = [r for r in runs if r.variant == "without indexing" and r.sections is not None]
        indexed = [r for r in runs if r.variant == "with indexing" and not r.sections]
        checks = [
            (not unindexed, f"the baseline ({args.baseline}) stores have no sections table"),
            (not indexed, "every indexed store has sections"),
            (ok, f"indexing slows crawl + export by at most {TARGET - 1:.0%} "
                 f"({ratio:.3f}x, median of {args.runs} each)"),
        ]  # fmt: skip
        for passed, what in checks:
            failed += not passed
            print(f"{'PASS' if passed else 'FAIL'}: {what}")
        failed += not bench_search(last.db, last.job_id, REPO)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
