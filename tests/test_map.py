"""The scope preview: URLs found without crawling, each with the rule that keeps or drops it."""

from __future__ import annotations

import json
import subprocess
import sys

from docspasta import CrawlSettings
from docspasta.crawl.discovery import preview_scope, tree_lines

CLI = [sys.executable, "-m", "docspasta"]


async def test_preview_judges_links_and_sitemap_urls_without_extracting(site):
    settings = CrawlSettings(
        url=site.url("/mapped/index.html"), allow_hosts=site.allow_hosts, exclude=("**/c.html",), timeout=1.0, retries=0
    )
    preview = await preview_scope(settings)
    verdicts = {u.url.removeprefix(site.base): (u.kept, u.rule, u.found_by) for u in preview.urls}
    assert verdicts["/mapped/index.html"] == (True, "under /mapped/", "start")
    assert verdicts["/mapped/a.html"] == (True, "under /mapped/", "link")
    assert verdicts["/mapped/deep/d.html"] == (True, "under /mapped/", "sitemap")
    assert verdicts["/mapped/c.html"] == (False, "out of scope: excluded by **/c.html", "sitemap")
    assert verdicts["/other/outside.html"] == (False, "out of scope: outside /mapped/", "sitemap")
    assert (preview.kept, preview.predicted_pages) == (4, 4)
    assert preview.dropped_by_rule() == {
        "out of scope: excluded by **/c.html": 1,
        "out of scope: outside /mapped/": 1,
        "out of scope: other host": 1,
    }
    assert [p for p in site.fetched() if p.endswith(".html")] == ["/mapped/index.html"]  # nothing else fetched
    lines = tree_lines(preview)
    assert lines[0] == f"127.0.0.1:{site.server_address[1]}" and "  mapped/" in lines
    assert "    deep/" in lines and "      d.html  [keep: under /mapped/; sitemap]" in lines


async def test_include_rules_are_named_and_a_deeper_link_pass_finds_more(site):
    settings = CrawlSettings(
        url=site.url("/docs/index.html"),
        allow_hosts=site.allow_hosts,
        include=("/docs/guide/**",),
        timeout=1.0,
        retries=0,
        use_sitemaps=False,
        max_pages=3,
    )
    shallow = await preview_scope(settings)
    deep = await preview_scope(settings, link_depth=2)
    by_url = {u.url.removeprefix(site.base): u for u in deep.urls}
    assert by_url["/docs/guide/config.html"].rule == "included by /docs/guide/**"
    assert "/docs/guide/config.html" not in {u.url.removeprefix(site.base) for u in shallow.urls}
    assert by_url["/docs/reference/index.html"].rule == "out of scope: matches no include pattern"
    assert deep.predicted_pages == 3  # capped by max_pages


def test_cli_map(site):
    proc = subprocess.run(
        [*CLI, "map", site.url("/mapped/index.html"), "--allow-host", site.allow_hosts[0], "--json", "--timeout", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["kept"] == 5 and data["scope"]["prefix"] == "/mapped/"
    text = subprocess.run(
        [
            *CLI,
            "map",
            site.url("/mapped/index.html"),
            "--allow-host",
            site.allow_hosts[0],
            "--kept-only",
            "--timeout",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "drop:" not in text.stdout and "b.html  [keep" in text.stdout and "5 kept" in text.stderr
