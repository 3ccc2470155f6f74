"""Content sources: one generated doc site crawled from its HTML, from the Markdown its
publisher ships, and rendered in headless Chromium, in the same run.

    python bench/sources.py [--pages 200] [--runs 3] [--keep]

Generates an N-page site with bench/synthetic_site.py, then gives every page what a
site publishing Markdown gives it: a `<link rel="alternate" type="text/markdown">` in
its <head>, the `.md` twin beside it (the page's own main content written as Markdown:
headings, prose, the fenced code block, the pipe table) and a `docs/llms.txt` listing
every twin. Serves it on 127.0.0.1 (bench/crawl.py's serve()) and runs the whole job a
user runs (`docspasta crawl URL --out paste.md`) three ways, alternately per run
(A B C A B C ...):

    html                 --no-publisher-markdown --render never
    publisher-markdown   --render never   (publisher Markdown is on by default)
    rendered             --no-publisher-markdown --render always

Per mode it prints pages, the median wall time of the whole process (start-up, crawl,
extraction, paste, shutdown), pages/s, the peak memory of its process tree as PSS (the
crawler, its extraction workers and, rendering, Chromium's processes, whose shared pages
RSS would count once per process; sampled every 100 ms; the highest of the runs), each
as a ratio against the HTML crawl, and for the rendered mode the median
and p95 render time per page (the crawl's `render` events); then the wall time
rendering adds per page. Every run is checked to have used its source (the `source`
column of its completed pages): exit 1 if one did not. --keep leaves the site, the
databases and each mode's last paste (paste-MODE.md) in the work directory.

Needs chromium installed (for the rendered mode).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import re
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from crawl import Run, measure, serve, tree_pss_kb  # noqa: E402
from synthetic_site import generate  # noqa: E402

MODES = {
    "html": ["--no-publisher-markdown", "--render", "never"],
    "publisher-markdown": ["--render", "never"],
    "rendered": ["--no-publisher-markdown", "--render", "always"],
}
# the source each mode's pages must come from, and the least share of them that must
EXPECTED = {"html": ("html", 1.0), "publisher-markdown": ("publisher-markdown", 0.9), "rendered": ("rendered", 0.9)}


@dataclass
class ModeRun:
    run: Run
    sources: dict[str, int]  # completed pages per `source`
    render_ms: list[float] = field(default_factory=list)


# -- the site --------------------------------------------------------------------------

_MAIN = re.compile(r'<div class="body" role="main">(?P<main>.*?)</div></div><div class="sphinxsidebar"', re.S)
_H1 = re.compile(r"<h1>(?P<title>.*?)</h1>", re.S)
_SECTION = re.compile(
    r'<section id="part-\d+"><h2>(?P<heading>.*?)<a class="headerlink"[^>]*>.*?</a></h2>'
    r"<p>(?P<prose>.*?)</p>.*?<pre>(?P<code>.*?)</pre>.*?(?P<table><table>.*?</table>)</section>",
    re.S,
)
_ROW = re.compile(r"<tr>(?P<cells>.*?)</tr>", re.S)
_CELL = re.compile(r"<t[hd]>(?P<text>.*?)</t[hd]>", re.S)
_ITEM = re.compile(r'<li><a href="(?P<href>[^"]*)">(?P<text>.*?)</a></li>')


def page_markdown(page: str) -> str:
    """The Markdown twin of a synthetic_site page, from its main content: the title, and
    either its sections (heading, prose, code, table) or, on an index, its list of links."""
    main = _MAIN.search(page)
    if main is None:
        raise ValueError("not a synthetic_site page")
    content = main.group("main")
    title = _H1.search(content)
    lines = [f"# {html.unescape(title.group('title') if title else '')}", ""]
    for section in _SECTION.finditer(content):
        lines += [f"## {html.unescape(section.group('heading'))}", "", html.unescape(section.group("prose")), ""]
        lines += ["```python", html.unescape(section.group("code")), "```", ""]
        rows = [[html.unescape(c) for c in _CELL.findall(row)] for row in _ROW.findall(section.group("table"))]
        if rows:
            lines.append("| " + " | ".join(rows[0]) + " |")
            lines.append("|" + " --- |" * len(rows[0]))
            lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
            lines.append("")
    lines += [f"- [{html.unescape(m.group('text'))}]({m.group('href')})" for m in _ITEM.finditer(content)]
    return "\n".join(lines).rstrip() + "\n"


def publish_markdown(root: Path) -> int:
    """Give every generated page its `.md` twin and the <link> naming it, and write
    docs/llms.txt listing every twin; the number of twins."""
    docs = root / "docs"

    def order(path: Path) -> tuple[int, int]:  # index first, then sections and pages by number
        numbers = [int(n) for n in re.findall(r"\d+", path.relative_to(docs).as_posix())]
        return (numbers[0] if numbers else -1, numbers[1] if len(numbers) > 1 else -1)

    pages = sorted(docs.rglob("*.html"), key=order)
    listing = ["# Synthetic documentation", "", "> The Markdown of every page of this generated site.", ""]
    section = None
    for path in pages:
        page = path.read_text()
        twin = path.with_suffix(".md")
        twin.write_text(page_markdown(page))
        link = f'<link rel="alternate" type="text/markdown" href="{twin.name}">'
        path.write_text(page.replace("</head>", f"{link}</head>", 1))
        folder = path.parent.relative_to(docs).as_posix()
        if folder != "." and folder != section:
            section = folder
            listing += ["", f"## Section {folder.removeprefix('s')}", ""]
        title = html.unescape(_H1.search(page).group("title"))  # type: ignore[union-attr]
        listing.append(f"- [{title}]({twin.relative_to(docs).as_posix()})")
    (docs / "llms.txt").write_text("\n".join(listing) + "\n")
    return len(pages)


# -- the crawls ------------------------------------------------------------------------


def crawl(mode: str, start_url: str, workdir: Path, max_pages: int) -> ModeRun:
    db = workdir / f"{mode}-{time.monotonic_ns()}.db"
    host = start_url.split("/")[2]
    # the whole job a user runs: the crawl and the paste written (--out)
    command = [sys.executable, "-m", "docspasta", "crawl", start_url, "--db", str(db), "--quiet", "--json",
               "--max-pages", str(max_pages), "--depth", "100", "--concurrency", "8", "--allow-host", host,
               "--out", str(workdir / f"paste-{mode}.md"), *MODES[mode]]  # fmt: skip
    wall, peak, proc = measure(command, tree_pss_kb)
    summary = json.loads(proc.stdout)
    job = summary["job_id"]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        sources = dict(
            conn.execute(
                "SELECT coalesce(source, 'none'), count(*) FROM pages WHERE job_id = ? AND status = 'completed' "
                "GROUP BY source",
                (job,),
            ).fetchall()
        )
        with_markdown = conn.execute(
            "SELECT count(*) FROM pages WHERE job_id = ? AND status = 'completed' AND length(markdown) > 0", (job,)
        ).fetchone()[0]
        render_ms = [
            float(json.loads(payload)["ms"])
            for (payload,) in conn.execute("SELECT payload FROM events WHERE job_id = ? AND type = 'render'", (job,))
        ]
    return ModeRun(Run(mode, wall, summary["completed"], with_markdown, peak, job, db), sources, render_ms)


def source_problem(result: ModeRun) -> str | None:
    """Why a run did not use its mode's source, or None."""
    mode = result.run.tool
    wanted, share = EXPECTED[mode]
    total = sum(result.sources.values())
    got = result.sources.get(wanted, 0)
    if total == 0:
        return f"{mode}: no completed pages"
    if got < share * total:
        return f"{mode}: {got} of {total} completed pages came from {wanted!r} (want {share:.0%}): {result.sources}"
    if mode == "rendered" and not result.render_ms:
        return "rendered: no render events"
    return None


