"""End to end in headless Chromium: the real `streamlit run app.py`, a real crawl.

Debian's chromium, driven by Playwright with `executable_path` (Playwright's own
browser download does not work here). Without chromium the test skips, except under
CI=true, where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from fixture_server import FixtureServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _require_chromium() -> str:
    if CHROMIUM is None:
        message = "chromium is not installed (apt-get install -y chromium); browser test not run"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_dashboard(db: Path, port: int) -> subprocess.Popen:
    """`streamlit run app.py` on 127.0.0.1:port with its own database; waits until healthy."""
    env = {**os.environ, "DOCSPASTA_DB": str(db), "DOCSPASTA_ALLOW_PRIVATE": "1"}  # the fixture site is on 127.0.0.1
    env.pop("DOCSPASTA_HOSTED", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true", "--server.fileWatcherType", "none",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=1) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            raise RuntimeError(f"streamlit did not start: {proc.stderr.read().decode()[-2000:]}")
        time.sleep(0.25)
    return proc


def stop_dashboard(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    os.killpg(proc.pid, sig)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    _require_chromium()
    port = _free_port()
    proc = start_dashboard(tmp_path_factory.mktemp("ui") / "ui.db", port)
    yield f"http://127.0.0.1:{port}"
    stop_dashboard(proc)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = _require_chromium()
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


def test_crawl_watch_preview_and_download(dashboard, browser, tmp_path):
    with FixtureServer() as site:
        page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        page.goto(dashboard, wait_until="domcontentloaded")
        url_box = page.get_by_label("Documentation URL", exact=True)
        url_box.wait_for(timeout=30_000)
        url_box.fill(site.url("/docs/index.html"))
        url_box.press("Enter")
        timeout_box = page.get_by_label("Per-page timeout (s)", exact=True)
        timeout_box.fill("1")
        timeout_box.press("Enter")
        page.get_by_role("button", name="Start crawl").click()

        done = page.locator('[role="progressbar"][aria-valuenow="100"]')
        done.wait_for(timeout=90_000)
        assert "job=" in page.url
        page.get_by_text("10 of 10 pages").first.wait_for(timeout=10_000)

        chart = page.locator('[data-testid="stVegaLiteChart"]').first
        chart.wait_for(timeout=20_000)
        assert chart.locator("canvas, svg").count() > 0

        page.get_by_text("Welcome. Widgetry is a small library").first.wait_for(timeout=20_000)

        with page.expect_download(timeout=20_000) as download:
            page.get_by_role("button", name="Download paste.md").click()
        saved = tmp_path / "paste.md"
        download.value.save_as(saved)
        text = saved.read_text()
        assert text.startswith("# Widgetry docs\n")
        assert text.count("\nSource: ") == 10

        # a reload shows the same finished job, rebuilt from the store
        page.reload(wait_until="domcontentloaded")
        page.locator('[role="progressbar"][aria-valuenow="100"]').wait_for(timeout=30_000)
        page.close()


def test_a_second_tab_and_a_server_restart_lose_nothing(browser, tmp_path):
    from docspasta.store import open_reader

    db, port = tmp_path / "restart.db", _free_port()
    base = f"http://127.0.0.1:{port}"
    with FixtureServer(delay=1.2) as slow:  # under the 2 s timeout; the job outlasts loading a second tab
        server = start_dashboard(db, port)
        try:
            page = browser.new_page()
            page.goto(base, wait_until="domcontentloaded")
            url_box = page.get_by_label("Documentation URL", exact=True)
            url_box.wait_for(timeout=30_000)
            url_box.fill(slow.url("/docs/index.html"))
            url_box.press("Enter")
            for label, value in (
                ("Concurrency", "1"),  # one page at a time: ~15 s of crawl, so a busy machine still kills it mid-way
                ("Batch size", "1"),
                ("Max depth", "3"),
                ("Per-page timeout (s)", "2"),  # slow.html (4.2 s) still times out
            ):
                box = page.get_by_label(label, exact=True)
                box.fill(value)
                box.press("Enter")
            page.get_by_role("button", name="Start crawl").click()
            page.wait_for_url("**job=*", timeout=30_000)
            [job] = open_reader(db).list_jobs()
            deadline = time.monotonic() + 60
            while open_reader(db).get_job(job.id).completed < 2:
                assert time.monotonic() < deadline, open_reader(db).get_job(job.id)  # status and error, if it ended
                time.sleep(0.05)
            second = browser.new_page()  # a second tab on the running job
            second.goto(page.url, wait_until="domcontentloaded")
            second.get_by_text("running").first.wait_for(timeout=30_000)
            second.close()
        finally:
            stop_dashboard(server, signal.SIGKILL)  # the server dies mid-crawl
        at_kill = open_reader(db).get_job(job.id)
        assert at_kill.status == "running" and at_kill.completed < 11
        kept = {p["url"] for p in open_reader(db).pages(job.id, status="completed")}

        server = start_dashboard(db, port)
        try:
            page.goto(f"{base}/?job={job.id}", wait_until="domcontentloaded")  # opening the app resumes it
            page.locator('[role="progressbar"][aria-valuenow="100"]').wait_for(timeout=90_000)
        finally:
            stop_dashboard(server)
    final = open_reader(db).get_job(job.id)
    assert final.status == "completed" and final.completed == 11
    assert kept <= {p["url"] for p in open_reader(db).pages(job.id, status="completed")}


def test_refresh_a_finished_crawl_and_read_its_changes(dashboard, browser):
    with FixtureServer() as site:
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(dashboard, wait_until="domcontentloaded")
        url_box = page.get_by_label("Documentation URL", exact=True)
        url_box.wait_for(timeout=30_000)
        url_box.fill(site.url("/docs/guide/index.html"))
        url_box.press("Enter")
        page.get_by_role("button", name="Start crawl").click()
        page.locator('[role="progressbar"][aria-valuenow="100"]').wait_for(timeout=90_000)
        first = page.url.split("job=")[1].split("&")[0]

        site.requests.clear()
        page.get_by_role("button", name="Refresh", exact=True).click()
        page.wait_for_url(lambda url: "job=" in url and first not in url, timeout=30_000)
        page.get_by_text("Nothing changed since the earlier crawl.").wait_for(timeout=90_000)
        page.get_by_text(f"Since job {first}").first.wait_for(timeout=10_000)
        assert site.pages_fetched(), "the refresh asked the site again"

        page.goto(dashboard + "/Jobs", wait_until="domcontentloaded")  # Open on the Jobs page: the link names the job
        page.locator(".st-key-jobs_open button").click()
        page.wait_for_url(lambda url: "/Jobs" not in url and "job=" in url, timeout=30_000)
        page.close()
