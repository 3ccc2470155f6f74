"""Every export format, parsed back; threshold, budget, repeated blocks and duplicates."""

from __future__ import annotations

import io
import json
import re
import zipfile

import conftest
import pytest
from conftest import pages_by_path
from fixture_server import FixtureServer

from docspasta import crawl, crawl_async
from docspasta.exports.export import (
    FORMATS,
    export,
    first_sentence,
    outline_levels,
    page_path,
    site_order,
    without_title,
)
from docspasta.extraction.tokens import count, estimate
from docspasta.store import open_reader

FAST = {**conftest.FAST, "retries": 1, "max_depth": 2}
pytestmark = pytest.mark.xdist_group("export")  # one worker, so the module's one crawl (`job`) runs once


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """One crawl of the docs fixture for the module: the tests only read it."""
    db_path = tmp_path_factory.mktemp("export") / "jobs.db"
    with FixtureServer() as site:
        result = crawl(site.url("/docs/index.html"), db=db_path, allow_hosts=site.allow_hosts, **FAST)
        yield db_path, result.job_id, site


async def test_paste_round_trip(job):
    db, job_id, site = job
    out = export(open_reader(db), job_id, "paste")
    text = out.data.decode()
    sections = re.split(r"\n---\n", text)
    assert len(sections) == 1 + out.pages == 11
    contents = re.findall(r"^\s*- \[(.+?)\]\(#(.+?)\)$", sections[0], re.M)
    assert len(contents) == out.pages
    titles = [re.search(r"^## (.+)$", s, re.M).group(1) for s in sections[1:]]
    assert [t for t, _ in contents] == titles
    assert "Configuration" in titles and not any(t.endswith("Widgetry docs") for t in titles)  # site part dropped
    for section, title in zip(sections[1:], titles, strict=True):  # the page's own title heading is not repeated
        body = section.split("\nSource: ", 1)[1].split("\n\n", 1)[1]
        assert not re.match(rf"#+ {re.escape(title)}\n", body), body[:80]
    assert out.tokens == count(text) and out.tokens > 1000


@pytest.mark.parametrize(
    "markdown, title, kept",
    [
        ("# `contextvars` — Context Variables\n\n---\n\nThis module", "contextvars — Context Variables", "This module"),
        ("## [Install](https://x/#install) ##\n\nSteps", "install", "Steps"),
        ("# Install\n\n```\n# Install\n```", "Install", "```\n# Install\n```"),
        ("# Other title\n\nText", "Install", "# Other title\n\nText"),
        ("Text first\n\n# Install", "Install", "Text first\n\n# Install"),
        ("# Install", "Install", ""),
    ],
)
def test_a_first_heading_repeating_the_title_is_left_to_the_section_heading(markdown, title, kept):
    assert without_title(markdown, title) == kept


def test_contents_nest_under_the_directory_indexes_listed_before_them():
    base = "https://docs.example.org/3/"
    paths = [
        "index.html",
        "tutorial/index.html",
        "tutorial/intro.html",
        "using/cmdline.html",  # its directory's index is not in the list: under the root, not the tutorial
        "library/asyncio.html",
        "library/",
        "library/os.html",
        "library/deep/index.html",
        "library/deep/more.html",
        "faq.html",
    ]
    assert outline_levels(base + p for p in paths) == [0, 1, 2, 1, 1, 1, 2, 2, 3, 1]
    assert outline_levels(["https://x.org/a/b.html", "https://x.org/a/c.html"]) == [0, 0]


async def test_llms_txt_is_an_index_with_a_section_per_top_level_path(job):
    db, job_id, site = job
    text = export(open_reader(db), job_id, "llms").data.decode()
    lines = text.splitlines()
    assert lines[0] == "# Widgetry docs"
    assert lines[2].startswith("> Welcome. Widgetry is a small library")
    sections = [l[3:] for l in lines if l.startswith("## ")]
    # no next-page links on this site: its reading order is the order its links were found; a directory is
    # named by its index page's title, else by its name
    assert sections == ["Overview", "User guide", "API reference", "GUIDE"]
    by_url = export(open_reader(db), job_id, "llms", order="url").data.decode()
    assert [l[3:] for l in by_url.splitlines() if l.startswith("## ")] == [
        "Overview",
        "GUIDE",
        "User guide",
        "API reference",
    ]
    entries = [l for l in lines if l.startswith("- [")]
    assert len(entries) == 10
    for entry in entries:
        assert re.match(r"^- \[[^\]]+\]\(http://127\.0\.0\.1:\d+/docs/[^)]*\)(: .+[.!?…])?$", entry), entry


