"""Scaling out: one job crawled by 1, 2 and 4 `docspasta worker` processes on one
PostgreSQL store, against one `docspasta crawl` process on SQLite, in the same run.

    python bench/workers.py [--corpus DIR] [--pages 500] [--synthetic 1000] [--workers 1,2,4]
    python bench/workers.py --kill        # the fault run: 2 workers, one killed with -9 halfway

Each site is served by bench/counting_server.py, which counts what the site sees from
all workers together: the most requests in flight at once (the job's
per_host_concurrency is the limit) and the smallest gap between two arrivals (the
job's min_delay, where one is set). Per setup it prints pages, wall seconds from
submitting the job to the last process exiting (so start-up and finalizing count),
pages/s, and the peak RSS of each worker's process tree (the worker and its extraction
processes, sampled every 100 ms). Everything runs on this machine: the site, the
database and every worker share its cores.

Needs PostgreSQL's server binaries (Debian: `postgresql`) and, by default, the Python
docs (`python3-doc`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))

from crawl import DEFAULT_CORPUS, free_port, tree_rss_kb, wait_for_port  # noqa: E402
from synthetic_site import generate  # noqa: E402

from docspasta.store import open_reader  # noqa: E402

CLI = [sys.executable, "-m", "docspasta"]
PER_HOST = 8


@dataclass(frozen=True)
class Site:
    name: str
    root: Path
    start: str  # path of the start page
    pages: int
    server_delay: float = 0.0
    min_delay: float = 0.0
    extra: tuple[str, ...] = ()  # more crawl flags


@dataclass
class Result:
    site: str
    setup: str
    pages: int
    wall_s: float
    max_in_flight: int
    min_gap_ms: float | None
    p5_gap_ms: float | None
    peak_rss_mb: list[float]
    fetched_twice: int
    stored_by: int = 1  # workers that committed pages

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0


@contextlib.contextmanager
def counting_server(site: Site) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, str(HERE / "counting_server.py"), str(site.root), str(port)]
    proc = subprocess.Popen([*command, "--delay", str(site.server_delay)])
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def server_stats(base: str, *, reset: bool = False) -> dict:
    with urllib.request.urlopen(base + ("/__reset" if reset else "/__stats"), timeout=10) as response:
        return json.loads(response.read())


class Sampler:
    """Peak RSS of each process's tree, sampled every 100 ms."""

    def __init__(self, procs: list[subprocess.Popen[str]]) -> None:
        self.procs = procs
        self.peaks = [0] * len(procs)
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.done.is_set():
            for i, proc in enumerate(self.procs):
                if proc.poll() is None:
                    self.peaks[i] = max(self.peaks[i], tree_rss_kb(proc.pid))
            self.done.wait(0.1)

    def stop(self) -> list[float]:
        self.done.set()
        self.thread.join()
        return [round(p / 1024) for p in self.peaks]


def settings_args(site: Site, base: str) -> list[str]:
    return [
        base + site.start, "--allow-host", base.removeprefix("http://"), "--max-pages", str(site.pages),
        "--concurrency", "16", "--per-host-concurrency", str(PER_HOST), "--delay", str(site.min_delay),
        "--timeout", "30", "--quiet", *site.extra,
    ]  # fmt: skip


