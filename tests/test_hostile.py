"""A crawl of the hostile server (tests/hostile_server.py), judged from the server's own log.

One crawl of the whole trap site runs once for the module; each test asserts one
promise of issue 6 against it: politeness, caps, content handling, traps, robots.txt
and exactly-once fetching. The address guard's own suite runs in a loopback-only
network namespace (test_address_guard_in_a_loopback_only_namespace, at the end).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from hostile_server import HostileServer, bomb

from docspasta.api import crawl

pytestmark = [
    pytest.mark.slow,
    pytest.mark.xdist_group("hostile"),
]  # one shared crawl of the hostile server (~25 s), in one worker

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = dict(max_pages=1000, max_depth=30, timeout=2.0, retries=1, max_bytes=2_000_000, concurrency=8,
                exclude=["/h/many/**"])  # fmt: skip


class Crawled:
    def __init__(self, server: HostileServer, db: Path, result) -> None:
        self.server, self.db, self.result = server, db, result
        conn = sqlite3.connect(db)
        conn.row_factory = sqlite3.Row
        self.rows = {
            r["url"].removeprefix(server.base): dict(r)
            for r in conn.execute("SELECT * FROM pages WHERE job_id = ?", (result.job_id,))
        }
        conn.close()

    def row(self, path: str) -> dict:
        return self.rows[path]

    def status(self, path: str) -> tuple[str, str | None]:
        row = self.rows[path]
        return row["status"], row["reason"]


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Crawled:
    db = tmp_path_factory.mktemp("hostile") / "jobs.db"
    _build_bombs()
    with HostileServer() as server:
        result = crawl(server.url("/h/index.html"), db=db, allow_hosts=server.allow_hosts, **SETTINGS)
        yield Crawled(server, db, result)


def _build_bombs() -> None:
    """Before a crawl: built on its first request, a bomb body could outlast the 2 s timeout."""
    for encoding in ("gzip", "deflate", "br"):
        bomb(encoding)


def test_the_job_completes_and_every_failure_has_its_reason(hostile):
    assert hostile.result.status == "completed", hostile.result.error
    for path, row in hostile.rows.items():
        if row["status"] in ("failed", "skipped"):
            assert row["reason"], path


def test_retry_after_is_honoured_for_the_whole_host(hostile):
    log = hostile.server.log
    [first, second] = hostile.server.times("/h/busy.html")
    assert second - first >= 2.0  # Retry-After: 2
    assert hostile.status("/h/busy.html") == ("completed", None)
    # nothing else went to the host while it asked for a pause (a request in flight as the 429 left may land)
    assert not [h.route for h in log if first + 0.5 < h.at < first + 1.9]
    [first, second] = hostile.server.times("/h/unavailable.html")
    assert second - first >= 2.0  # an HTTP-date 3 s ahead, to the second
    assert hostile.status("/h/unavailable.html") == ("completed", None)


def test_a_retry_after_past_the_cap_fails_the_page_at_once_and_the_job_goes_on(hostile):
    assert hostile.server.hits["/h/wait-a-day.html"] == 1
    status, reason = hostile.status("/h/wait-a-day.html")
    assert status == "failed" and "Retry-After 86400 s exceeds the 60 s cap" in reason


def test_transient_failures_are_retried_with_backoff_then_recorded(hostile):
    times = hostile.server.times("/h/always-500.html")
    assert len(times) == 2  # retries=1
    assert times[1] - times[0] >= 0.12  # jittered backoff: 0.25 s x [0.5, 1]
    assert hostile.status("/h/always-500.html") == ("failed", "HTTP 500 (after 2 attempts)")


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/h/bomb-gzip.html", "response exceeds the 2,000,000 byte cap (after decompression)"),
        ("/h/bomb-deflate.html", "response exceeds the 2,000,000 byte cap (after decompression)"),
        ("/h/bomb-br.html", "response exceeds the 2,000,000 byte cap (after decompression)"),
        ("/h/huge-declared.html", "response of 10,737,418,240 bytes exceeds the 2,000,000 byte cap"),
        ("/h/huge-stream.html", "response exceeds the 2,000,000 byte cap"),
        ("/h/header-flood.html", "response headers exceed 100 KB"),
        ("/h/drip.html", "timed out after 2 s (after 2 attempts)"),
        ("/h/loop-a", "redirect loop at"),
        ("/h/chain/0", "more than 10 redirects"),
    ],
)
def test_caps_stop_each_trap_with_its_reason(hostile, path, reason):
    status, recorded = hostile.status(path)
    assert status == "failed" and reason in recorded


def test_caps_are_not_retried_when_retrying_cannot_help(hostile):
    for route in ("/h/bomb-gzip.html", "/h/bomb-br.html", "/h/huge-declared.html", "/h/header-flood.html"):
        assert hostile.server.hits[route] == 1, route
    assert hostile.server.hits["/h/chain/10"] == 1 and hostile.server.hits["/h/chain/11"] == 0


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/h/pdf-as-html.html", "skipped", "not HTML: PDF served as text/html"),
        ("/h/png-as-html.html", "skipped", "not HTML: PNG image served as text/html"),
        ("/h/not-html.html", "skipped", "not HTML: application/octet-stream"),
        ("/h/empty.html", "skipped", "no extractable content"),
        ("/h/js-only.html", "skipped", "needs JavaScript"),
        ("/h/nul.html", "completed", None),
        ("/h/refreshed.html", "completed", None),
        ("/h/based/target.html", "completed", None),
        ("/h/from-sitemap.html", "completed", None),
    ],
)
def test_content_is_sniffed_and_judged(hostile, path, status, reason):
    assert hostile.status(path) == (status, reason)


def test_deeply_nested_html_is_recorded_not_crashed_on(hostile):
    status, reason = hostile.status("/h/deep.html")
    assert status in ("completed", "skipped") and hostile.server.hits["/h/deep.html"] == 1


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("/h/cp1252.html", "Café – “smart quotes” naïve €5"),  # labelled UTF-8, really cp1252
        ("/h/latin1-meta.html", "Grüße aus Köln"),  # <meta charset> only
        ("/h/bom.html", "Überprüfung ✓"),  # the BOM beats a wrong header
    ],
)
def test_charsets_decode_without_mojibake(hostile, path, text):
    row = hostile.row(path)
    assert row["status"] == "completed" and text in row["markdown"] and "Ã" not in row["markdown"]


def test_meta_refresh_is_followed_once_as_a_redirect(hostile):
    status, reason = hostile.status("/h/meta-refresh.html")
    assert status == "skipped" and reason == f"meta refresh to {hostile.server.url('/h/refreshed.html')}"
    assert hostile.server.hits["/h/refreshed.html"] == 1


def test_a_page_and_its_canonical_url_are_stored_once(hostile):
    a, b = hostile.row("/h/canon-a.html"), hostile.row("/h/canon-b.html")
    assert [a["status"], b["status"]].count("completed") == 1
    skipped = a if a["status"] == "skipped" else b
    assert skipped["reason"].endswith("(canonical)")


def test_crawler_traps_are_bounded(hostile):
    calendar = [h for h in hostile.server.log if h.route == "/h/calendar.html"]
    assert 40 <= len(calendar) <= 51  # 50 query variants per path, then "trap: ..."
    assert any((r["reason"] or "").startswith("trap: more than 50 query variants") for r in hostile.rows.values())
    grow = [h for h in hostile.server.log if h.route.startswith("/h/grow/")]
    assert 0 < len(grow) <= 60
    assert any((r["reason"] or "").startswith("trap: path repeats segment") for r in hostile.rows.values())
    assert hostile.server.hits["/h/session.html"] == 2  # ?page=2 is a page; the session ids are not
    assert not [p for p in hostile.rows if "sessid" in p.lower() or "sid=" in p]


def test_links_taken_per_page_and_url_length_are_capped(hostile):
    many = [p for p, r in hostile.rows.items() if p.startswith("/h/many/")]
    assert len(many) == 2000  # MAX_LINKS_PER_PAGE of the page's 20,000
    assert not [h for h in hostile.server.log if len(h.path) > 2048]


def test_robots_txt_is_read_once_and_obeyed(hostile):
    assert hostile.server.hits["/robots.txt"] == 1
    assert hostile.server.hits["/h/private-by-robots/page.html"] == 0
    assert hostile.status("/h/private-by-robots/page.html") == ("skipped", "robots")


def test_no_page_that_succeeded_was_fetched_again(hostile):
    answered = [h.path for h in hostile.server.log if h.status == 200]
    stored = [path for path, row in hostile.rows.items() if row["status"] == "completed"]
    assert len(stored) > 40
    assert {path: answered.count(path) for path in stored} == dict.fromkeys(stored, 1)


def test_memory_stays_flat_through_bombs_and_huge_responses(tmp_path):
    """Peak RSS of a CLI crawl of the bomb and huge-response pages, against a crawl of plain pages."""
    traps = ["/h/bomb-gzip.html", "/h/bomb-deflate.html", "/h/bomb-br.html", "/h/huge-declared.html",
             "/h/huge-stream.html", "/h/index.html"]  # fmt: skip
    _build_bombs()
    with HostileServer() as server:
        plain = _peak_rss_kb(server, tmp_path / "plain.db", ["/h/index.html", "/h/nul.html", "/h/bom.html"])
        bombs = _peak_rss_kb(server, tmp_path / "bombs.db", traps)
        for route in traps[:-1]:
            assert server.hits[route] == 1, route
    # the bombs inflate to 512 MiB each and huge-stream would send 300 MiB: all stop at the 2 MB cap
    assert bombs - plain < 40 * 1024, (plain, bombs)


def _peak_rss_kb(server: HostileServer, db: Path, include: list[str]) -> int:
    cli = [sys.executable, "-m", "docspasta", "crawl", server.url("/h/index.html"), "--db", str(db), "--quiet",
           "--allow-host", server.allow_hosts[0], "--max-bytes", "2000000", "--depth", "1", "--retries", "0",
           "--no-sitemaps", *[a for p in include for a in ("--include", p)]]  # fmt: skip
    probe = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True); " \
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"  # fmt: skip
    out = subprocess.run([sys.executable, "-c", probe, *cli], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return int(out.stdout.split()[-1])


@pytest.mark.netns
def test_address_guard_in_a_loopback_only_namespace():
    """tests/netns_guard_cases.py, run where a broken guard cannot send a packet off the machine."""
    unshare = shutil.which("unshare")
    setup = ("ip link set lo up && ip addr add 169.254.169.254/32 dev lo && ip addr add 10.1.2.3/32 dev lo && "
             "ip addr add 100.64.0.1/32 dev lo")  # fmt: skip
    probe = subprocess.run([unshare, "-rn", "sh", "-c", setup], capture_output=True, text=True) if unshare else None
    if probe is None or probe.returncode != 0:
        detail = probe.stderr.strip() if probe is not None else "unshare is not installed (util-linux)"
        why = f"cannot make a loopback-only network namespace (unshare -rn): {detail}"
        if os.environ.get("CI") == "true":
            pytest.fail(why + "; CI must run the address-guard suite")
        pytest.skip(why)
    cases = Path(__file__).parent / "netns_guard_cases.py"
    command = f"{setup} && exec {sys.executable} -m pytest -q -p no:cacheprovider {cases}"
    env = {**os.environ, "DOCSPASTA_IN_NETNS": "1"}
    run = subprocess.run([unshare, "-rn", "sh", "-c", command], capture_output=True, text=True, timeout=300,
                         cwd=ROOT, env=env)  # fmt: skip
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and "skipped" not in run.stdout, run.stdout[-2000:]