async def test_llms_full_and_jsonl(job):
    db, job_id, site = job
    full = export(open_reader(db), job_id, "llms-full").data.decode()
    assert full.startswith("# Widgetry docs\n\n> ") and full.count("\nSource: ") == 10
    rows = [json.loads(line) for line in export(open_reader(db), job_id, "jsonl").data.decode().splitlines()]
    assert len(rows) == 10
    fields = {"url", "title", "depth", "quality", "quality_reasons", "tokens", "markdown", "source", "extractor"}
    assert fields <= set(rows[0])
    assert rows[0]["source"] == "html"
    paste_sources = re.findall(r"^Source: (.+)$", export(open_reader(db), job_id, "paste").data.decode(), re.M)
    assert [r["url"] for r in rows] == paste_sources  # one order for every export
    by_url = [
        json.loads(line)["url"]
        for line in export(open_reader(db), job_id, "jsonl", order="url").data.decode().splitlines()
    ]
    assert by_url == sorted(by_url, key=site_order) != paste_sources
    assert all(r["tokens"] == count(r["markdown"]) for r in rows)


async def test_zip_mirrors_url_paths(job):
    db, job_id, site = job
    out = export(open_reader(db), job_id, "zip")
    archive = zipfile.ZipFile(io.BytesIO(out.data))
    names = set(archive.namelist())
    assert {"llms.txt", "docs/index.md", "docs/guide/index.md", "docs/guide/install.md", "docs/GUIDE/install.md",
            "docs/reference/api.md"} <= names  # fmt: skip
    page = archive.read("docs/guide/config.md").decode()
    assert page.startswith("# Configuration") and 'theme = "dark"' in page
    assert len(names) == 11


async def test_threshold_and_token_budget(job):
    db, job_id, site = job
    everything = export(open_reader(db), job_id, "paste", threshold=0)
    nothing = export(open_reader(db), job_id, "paste", threshold=100)
    assert everything.pages == 10 and nothing.pages == 0 and nothing.below_threshold == 10
    budget = everything.tokens // 2
    fitted = export(open_reader(db), job_id, "paste", threshold=0, max_tokens=budget)
    assert 0 < fitted.pages < 10 and fitted.tokens <= budget
    assert len(fitted.over_budget) == 10 - fitted.pages
    assert f"left out to fit {budget:,} tokens" in fitted.data.decode()


def test_unknown_format_is_refused(tmp_path):
    with pytest.raises(ValueError, match="choose one of paste, llms"):
        export(open_reader(tmp_path / "x.db"), "job", "pdf")
    assert FORMATS == ("paste", "llms", "llms-full", "jsonl", "zip")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://x.org/docs/guide/install.html", "docs/guide/install.md"),
        ("https://x.org/docs/guide/", "docs/guide/index.md"),
        ("https://x.org/", "index.md"),
        ("https://x.org/api/v1?page=2", "api/v1_page_2.md"),
        ("https://x.org/a%20b/c.htm", "a_b/c.md"),
    ],
)
def test_page_paths(url, path):
    assert page_path(url) == path


def test_site_order_puts_a_directory_index_first():
    urls = ["https://x.org/d/b.html", "https://x.org/d/a/x.html", "https://x.org/d/index.html", "https://x.org/d/a/"]
    assert sorted(urls, key=site_order) == [
        "https://x.org/d/index.html", "https://x.org/d/a/", "https://x.org/d/a/x.html", "https://x.org/d/b.html",
    ]  # fmt: skip


def test_first_sentence_skips_headings_and_code():
    md = (
        "# Title\n\n```py\nx = 1\n```\n\nThe [widget](http://x) renders **text** in every theme you install. More here."
    )
    assert first_sentence(md) == "The widget renders text in every theme you install."
    assert first_sentence("Welcome. Widgetry is a small Python library. More.") == (
        "Welcome. Widgetry is a small Python library."
    )


@pytest.mark.parametrize("name", ["sphinx", "docusaurus", "rustdoc", "javadoc"])
def test_token_estimate_tracks_the_exact_count(name):
    from pathlib import Path

    text = (Path(__file__).parent / "golden" / f"{name}.md").read_text()
    assert 0.9 < estimate(text) / count(text) < 1.25


async def test_duplicates_and_repeated_blocks(site, db_path):
    result = await crawl_async(site.url("/dupes/index.html"), db=db_path, allow_hosts=site.allow_hosts, **FAST)

    rows = pages_by_path(db_path, result.job_id, site.base)
    assert rows["/dupes/print/a.html"]["reason"] == f"duplicate of {site.base}/dupes/a.html"
    assert rows["/dupes/b.html"]["reason"] == f"duplicate of {site.base}/dupes/a.html (near-duplicate)"
    assert rows["/dupes/b.html"]["duplicate_of"] == f"{site.base}/dupes/a.html"
    assert rows["/dupes/c.html"]["status"] == "completed"
    assert result.completed == 3
    paste = export(open_reader(db_path), result.job_id, "paste").data.decode()
    # the version banner sits inside <main> on every page: detected from the store's counts, dropped
    assert "You are reading the documentation for version 2.0" not in paste
    assert paste.count("the scheduler keeps a queue of ready tasks") == 3 * 24


