"""`docspasta worker` processes on one PostgreSQL store, as an operator runs them: a job
enqueued from the CLI, workers as subprocesses, a real site on 127.0.0.1 that counts
what it sees (every request, and the most in flight at once)."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import wait_until
from fixture_server import FixtureServer

from docspasta.store import open_reader, open_writer

sys.path.insert(0, str(Path(__file__).parent.parent / "bench"))
from synthetic_site import generate  # noqa: E402

CLI = [sys.executable, "-m", "docspasta"]
PER_HOST = 3


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synthetic")
    generate(root, 150)
    return root


def enqueue(server: FixtureServer, db: str, *extra: str) -> str:
    args = ["crawl", server.url("/docs/index.html"), "--db", db, "--enqueue", "--json", "--allow-host",
            server.allow_hosts[0], "--per-host-concurrency", str(PER_HOST), "--timeout", "5", *extra]  # fmt: skip
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["status"] == "pending"
    return summary["job_id"]


STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def no_worker_outlives_its_test():
    yield
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def worker(db: str, name: str, *extra: str) -> subprocess.Popen[str]:
    args = ["worker", "--db", db, "--name", name, "--concurrency", "8", "--extract-workers", "1", *extra]
    proc = subprocess.Popen([*CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    STARTED.append(proc)
    return proc


def finish(proc: subprocess.Popen[str], db: str, timeout: float) -> tuple[str, str]:
    """Wait for a worker to exit; if it does not, fail with what the store says it is waiting for."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, stderr = proc.communicate()
        with open_writer(db) as store:
            state = [
                *store.conn.execute("SELECT status, count(*) AS n FROM pages GROUP BY status"),
                *store.conn.execute("SELECT job_id, worker, heartbeat_at FROM job_workers"),
                *store.conn.execute("SELECT host, worker, until FROM host_slots"),
                *store.conn.execute(
                    "SELECT client_addr, state, wait_event, left(query, 60) AS query FROM pg_stat_activity "
                    "WHERE datname = current_database()"
                ),
            ]
        raise AssertionError(f"the worker did not finish:\n{stderr}\n{state}") from None


def completed(db: str, job_id: str) -> list[dict]:
    return open_reader(db).pages(job_id, status="completed")


def page_hits(server: FixtureServer) -> Counter[str]:
    return Counter(p for p in server.fetched() if p.endswith(".html"))


def test_two_workers_share_an_enqueued_job_each_page_fetched_and_stored_once(pg_url, synthetic):
    with FixtureServer(synthetic, delay=0.1) as server:  # about 4 s: both workers are in before it ends
        job_id = enqueue(server, pg_url, "--max-pages", "120")
        workers = [worker(pg_url, name, "--exit-when-idle") for name in ("a", "b")]
        for proc in workers:
            _, stderr = proc.communicate(timeout=180)
            assert proc.returncode == 0, stderr
        hits = page_hits(server)
        assert server.max_in_flight <= PER_HOST  # what the site saw from both workers together
    job = open_reader(pg_url).get_job(job_id)
    assert job.status == "completed" and job.completed == 120
    rows = completed(pg_url, job_id)
    assert len({r["url"] for r in rows}) == 120
    assert {r["worker"] for r in rows} == {"a", "b"}  # both workers committed pages
    assert max(hits.values()) == 1, [p for p, n in hits.items() if n > 1]


def test_a_killed_worker_s_pages_are_finished_by_the_other_and_nothing_done_is_fetched_again(pg_url, synthetic):
    with FixtureServer(synthetic, delay=0.2) as server:  # slow enough that both workers are busy before the kill
        job_id = enqueue(server, pg_url, "--max-pages", "100", "--lease", "5")
        victim = worker(pg_url, "victim")
        survivor = worker(pg_url, "survivor", "--exit-when-idle")

        def both_working() -> bool:
            rows = completed(pg_url, job_id)
            return len(rows) >= 30 and {r["worker"] for r in rows} == {"victim", "survivor"}

        wait_until(both_working, 120, what="both workers to commit pages")
        victim.send_signal(signal.SIGKILL)
        victim.wait(10)
        done_before = {r["url"].removeprefix(server.base) for r in completed(pg_url, job_id)}
        _, stderr = finish(survivor, pg_url, timeout=240)
        assert survivor.returncode == 0, stderr
        hits = page_hits(server)
        assert server.max_in_flight <= PER_HOST
    job = open_reader(pg_url).get_job(job_id)
    assert job.status == "completed" and job.completed == 100
    rows = completed(pg_url, job_id)
    assert len({r["url"] for r in rows}) == 100
    assert all(hits[path] == 1 for path in done_before), "a page completed before the kill was fetched again"