# -- the report ------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(results: list[ModeRun]) -> None:
    by_mode = {mode: [r for r in results if r.run.tool == mode] for mode in MODES}
    wall = {mode: statistics.median(r.run.wall_s for r in rs) for mode, rs in by_mode.items()}
    pages = {mode: statistics.median(r.run.pages for r in rs) for mode, rs in by_mode.items()}
    rss = {mode: max(r.run.peak_rss_mb for r in rs) for mode, rs in by_mode.items()}
    print("| mode | pages | wall s (median) | pages/s | vs html | peak memory MB (PSS) | vs html | extra |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for mode, rs in by_mode.items():
        rate = pages[mode] / wall[mode]
        html_rate = pages["html"] / wall["html"]
        extra = ""
        if renders := [ms for r in rs for ms in r.render_ms]:
            extra = f"render ms/page p50 {statistics.median(renders):.0f}, p95 {percentile(renders, 0.95):.0f}"
        sources = ", ".join(f"{s} {n}" for s, n in sorted(rs[-1].sources.items()))
        extra = "; ".join(part for part in (extra, f"sources: {sources}") if part)
        print(f"| {mode} | {pages[mode]:.0f} | {wall[mode]:.2f} | {rate:.1f} | {rate / html_rate:.2f}x | "
              f"{rss[mode]:.0f} | {rss[mode] / rss['html']:.2f}x | {extra} |")  # fmt: skip
    extra_s = wall["rendered"] - wall["html"]
    n = pages["rendered"]
    print(f"\nrendering costs {extra_s / n * 1000:.0f} ms of wall time per page more than HTML "
          f"({extra_s:.1f} s / {n:.0f} pages)")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200, help="content pages to generate (plus the indexes)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the work directory (site, databases, pastes)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-sources-"))
    workdir.chmod(0o755)  # nginx's workers run as another user and must read the generated site
    try:
        root = workdir / "site"
        generate(root, args.pages)
        twins = publish_markdown(root)
        print(f"generated {twins} pages, each with its .md twin, and docs/llms.txt", file=sys.stderr)
        results: list[ModeRun] = []
        with serve(root) as base:
            url = f"{base}/docs/index.html"
            for i in range(args.runs):
                for mode in MODES:
                    try:
                        result = crawl(mode, url, workdir, max_pages=args.pages + 50)
                    except RuntimeError as exc:
                        sys.exit(f"run {i + 1}, {mode}: {exc}")
                    results.append(result)
                    print(f"run {i + 1}: {mode} {result.run.pages} pages in {result.run.wall_s:.1f} s "
                          f"{result.sources}", file=sys.stderr)  # fmt: skip
                    if (problem := source_problem(result)) is not None:
                        print(f"source check failed: {problem}", file=sys.stderr)
                        sys.exit(1)
        report(results)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
