"""Whole-crawl benchmark: docspasta's CLI against Scrapy + trafilatura, in the same run.

    python bench/crawl.py [--corpus DIR] [--runs 3] [--concurrency 16]
    python bench/crawl.py --synthetic 20000 [--runs 1]

Serves the corpus on 127.0.0.1 (nginx if installed, else Python's threaded server in
its own process), then runs the two tools alternately (A B A B ...) and prints, per
tool, the median pages/s and wall time, the peak RSS of its whole process tree
(sampled every 100 ms), and the pages that came out with Markdown; then the ratio.
Wall time is the whole process: start-up, crawl, extraction, writing the paste
(`--out`; the peer writes its JSONL of Markdown), shutdown.

--synthetic N generates an N-page interlinked doc-like site (bench/synthetic_site.py),
crawls it with docspasta and prints pages/s per decile of the crawl and peak RSS: a
flat curve means no per-page cost that grows with the crawl. Add --peer to run Scrapy
on it too.

Needs the bench extra (`pip install -e '.[bench]'`: Scrapy) and, by default, the Python
docs (`apt-get install python3-doc`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
DEFAULT_CORPUS = "/usr/share/doc/python3.11/html"


@dataclass
class Run:
    tool: str
    wall_s: float
    pages: int
    with_markdown: int
    peak_rss_mb: float
    job_id: str | None = None
    db: Path | None = None
    loop_lag_ms: float | None = None  # docspasta: the longest the event loop was late

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.wall_s if self.wall_s else 0.0


# -- serving -------------------------------------------------------------------------


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """The corpus on 127.0.0.1; yields the base URL."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    if shutil.which("nginx"):
        mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
        (workdir / "nginx.conf").write_text(
            f"worker_processes 1; daemon off; pid {workdir}/nginx.pid; error_log {workdir}/error.log;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{ {mime} default_type application/octet-stream; access_log off; sendfile on;\n"
            f"  client_body_temp_path {workdir}; proxy_temp_path {workdir}; fastcgi_temp_path {workdir};\n"
            f"  uwsgi_temp_path {workdir}; scgi_temp_path {workdir};\n"
            f"  server {{ listen 127.0.0.1:{port}; root {root}; }} }}\n"
        )
        command = [shutil.which("nginx"), "-c", str(workdir / "nginx.conf"), "-p", str(workdir)]
        server = "nginx"
    else:
        command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(root)]
        server = "python http.server"
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        print(f"serving {root} with {server} on 127.0.0.1:{port}", file=sys.stderr)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(workdir, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"the server did not start on port {port}")


# -- measuring -----------------------------------------------------------------------