def run_sqlite(site: Site, base: str, workdir: Path) -> Result:
    db = workdir / f"{site.name}.db"
    server_stats(base, reset=True)
    started = time.perf_counter()
    proc = subprocess.Popen([*CLI, "crawl", *settings_args(site, base), "--db", str(db), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    sampler = Sampler([proc])
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    peaks = sampler.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"crawl exited {proc.returncode}: {stderr[-2000:]}")
    summary = json.loads(stdout)
    return _result(site, "SQLite, 1 process", base, summary["completed"], wall, peaks)


def run_workers(site: Site, base: str, db: str, n: int, *, kill_at: int | None = None) -> Result:
    server_stats(base, reset=True)
    started = time.perf_counter()
    enqueued = subprocess.run([*CLI, "crawl", *settings_args(site, base), "--db", db, "--enqueue", "--json"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    job_id = json.loads(enqueued.stdout)["job_id"]
    procs = [
        subprocess.Popen(
            [*CLI, "worker", "--db", db, "--name", f"w{i}", "--exit-when-idle", "--concurrency", "16"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for i in range(n)
    ]
    sampler = Sampler(procs)
    done_before_kill: set[str] = set()
    held_at_kill = 0
    if kill_at is not None:
        while len(open_reader(db).pages(job_id, status="completed")) < kill_at:
            time.sleep(0.05)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        done_before_kill = {r["url"] for r in open_reader(db).pages(job_id, status="completed")}
        held_at_kill = len(open_reader(db).pages(job_id, status="processing"))
    for proc in procs:
        _, stderr = proc.communicate()
        if proc.returncode not in (0, -signal.SIGKILL):
            raise RuntimeError(f"worker exited {proc.returncode}: {stderr[-2000:]}")
    wall = time.perf_counter() - started
    peaks = sampler.stop()
    job = open_reader(db).get_job(job_id)
    setup = f"PostgreSQL, {n} worker{'s' if n > 1 else ''}" + (", one killed (-9) halfway" if kill_at else "")
    result = _result(site, setup, base, job.completed, wall, peaks)
    result.stored_by = len({r["worker"] for r in open_reader(db).pages(job_id, status="completed")})
    if kill_at is not None:
        rows = open_reader(db).pages(job_id, status="completed")
        hits = server_stats(base)["hits"]
        again = [u for u in done_before_kill if hits.get(u.removeprefix(base), 0) > 1]
        print(f"\nkill run: job {job.status}, {job.completed} completed (max_pages {site.pages}), "
              f"{len({r['url'] for r in rows})} distinct URLs, stored by {sorted({r['worker'] for r in rows})}; "
              f"{len(done_before_kill)} completed before the kill, {len(again)} of them fetched again; "
              f"{held_at_kill} pages in flight at the kill; "
              f"most requests in flight {result.max_in_flight} (limit {PER_HOST})")  # fmt: skip
    return result


def _result(site: Site, setup: str, base: str, pages: int, wall: float, peaks: list[float]) -> Result:
    stats = server_stats(base)
    twice = sum(1 for path, n in stats["hits"].items() if n > 1 and path.endswith(".html"))
    return Result(site.name, setup, pages, wall, stats["max_in_flight"], stats["min_gap_ms"], stats["p5_gap_ms"],
                  peaks, twice)  # fmt: skip


def report(results: list[Result]) -> None:
    print("\n| site | setup | pages | wall s | pages/s | vs SQLite | most in flight (limit 8) | "
          "smallest gap ms (5th pct) | peak RSS per worker MB | pages fetched twice | "
          "workers that stored pages |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
    baseline: dict[str, float] = {}
    for r in results:
        if r.setup.startswith("SQLite"):
            baseline[r.site] = r.pages_per_s
        ratio = f"{r.pages_per_s / baseline[r.site]:.2f}x" if baseline.get(r.site) else "—"
        gap = f"{r.min_gap_ms:.1f} ({r.p5_gap_ms:.1f})" if r.min_gap_ms is not None else "—"
        print(f"| {r.site} | {r.setup} | {r.pages} | {r.wall_s:.1f} | {r.pages_per_s:.1f} | {ratio} | "
              f"{r.max_in_flight} | {gap} | {', '.join(map(str, r.peak_rss_mb))} | {r.fetched_twice} | "
              f"{r.stored_by} |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS)
    parser.add_argument("--pages", type=int, default=500, help="max pages of the Python-docs job")
    parser.add_argument("--synthetic", type=int, default=1000, help="pages of the synthetic site")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--kill", action="store_true", help="only the fault run")
    args = parser.parse_args()
    from pg_server import PostgresServer

    workdir = Path(tempfile.mkdtemp(prefix="bench-workers-"))
    synthetic = workdir / "synthetic"
    generate(synthetic, args.synthetic)
    # the generated pages (the general index's letters) count too, so the docs hold more than 500 pages
    sites = [Site("python-docs", Path(args.corpus), "/index.html", args.pages, extra=("--include-generated",))]
    if not args.kill:
        sites += [
            Site(f"synthetic-{args.synthetic}", synthetic, "/docs/index.html", args.synthetic),
            Site("synthetic, slow server (50 ms), min_delay 20 ms", synthetic, "/docs/index.html", 300,
                 server_delay=0.05, min_delay=0.02),
        ]  # fmt: skip
    results: list[Result] = []
    with PostgresServer() as pg:
        for site in sites:
            with counting_server(site) as base:
                if args.kill:
                    results.append(run_workers(site, base, pg.new_database("kill"), 2, kill_at=site.pages // 2))
                    continue
                results.append(run_sqlite(site, base, workdir))
                print(results[-1], flush=True)
                for n in (int(w) for w in args.workers.split(",")):
                    results.append(run_workers(site, base, pg.new_database(f"w{n}_{len(results)}"), n))
                    print(results[-1], flush=True)
    report(results)


if __name__ == "__main__":
    main()