def test_sigterm_hands_the_pages_back_at_once_and_the_job_goes_on(pg_url, synthetic):
    with FixtureServer(synthetic, delay=0.2) as server:
        job_id = enqueue(server, pg_url, "--max-pages", "60", "--lease", "600")  # only leaving returns pages
        first = worker(pg_url, "first")
        wait_until(lambda: len(completed(pg_url, job_id)) >= 5, 120, what="progress")
        first.send_signal(signal.SIGTERM)
        _, stderr = first.communicate(timeout=30)
        assert first.returncode == 0, stderr
        with open_writer(pg_url) as store:
            held = store.conn.execute("SELECT count(*) AS n FROM pages WHERE status = 'processing'").fetchone()
        assert held["n"] == 0
        assert open_reader(pg_url).get_job(job_id).status == "interrupted"  # nobody else ran it
        second = worker(pg_url, "second", "--exit-when-idle")
        _, stderr = second.communicate(timeout=180)
        assert second.returncode == 0, stderr
    job = open_reader(pg_url).get_job(job_id)
    assert job.status == "completed" and job.completed == 60


def test_worker_and_enqueue_refuse_a_sqlite_store_with_a_clear_message(tmp_path):
    db = str(tmp_path / "lite.db")
    proc = subprocess.run([*CLI, "worker", "--db", db], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "needs a shared PostgreSQL store" in proc.stderr
    proc = subprocess.run([*CLI, "crawl", "https://example.org/", "--db", db, "--enqueue"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and "drop --enqueue" in proc.stderr


# -- the database goes away ------------------------------------------------------------------


@pytest.fixture
def own_pg(pg_server):
    """A crash-safe PostgreSQL server of this test's own, to crash and restart
    (pg_server skips, or fails under CI, first if there is none)."""
    from pg_server import PostgresServer

    with PostgresServer(durable=True) as server:
        yield server


def test_workers_ride_out_a_database_restart_mid_crawl(own_pg, synthetic):
    db = own_pg.new_database("restarted")
    with FixtureServer(synthetic, delay=0.05) as server:
        job_id = enqueue(server, db, "--max-pages", "80")
        proc = worker(db, "steady", "--exit-when-idle")
        wait_until(lambda: len(completed(db, job_id)) >= 10, 120, what="progress before the restart")
        own_pg.crash()
        time.sleep(3)
        own_pg.start()
        _, stderr = proc.communicate(timeout=240)
        assert proc.returncode == 0, stderr
        assert "reconnecting" in stderr or "unreachable" in stderr  # the log says what it rode out
        hits = page_hits(server)
    job = open_reader(db).get_job(job_id)
    assert job.status == "completed" and job.completed == 80
    rows = completed(db, job_id)
    assert len({r["url"] for r in rows}) == 80
    assert sum(hits.values()) <= 80 + 8 + 10  # at most a batch or two in flight at the crash fetched again


@dataclass
class Namespace:
    """Another host: `db_ip` and `web_ip` are this machine's addresses on the two links to it."""

    name: str
    db_ip: str
    db_link: str  # this side of the link the database is reached over: down is a partition
    web_ip: str


@pytest.fixture
def netns():
    """A second host: a network namespace joined to this one by two veth pairs, one to
    reach the database over and one to reach the docs site, so one can be cut alone."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("network namespaces (root and iproute2) are needed under CI=true")
        pytest.skip("network namespaces need root and iproute2")
    n = secrets.randbelow(200) + 20
    name = f"dpw{n}"
    links = [(f"dpwd{n}", f"dpwdp{n}", f"10.213.{n}"), (f"dpww{n}", f"dpwwp{n}", f"10.214.{n}")]
    steps = [["ip", "netns", "add", name], ["ip", "netns", "exec", name, "ip", "link", "set", "lo", "up"]]
    for link, peer, net in links:
        steps += [
            ["ip", "link", "add", link, "type", "veth", "peer", "name", peer],
            ["ip", "link", "set", peer, "netns", name],
            ["ip", "addr", "add", f"{net}.1/30", "dev", link],
            ["ip", "link", "set", link, "up"],
            ["ip", "netns", "exec", name, "ip", "addr", "add", f"{net}.2/30", "dev", peer],
            ["ip", "netns", "exec", name, "ip", "link", "set", peer, "up"],
        ]
    try:
        for step in steps:
            subprocess.run(step, check=True, capture_output=True, text=True)
        yield Namespace(name, f"10.213.{n}.1", links[0][0], f"10.214.{n}.1")
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
        for link, _, _ in links:
            subprocess.run(["ip", "link", "del", link], capture_output=True)


@pytest.mark.slow
def test_a_worker_cut_off_from_the_database_past_its_lease_stops_committing_and_says_so(
    pg_server, netns, synthetic, tmp_path
):
    from pg_server import PostgresServer

    log_path = tmp_path / "far.log"
    with (
        PostgresServer(listen=("127.0.0.1", netns.db_ip)) as pg,
        FixtureServer(synthetic, delay=0.1, host=netns.web_ip) as server,
    ):
        local = pg.new_database("cut")
        job_id = enqueue(server, local, "--max-pages", "60", "--lease", "5")
        args = ["worker", "--db", local.replace("127.0.0.1", netns.db_ip), "--name", "far", "--extract-workers",
                "1", "--concurrency", "4"]  # fmt: skip
        with log_path.open("w") as log:
            far = subprocess.Popen(["ip", "netns", "exec", netns.name, *CLI, *args], stdout=log, stderr=log)
        try:
            wait_until(lambda: len(completed(local, job_id)) >= 5, 120, what="the far worker's progress")
            subprocess.run(["ip", "link", "set", netns.db_link, "down"], check=True)
            stored_by_far = len(completed(local, job_id))
            near = worker(local, "near", "--exit-when-idle")  # finishes the job once the far leases run out
            wait_until(lambda: "longer than the 5 s lease" in log_path.read_text(), 60,
                       what="the far worker to say it stopped")  # fmt: skip
            _, stderr = finish(near, local, timeout=120)
            assert near.returncode == 0, stderr
            subprocess.run(["ip", "link", "set", netns.db_link, "up"], check=True)
            time.sleep(8)  # the far worker reconnects; whatever it still had queued is fenced, not stored
            assert far.poll() is None, log_path.read_text()  # a worker outlives an outage
            job = open_reader(local).get_job(job_id)
            rows = completed(local, job_id)
        finally:
            far.send_signal(signal.SIGTERM)
            far.wait(60)
    assert job.status == "completed" and job.completed == 60
    assert len({r["url"] for r in rows}) == 60
    assert sum(r["worker"] == "far" for r in rows) == stored_by_far  # nothing from the far side after the cut


def test_a_front_end_that_runs_nothing_pauses_resumes_and_cancels_jobs_workers_run(pg_url, synthetic):
    """The dashboard's runner with run_crawls off: it stores jobs for workers, and its
    pause, resume and cancel reach the workers through the store."""
    from docspasta import CrawlSettings
    from docspasta.crawl.runner import Runner

    front = Runner(pg_url, run_crawls=False)
    try:
        with FixtureServer(synthetic, delay=0.3) as server:  # ~6 pages/s: the pause and cancel land mid-crawl
            settings = CrawlSettings(url=server.url("/docs/index.html"), allow_hosts=server.allow_hosts,
                                     max_pages=100, per_host_concurrency=2)  # fmt: skip
            job_id = front.submit(settings)
            assert open_reader(pg_url).get_job(job_id).status == "pending" and not front.is_running(job_id)
            busy = worker(pg_url, "w", "--exit-when-idle")
            wait_until(lambda: len(completed(pg_url, job_id)) >= 5, 120, what="progress")
            front.pause(job_id)
            wait_until(lambda: open_reader(pg_url).get_job(job_id).status == "paused", 30, what="the pause")
            _, stderr = finish(busy, pg_url, timeout=60)  # nothing left to take: it exits
            assert busy.returncode == 0, stderr
            paused_at = open_reader(pg_url).get_job(job_id).completed
            front.resume(job_id)  # back to the workers
            assert open_reader(pg_url).get_job(job_id).status == "pending"
            again = worker(pg_url, "w2", "--exit-when-idle")
            wait_until(lambda: len(completed(pg_url, job_id)) >= paused_at + 5, 120, what="progress after resume")
            front.cancel(job_id)
            _, stderr = finish(again, pg_url, timeout=60)
            assert again.returncode == 0, stderr
        job = open_reader(pg_url).get_job(job_id)
        assert job.status == "cancelled" and paused_at + 5 <= job.completed < 100
    finally:
        front.stop()


def test_a_429_s_retry_after_holds_for_every_worker(pg_url, synthetic):
    with FixtureServer(synthetic, delay=0.05, throttle_after=40) as server:
        job_id = enqueue(server, pg_url, "--max-pages", "100")
        procs = [worker(pg_url, name, "--exit-when-idle") for name in ("a", "b")]
        for proc in procs:
            _, stderr = finish(proc, pg_url, timeout=180)
            assert proc.returncode == 0, stderr
        assert server.throttled_at is not None
        arrivals = sorted(t for times in server.times.values() for t in times)
    # requests already on the wire when the 429 went out may still land in the first moments
    quiet = [round(t - server.throttled_at, 3) for t in arrivals if 0.25 < t - server.throttled_at < 1.9]
    assert quiet == []  # then neither worker sent the site anything while it asked for quiet
    job = open_reader(pg_url).get_job(job_id)
    assert job.completed == 100 and job.failed == 0  # the throttled page was retried after the pause


def test_the_cli_enqueues_lists_and_re_enqueues_jobs_for_workers(pg_url, site):
    job_id = enqueue(site, pg_url, "--max-pages", "5")
    listed = subprocess.run([*CLI, "jobs", "--db", pg_url, "--json"], capture_output=True, text=True, timeout=60)
    assert [(j["job_id"], j["status"]) for j in json.loads(listed.stdout)] == [(job_id, "pending")]
    cancel = open_writer(pg_url)
    cancel.request_control(job_id, "cancel")  # nobody ran it yet: cancelled at once
    cancel.close()
    assert open_reader(pg_url).get_job(job_id).status == "cancelled"
    again = subprocess.run([*CLI, "resume", job_id, "--db", pg_url, "--enqueue", "--json"], capture_output=True,
                           text=True, timeout=60)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["status"] == "pending"
    done = worker(pg_url, "w", "--exit-when-idle")
    _, stderr = finish(done, pg_url, timeout=120)
    assert done.returncode == 0, stderr
    assert open_reader(pg_url).get_job(job_id).status == "completed"


def test_min_delay_spaces_the_requests_of_all_workers_together(pg_url, synthetic):
    with FixtureServer(synthetic) as server:
        # 100 pages 50 ms apart: over 5 s, so the second worker is in before the job ends
        job_id = enqueue(server, pg_url, "--max-pages", "100", "--delay", "0.05")
        procs = [worker(pg_url, name, "--exit-when-idle") for name in ("a", "b")]
        for proc in procs:
            _, stderr = finish(proc, pg_url, timeout=180)
            assert proc.returncode == 0, stderr
        arrivals = sorted(t for times in server.times.values() for t in times)
    rows = completed(pg_url, job_id)
    assert len(rows) == 100 and {r["worker"] for r in rows} == {"a", "b"}
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    # 50 ms between turns on the database's clock; what the server records adds its own threads' jitter
    assert min(gaps) > 0.035, sorted(gaps)[:5]


def test_workers_run_an_enqueued_refresh_and_take_every_unchanged_page_over(pg_url, synthetic):
    with FixtureServer(synthetic) as server:
        first = enqueue(server, pg_url, "--max-pages", "60")
        _, stderr = finish(worker(pg_url, "w0", "--exit-when-idle"), pg_url, timeout=120)
        assert open_reader(pg_url).get_job(first).status == "completed", stderr
        server.requests.clear()
        server.hits.clear()
        queued = subprocess.run([*CLI, "refresh", first, "--db", pg_url, "--enqueue", "--json"], capture_output=True,
                                text=True, timeout=60)  # fmt: skip
        assert queued.returncode == 0, queued.stderr
        summary = json.loads(queued.stdout)
        assert summary["status"] == "pending" and summary["since"] == first
        workers = [worker(pg_url, f"r{i}", "--exit-when-idle") for i in range(2)]
        for proc in workers:
            finish(proc, pg_url, timeout=120)
        job = open_reader(pg_url).get_job(summary["job_id"])
        assert job.status == "completed" and job.completed == 60
        pages = completed(pg_url, job.id)
        assert {p["reuse"] for p in pages} == {"not-modified"}  # Python's server: If-Modified-Since, a 304 each
        assert {p["worker"] for p in pages} <= {"r0", "r1"}  # 60 quick 304s: one may finish before the other joins
        assert max(page_hits(server).values()) == 1  # no page asked for twice
        report = subprocess.run([*CLI, "changes", job.id, "--db", pg_url, "--json"], capture_output=True, text=True,
                                timeout=60)  # fmt: skip
        assert json.loads(report.stdout)["unchanged"] == 60 and json.loads(report.stdout)["changed"] == []
