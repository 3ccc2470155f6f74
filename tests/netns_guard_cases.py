"""The address guard against real sockets, inside a loopback-only network namespace.

Run by tests/test_hostile.py::test_address_guard_in_a_loopback_only_namespace through
`unshare -rn`, with 169.254.169.254, 10.1.2.3 and 100.64.0.1 added to `lo`. A "trap"
server listens on every address of the namespace: it stands for cloud metadata, an
admin page and a database. A working guard sends it nothing; a broken one reaches it
(and, being in the namespace, reaches nothing else), and the trap's log says so.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from hostile_server import HostileServer

from docspasta.api import crawl
from docspasta.crawl.discovery import preview_scope
from docspasta.errors import BlockedAddressError
from docspasta.settings import CrawlSettings

pytestmark = pytest.mark.skipif(
    os.environ.get("DOCSPASTA_IN_NETNS") != "1", reason="runs inside `unshare -rn` (see test_hostile.py)"
)
FAST = dict(timeout=2.0, retries=0)


class Trap(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (address the client reached, path)
        super().__init__(("0.0.0.0", 0), _TrapHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _TrapHandler(BaseHTTPRequestHandler):
    server: Trap

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.server.requests.append((self.connection.getsockname()[0], self.path))
        body = b"<html><body><h1>instance secrets</h1><p>you should not be here</p></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def trap():
    server = Trap()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def site(trap):
    with HostileServer(trap_port=trap.server_address[1]) as server:
        yield server


def test_the_trap_is_reachable_so_a_broken_guard_would_show(trap, site, tmp_path):
    """The control: opened deliberately, the guard lets the redirect through to 10.1.2.3."""
    result = crawl(site.url("/h/to-private"), db=tmp_path / "j.db", allow_private=True, max_depth=0, **FAST)
    assert result.status == "completed"
    assert ("10.1.2.3", "/admin") in trap.requests  # (after its robots.txt)


@pytest.mark.parametrize(
    ("route", "address"),
    [
        ("/h/to-metadata", "169.254.169.254"),
        ("/h/to-private", "10.1.2.3"),
        ("/h/to-mapped", "::ffff:a9fe:a9fe"),
        ("/h/to-localhost", "127.0.0.1"),  # a name: judged on what it resolves to
        ("/h/to-other-port", "127.0.0.1"),  # the allowed host, another port
        ("/h/to-decimal", "127.0.0.1"),  # http://2130706433/ resolves to 127.0.0.1
    ],
)
def test_a_start_page_redirect_into_the_network_is_refused_at_connect(trap, site, tmp_path, route, address):
    result = crawl(site.url(route), db=tmp_path / "j.db", allow_hosts=site.allow_hosts, **FAST)
    assert result.status == "failed"
    assert f"blocked: non-public address ({address})" in result.error
    assert "allow_hosts=['HOST:PORT']" in result.error  # the message says how to open it deliberately
    assert trap.requests == []


@pytest.mark.parametrize(
    "url",
    ["http://169.254.169.254:{port}/latest/meta-data/", "http://100.64.0.1:{port}/", "http://localhost:{port}/",
     "http://[::ffff:10.1.2.3]:{port}/", "http://0x7f000001:{port}/"],
)  # fmt: skip
def test_a_start_url_into_the_network_is_refused(trap, tmp_path, url):
    url = url.format(port=trap.server_address[1])
    result = crawl(url, db=tmp_path / "j.db", **FAST)
    assert result.status == "failed" and "blocked: non-public address" in result.error, result.error
    assert trap.requests == []


def test_a_whole_crawl_of_the_trap_site_sends_the_network_nothing(trap, site, tmp_path):
    """Links, redirects, meta refresh, canonical, <base href>, robots.txt and sitemap entries all point inside."""
    include = ["/h/index.html", "/h/to-*", "/h/refresh-private.html", "/h/canonical-private.html",
               "/h/base-private.html", "/h/from-sitemap.html"]  # fmt: skip
    result = crawl(site.url("/h/index.html"), db=tmp_path / "j.db", allow_hosts=site.allow_hosts, include=include,
                   max_depth=3, **FAST)  # fmt: skip
    assert result.status == "completed"
    assert trap.requests == []
    assert site.hits["/h/from-sitemap.html"] == 1  # the sitemap was read: its private entry was refused


def test_the_scope_preview_is_guarded_too(trap):
    settings = CrawlSettings(url=f"http://10.1.2.3:{trap.server_address[1]}/", **FAST)
    with pytest.raises(BlockedAddressError, match=r"blocked: non-public address \(10.1.2.3\)"):
        asyncio.run(preview_scope(settings))
    assert trap.requests == []


def test_the_cli_refuses_with_a_clear_message(trap, tmp_path):
    url = f"http://169.254.169.254:{trap.server_address[1]}/latest/meta-data/"
    proc = subprocess.run([sys.executable, "-m", "docspasta", "crawl", url, "--db", str(tmp_path / "c.db"), "--quiet"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 1
    assert "blocked: non-public address (169.254.169.254)" in proc.stderr and "Traceback" not in proc.stderr
    assert trap.requests == []