def measure(
    command: list[str], memory: Callable[[int], int] | None = None
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run a command; (wall seconds, peak memory MB of its process tree, the finished process).
    `memory` measures a tree in KB: tree_rss_kb (the default) or tree_pss_kb."""
    memory = memory or tree_rss_kb
    peak = 0
    done = threading.Event()
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, memory(proc.pid))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    if proc.returncode != 0:
        raise RuntimeError(f"{command[:4]} exited {proc.returncode}: {stderr[-2000:]}")
    return wall, peak / 1024, subprocess.CompletedProcess(command, proc.returncode, stdout, stderr)


def tree_rss_kb(root: int) -> int:
    """VmRSS summed over the tree: right for one process and its workers, an overstatement
    for a tree sharing much memory (Chromium's processes)."""
    return sum(_status_kb(pid, "VmRSS:") for pid in _tree(root))


def tree_pss_kb(root: int) -> int:
    """PSS summed over the tree: each shared page divided among the processes sharing it,
    so the sum is what the tree really holds (VmRSS where smaps_rollup is unreadable)."""
    total = 0
    for pid in _tree(root):
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
            total += next(int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:"))
        except (OSError, StopIteration):
            total += _status_kb(pid, "VmRSS:")
    return total


def _status_kb(pid: int, field: str) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(line.split()[1]) for line in status.splitlines() if line.startswith(field)), 0)


def _tree(root: int) -> set[int]:
    """The root and its descendants now."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, ppid in parents.items():
            if ppid == parent and pid not in tree:
                tree.add(pid)
                frontier.append(pid)
    return tree


# -- the two tools -------------------------------------------------------------------


def run_docspasta(start_url: str, concurrency: int, workdir: Path, max_pages: int) -> Run:
    db = workdir / f"docspasta-{time.monotonic_ns()}.db"
    host = start_url.split("/")[2]
    # the whole job a user runs: the crawl and the paste written (--out)
    command = [sys.executable, "-m", "docspasta", "crawl", start_url, "--db", str(db), "--quiet", "--json",
               "--max-pages", str(max_pages), "--depth", "100", "--concurrency", str(concurrency),
               "--per-host-concurrency", str(concurrency), "--allow-host", host,
               "--out", str(workdir / "paste.md")]  # fmt: skip
    wall, peak, proc = measure(command)
    summary = json.loads(proc.stdout)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        with_markdown = conn.execute(
            "SELECT count(*) FROM pages WHERE job_id = ? AND status = 'completed' AND length(markdown) > 0",
            (summary["job_id"],),
        ).fetchone()[0]
        lag = conn.execute(
            "SELECT json_extract(payload, '$.max_ms') FROM events WHERE job_id = ? AND type = 'loop_lag'",
            (summary["job_id"],),
        ).fetchone()
    run = Run("docspasta", wall, summary["completed"], with_markdown, peak, summary["job_id"], db)
    run.loop_lag_ms = lag[0] if lag else None
    return run


def run_scrapy(start_url: str, concurrency: int, workdir: Path) -> Run:
    out = workdir / f"scrapy-{time.monotonic_ns()}.jsonl"
    command = [sys.executable, str(HERE / "scrapy_peer.py"), start_url, str(out), "--concurrency", str(concurrency)]
    wall, peak, _ = measure(command)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return Run("scrapy+trafilatura", wall, len(lines), sum(1 for line in lines if line["chars"] > 0), peak)


# -- reports -------------------------------------------------------------------------


def report(runs: list[Run]) -> None:
    print(f"{'tool':<20} {'runs':>4} {'pages/s':>9} {'wall s':>8} {'peak RSS MB':>12} {'pages':>6} {'w/ Markdown':>12}")
    medians: dict[str, float] = {}
    for tool in dict.fromkeys(r.tool for r in runs):
        mine = [r for r in runs if r.tool == tool]
        medians[tool] = statistics.median(r.pages_per_s for r in mine)
        print(f"{tool:<20} {len(mine):>4} {medians[tool]:>9.1f} {statistics.median(r.wall_s for r in mine):>8.2f} "
              f"{max(r.peak_rss_mb for r in mine):>12.0f} {statistics.median(r.pages for r in mine):>6.0f} "
              f"{statistics.median(r.with_markdown for r in mine):>12.0f}")  # fmt: skip
    lags = [r.loop_lag_ms for r in runs if r.loop_lag_ms is not None]
    if lags:
        print(f"docspasta event loop: longest lag {max(lags):.0f} ms (a 50 ms timer; lag = work blocking the loop)")
    if len(medians) == 2:
        ours, peer = medians["docspasta"], medians["scrapy+trafilatura"]
        print(f"\ndocspasta / peer: {ours / peer:.1f}x pages/s (median of each)")


def deciles(run: Run) -> None:
    from docspasta.store.sqlite.reads import completion_times

    times = completion_times(run.db, run.job_id)
    n = len(times)
    print(f"\n{n} pages; pages/s per decile of the crawl (by completion order):")
    rates = []
    for d in range(10):
        lo, hi = d * n // 10, (d + 1) * n // 10
        start = times[lo - 1] if lo > 0 else 0.0
        span = times[hi - 1] - start
        rates.append((hi - lo) / span if span > 0 else 0.0)
        print(f"  decile {d + 1:>2}: {rates[-1]:7.1f} pages/s")
    print(f"last decile / first: {rates[-1] / rates[0]:.0%}; peak RSS {run.peak_rss_mb:.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="directory of HTML (default: the Python docs)")
    parser.add_argument("--start", default="index.html", help="start page, relative to the corpus")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--synthetic", type=int, metavar="N", help="generate and crawl an N-page site")
    parser.add_argument("--peer", action="store_true", help="with --synthetic: run Scrapy too")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    workdir.chmod(0o755)  # nginx's workers run as another user and must read the generated site
    try:
        if args.synthetic:
            from synthetic_site import generate

            root = workdir / "site"
            generate(root, args.synthetic)
            corpus, start, peer = root, "docs/index.html", args.peer
        else:
            corpus, start, peer = Path(args.corpus), args.start, True
        if not (corpus / start).exists():
            sys.exit(f"no {corpus / start}: install the Python docs (apt-get install python3-doc) or pass --corpus")
        runs: list[Run] = []
        with serve(corpus) as base:
            url = f"{base}/{start}"
            for i in range(args.runs):
                runs.append(run_docspasta(url, args.concurrency, workdir, max_pages=100_000))
                print(f"run {i + 1}: docspasta {runs[-1].pages} pages in {runs[-1].wall_s:.1f} s", file=sys.stderr)
                if peer:
                    runs.append(run_scrapy(url, args.concurrency, workdir))
                    print(f"run {i + 1}: scrapy {runs[-1].pages} pages in {runs[-1].wall_s:.1f} s", file=sys.stderr)
        report(runs)
        if args.synthetic:
            deciles(next(r for r in runs if r.tool == "docspasta"))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