async def test_fidelity_summary_adds_up_the_pages(job):
    from docspasta.exports.analytics import fidelity_summary

    db, job_id, site = job
    summary = fidelity_summary(open_reader(db), job_id)
    assert summary["pre_in"] == summary["fences_out"] == 5  # index, install, config, api, cli
    assert summary["tables_in"] == summary["tables_out"] == 1
    assert summary["pages by docs:sphinx"] == 10  # <article role="main"> on every fixture page


def test_exact_count_past_the_tokenizer_input_limit():
    unit = "The widget renders text in every theme.\n\n"
    text = unit * 60_000  # 2.5 MB: bpe-openai alone refuses inputs past ~1 MB
    assert count(text) == 60_000 * count(unit)


async def test_skip_reasons_count_every_url_left_out(job):
    from docspasta.exports.analytics import pages_frame, skip_reasons

    db, job_id, site = job
    counts = {
        (r["status"], r["reason"]): r["urls"]
        for r in skip_reasons(pages_frame(open_reader(db), job_id), 100).to_dicts()
    }
    assert counts[("failed", "HTTP 404")] == 1
    assert counts[("skipped", "duplicate (redirect)")] == 1  # moved.html
    assert counts[("skipped", "duplicate")] == 1  # guide/ vs guide/index.html
    assert counts[("skipped", "not HTML: application/pdf")] == 1
    assert counts[("completed", "below threshold 100")] == 10


async def test_exports_stream_page_by_page_without_holding_the_markdown(job):
    from docspasta.exports.export import select, write_export

    db, job_id, site = job
    assert not any(
        hasattr(p, "markdown") for p in select(open_reader(db), job_id).pages
    )  # metadata only; Markdown read as written

    class Recorder(io.BytesIO):
        writes = 0

        def write(self, data):
            Recorder.writes += 1
            return super().write(data)

    out = Recorder()
    summary = write_export(out, open_reader(db), job_id, "paste", count_tokens=False)
    assert summary.tokens is None and summary.pages == 10
    assert Recorder.writes == 1 + summary.pages  # the head, then one write a page
    assert out.getvalue() == export(open_reader(db), job_id, "paste").data


async def test_token_counts_never_load_the_tokenizer_into_the_exporting_process(job):
    """The tokenizer stays resident for the life of a process (~150 MB): the dashboard
    and the CLI count in a short-lived worker instead."""
    import subprocess
    import sys

    db, job_id, site = job
    script = (
        "import sys; from docspasta.exports.export import export; from docspasta.store import open_reader; "
        f"r = export(open_reader({str(db)!r}), {job_id!r}, 'paste', max_tokens=2000); "
        "print(r.tokens, r.pages, 'bpe_openai' in sys.modules)"
    )
    tokens, pages, loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                                           check=True).stdout.split()  # fmt: skip
    assert loaded == "False"
    assert 0 < int(tokens) <= 2000 and 0 < int(pages) < 10


async def test_a_failed_export_leaves_the_earlier_file_as_it_was(job, tmp_path):
    from docspasta.errors import JobNotFoundError
    from docspasta.exports.export import export_to_file

    db, job_id, site = job
    target = tmp_path / "paste.md"
    target.write_text("yesterday's paste")
    with pytest.raises(JobNotFoundError):
        export_to_file(target, open_reader(db), "no-such-job")
    assert target.read_text() == "yesterday's paste" and list(tmp_path.glob("*.part")) == []
    summary = export_to_file(target, open_reader(db), job_id, count_tokens=False)
    assert target.read_bytes() == export(open_reader(db), job_id, "paste").data and summary.pages == 10


def test_counting_in_pieces_equals_counting_the_whole():
    from docspasta.extraction.tokens import TokenCounter, safe_cut

    part = "## Part {i}\n\nSome prose, then code:\n\n```py\nx = {i}\n```\n\n\n  indented\n \n"
    text = "".join(part.format(i=i) for i in range(400))
    pieces = [text[i : i + 997] for i in range(0, len(text), 997)]  # cut anywhere, even inside words
    with TokenCounter() as counter:
        for piece in pieces:
            counter.feed(piece)
        assert counter.total() == count(text)
        assert counter.count(text) == count(text)
    # a blank line followed by blanks is no token boundary; safe_cut never cuts there
    assert safe_cut("a\n\n \nb", 0, 6) == 6 and safe_cut("a\n\nb\n\n c", 0, 8) == 3
