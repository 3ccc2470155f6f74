"""The MCP server as agents use it: through the SDK's in-memory client, and as a real
`docspasta mcp` subprocess over stdio and over streamable HTTP. Answers keep to their
token budgets (counted with the exact o200k tokenizer), bad input is a tool error that
says what to do, and the server answers while a crawl it started runs."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from changing_site import ChangingSite
from conftest import FAST
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from test_search import CORPUS, build

import docspasta
from docspasta.agents.mcp_server import DocsServer, build_server
from docspasta.extraction.tokens import TokenCounter

TOOLS = {"list_sites", "search_docs", "get_page", "get_paste", "crawl", "refresh", "job_status"}


@pytest.fixture
def crawled(tmp_path):
    with ChangingSite() as site:
        build(site)
        db = tmp_path / "docs.db"
        result = docspasta.crawl(site.url("/docs/index.html"), db=db, allow_hosts=site.allow_hosts,
                                 **{**FAST, "max_pages": 50})  # fmt: skip
        yield db, result.job_id, site


def text(result) -> str:
    return "".join(c.text for c in result.content)


def tokens(value: str) -> int:
    with TokenCounter() as counter:
        return counter.count(value)


async def call(docs: DocsServer, tool: str, **arguments):
    async with Client(build_server(docs)) as client:
        return await client.call_tool(tool, arguments)


async def test_every_tool_is_listed_with_a_docstring_an_agent_can_act_on(crawled):
    db, _, _ = crawled
    async with Client(build_server(DocsServer(db))) as client:
        listed = (await client.list_tools()).tools
        templates = (await client.list_resource_templates()).resource_templates
    assert {t.name for t in listed} == TOOLS
    assert all(len(t.description or "") > 60 for t in listed)
    search = next(t for t in listed if t.name == "search_docs")
    assert search.input_schema["required"] == ["query"]
    assert {"site", "limit", "max_tokens"} <= set(search.input_schema["properties"])
    assert {t.uri_template for t in templates} == {"docspasta://sites/{slug}/paste.md",
                                                   "docspasta://sites/{slug}/llms.txt"}  # fmt: skip


async def test_search_docs_leads_with_the_answer_s_url_and_keeps_to_its_budget(crawled):
    db, _, site = crawled
    docs = DocsServer(db)
    try:
        sites = text(await call(docs, "list_sites"))
        key = f"127.0.0.1:{site.port}/docs/"
        assert key in sites and f"| {len(CORPUS) + 1} |" in sites and "docspasta://sites/" in sites
        result = await call(docs, "search_docs", query="how do I cancel a task", site=key, max_tokens=300)
        answer = text(result)
        assert not result.is_error
        first_url = site.url("/docs/tasks.html")
        assert answer.startswith(f"[1] {first_url} — Coroutines and Tasks › Task Cancellation\n")
        assert answer.index("http") == answer.index(first_url)  # no other URL before the first hit's
        assert tokens(answer) <= 300
        small = text(await call(docs, "search_docs", query="task", max_tokens=100))
        assert tokens(small) <= 100 and small.startswith("[1] http")
    finally:
        docs.close()


async def test_get_page_continues_by_offset_and_get_paste_fits_its_budget(crawled):
    db, _, site = crawled
    docs = DocsServer(db)
    try:
        url = site.url("/docs/tasks.html")
        whole = text(await call(docs, "get_page", url=url, max_tokens=10_000))
        assert whole.startswith(f"{url} — Coroutines and Tasks\n") and "Task Cancellation" in whole
        first = text(await call(docs, "get_page", url=url, max_tokens=100))
        assert tokens(first) <= 100 and "… continues: get_page(" in first
        offset = int(first.rsplit("offset=", 1)[1].rstrip(")\n"))
        rest = text(await call(docs, "get_page", url=url, max_tokens=10_000, offset=offset))
        body = whole.split("\n\n", 1)[1]
        assert body.startswith(first.split("\n\n", 1)[1].split("\n\n… continues")[0])
        assert rest.split("\n\n", 1)[1].rstrip("\n") == body[offset:].rstrip("\n")
        paste = text(await call(docs, "get_paste", site_or_job=f"127.0.0.1:{site.port}/docs/", max_tokens=600))
        assert paste.startswith("# ") and tokens(paste) <= 600
    finally:
        docs.close()


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("search_docs", {"query": "  "}, "query is empty"),
        ("search_docs", {"query": "task", "max_tokens": 5}, "max_tokens 5 is out of range: give 100 to 50,000"),
        ("search_docs", {"query": "task", "limit": 0}, "limit 0 is out of range"),
        ("search_docs", {"query": "task", "site": "docs.nowhere.org"}, "no completed crawl of 'docs.nowhere.org'"),
        ("get_page", {"url": "http://nowhere.org/x.html"}, "no crawled page"),
        ("get_page", {"url": "U", "offset": -1}, "offset -1 is negative"),
        ("get_paste", {"site_or_job": "nope"}, "no completed crawl of 'nope'"),
        ("get_paste", {"site_or_job": "nope", "max_tokens": 10}, "max_tokens 10 is out of range"),
        ("crawl", {"url": "https://docs.python.org/3/"}, "start it with `docspasta mcp --allow-crawl`"),
        ("refresh", {"site": "x"}, "--allow-crawl"),
        ("job_status", {"job_id": "nope"}, "no job 'nope'"),
    ],
)
async def test_bad_input_is_a_tool_error_that_says_what_to_do(crawled, tool, arguments, message):
    db, _, _ = crawled
    docs = DocsServer(db)
    try:
        async with Client(build_server(docs)) as client:
            result = await client.call_tool(tool, arguments)
            assert result.is_error and message in text(result), text(result)
            assert not (await client.call_tool("list_sites", {})).is_error  # the server goes on answering
    finally:
        docs.close()


async def test_a_crawl_it_starts_runs_while_it_answers_and_then_is_searchable(tmp_path):
    db = tmp_path / "agent.db"
    with ChangingSite() as site:
        build(site)
        site.delay = 0.05  # slow enough that the crawl is still running when the next calls come
        docs = DocsServer(db, allow_crawl=True, allow_hosts=site.allow_hosts)
        try:
            async with Client(build_server(docs)) as client:
                started = text(await client.call_tool("crawl", {"url": site.url("/docs/index.html"), "max_pages": 20}))
                job_id = started.split("job ", 1)[1].split(" ", 1)[0]
                assert "job_status(" in started
                status = text(await client.call_tool("job_status", {"job_id": job_id}))
                assert "running" in status or "pending" in status  # answered while the crawl runs
                deadline = time.monotonic() + 60
                while not status.startswith(f"job {job_id}: completed"):
                    assert time.monotonic() < deadline, status
                    time.sleep(0.2)
                    status = text(await client.call_tool("job_status", {"job_id": job_id}))
                found = text(await client.call_tool("search_docs", {"query": "sort key function"}))
                assert found.startswith(f"[1] {site.url('/docs/sorting.html')}")
                refreshed = text(await client.call_tool("refresh", {"site": f"127.0.0.1:{site.port}/docs/"}))
                assert refreshed.startswith("Refresh started: job ")
        finally:
            docs.close()
        private = DocsServer(db, allow_crawl=True)  # the guard stays closed without the flags
        try:
            refused = await call(private, "crawl", url=site.url("/docs/index.html"))
            assert not refused.is_error  # the job starts, and fails on the guard like any crawl
            job_id = text(refused).split("job ", 1)[1].split(" ", 1)[0]
            deadline = time.monotonic() + 30
            while not (status := text(await call(private, "job_status", job_id=job_id))).startswith(
                f"job {job_id}: failed"
            ):
                assert time.monotonic() < deadline, status
                time.sleep(0.2)
            assert "non-public address" in status
        finally:
            private.close()


async def test_resources_hold_each_site_s_paste_and_llms_txt(crawled):
    db, _, site = crawled
    async with Client(build_server(DocsServer(db))) as client:
        slug = f"127.0.0.1_{site.port}-docs"
        paste = (await client.read_resource(f"docspasta://sites/{slug}/paste.md")).contents[0].text
        llms = (await client.read_resource(f"docspasta://sites/{slug}/llms.txt")).contents[0].text
    assert paste.startswith("# ") and "Task Cancellation" in paste
    assert llms.startswith("# ") and site.url("/docs/tasks.html") in llms


def _cli_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}


async def test_docspasta_mcp_over_stdio_lists_and_calls_tools_as_a_client_does(crawled):
    db, _, site = crawled
    params = StdioServerParameters(command=sys.executable, args=["-m", "docspasta", "mcp", "--db", str(db)],
                                   env=_cli_env())  # fmt: skip
    async with Client(params, read_timeout_seconds=60) as client:
        assert {t.name for t in (await client.list_tools()).tools} == TOOLS
        answer = text(await client.call_tool("search_docs", {"query": "read a file line by line"}))
        assert answer.startswith(f"[1] {site.url('/docs/files.html')} — Reading and Writing Files › Reading line")
        refused = await client.call_tool("crawl", {"url": "https://docs.python.org/3/"})
        assert refused.is_error and "--allow-crawl" in text(refused)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_docspasta_mcp_over_streamable_http_serves_several_clients(crawled):
    db, _, site = crawled
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "docspasta", "mcp", "--db", str(db), "--transport", "http",
                             "--port", str(port)], env=_cli_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
        for _ in range(2):
            async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                answer = text(await client.call_tool("search_docs", {"query": "subprocess timeout"}))
                assert answer.startswith(f"[1] {site.url('/docs/subprocess.html')}")
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_cli_refuses_guard_flags_without_allow_crawl(tmp_path):
    result = subprocess.run([sys.executable, "-m", "docspasta", "mcp", "--db", str(tmp_path / "x.db"),
                             "--allow-host", "127.0.0.1:8000"], capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == 2 and "add --allow-crawl" in result.stderr
