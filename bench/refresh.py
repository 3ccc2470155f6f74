"""Refresh benchmark: a first crawl of the Python docs, a refresh with nothing changed,
and a refresh after editing pages on disk, each timed and metered in one run.

    python bench/refresh.py [--corpus DIR] [--max-pages 500] [--no-unconditional-run] [--keep]

Copies the corpus to a temporary directory (symlinks resolved) and serves it with nginx
on 127.0.0.1, which sends ETag / Last-Modified and answers If-None-Match /
If-Modified-Since with 304; nginx logs every request's status and bytes. Then, each
through the CLI, each followed by writing the paste (`docspasta export --out`), since
that is the whole job a user runs:

1. first crawl: `docspasta crawl` into a fresh SQLite store;
2. no-change refresh: `docspasta refresh` of the first crawl;
3. (unless --no-unconditional-run) the same with `--no-conditional`: every page
   downloaded in full, reused by body hash; what the validators save;
4. edit refresh: 10 completed pages edited on disk (a paragraph added), one page added
   (linked from the first edited page), one page deleted (it answers 404), then a
   refresh of refresh 2 (chained).

Per run it prints wall seconds (crawl + export, and each), page requests (robots.txt
and sitemaps left out), 304s, bytes nginx sent (headers included), pages extracted
(completed with no reuse) and reused, and time and bytes against the first crawl. Then
it checks `docspasta changes --json`: nothing changed, added or removed and no page
extracted after a no-change refresh, at least 90% of its page requests answered 304;
after the edits exactly the edited pages changed, the new page added and the deleted
page removed. Exits 1 if a check fails.

Needs nginx and, by default, the Python docs (`apt-get install nginx python3-doc`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from crawl import DEFAULT_CORPUS, free_port, measure, wait_for_port  # noqa: E402

from docspasta.store import open_reader  # noqa: E402

CLI = [sys.executable, "-m", "docspasta"]
EDITS = 10
# tab-separated: request headers such as If-None-Match hold quotes and spaces
LOG_FORMAT = (
    "$status\\t$body_bytes_sent\\t$bytes_sent\\t$request_method\\t$request_uri\\t"
    "$http_if_none_match\\t$http_if_modified_since"
)
NOT_EDITED = ("index.html", "genindex", "search.html", "contents.html", "py-modindex.html")
NEW_PAGE = "docspasta-bench-new.html"


@dataclass(frozen=True)
class Hit:
    """One request as nginx logged it."""

    status: int
    body_bytes: int
    bytes_sent: int
    method: str
    uri: str
    if_none_match: str
    if_modified_since: str

    @property
    def is_page(self) -> bool:
        """robots.txt and sitemaps are asked for by every crawl, whatever changed: not pages."""
        path = self.uri.split("?", 1)[0]
        return path != "/robots.txt" and "sitemap" not in path.rsplit("/", 1)[-1]

    @property
    def conditional(self) -> bool:
        return self.if_none_match != "-" or self.if_modified_since != "-"


@dataclass
class Run:
    """One job, crawl or refresh, with its paste written."""

    name: str
    job_id: str
    crawl_s: float
    export_s: float
    hits: list[Hit]
    pages: list[dict[str, Any]] = field(default_factory=list)

    @property
    def wall_s(self) -> float:
        return self.crawl_s + self.export_s

    @property
    def page_hits(self) -> list[Hit]:
        return [h for h in self.hits if h.is_page]

    @property
    def not_modified(self) -> int:
        return sum(1 for h in self.page_hits if h.status == 304)

    @property
    def bytes_sent(self) -> int:
        return sum(h.bytes_sent for h in self.hits)

    @property
    def completed(self) -> list[dict[str, Any]]:
        return [p for p in self.pages if p["status"] == "completed"]

    @property
    def extracted(self) -> list[str]:
        """Completed pages not taken over from the earlier job: these went through extraction."""
        return sorted(p["url"] for p in self.completed if p["reuse"] is None)

    def reused(self, how: str) -> int:
        return sum(1 for p in self.completed if p["reuse"] == how)


# -- serving -------------------------------------------------------------------------


class Nginx:
    """nginx serving `root`, logging every request to a file read back per run."""

    def __init__(self, root: Path, workdir: Path) -> None:
        self.root, self.workdir = root, workdir
        self.port = free_port()
        self.log = workdir / "access.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Nginx:
        nginx = shutil.which("nginx") or sys.exit("needs nginx (apt-get install nginx): it answers validators")
        w = self.workdir
        mime = "include /etc/nginx/mime.types;" if Path("/etc/nginx/mime.types").exists() else ""
        (w / "nginx.conf").write_text(
            f"worker_processes 1; daemon off; pid {w}/nginx.pid; error_log {w}/error.log;\n"
            f"events {{ worker_connections 1024; }}\n"
            f"http {{ {mime} default_type application/octet-stream; sendfile on;\n"
            f"  log_format bench '{LOG_FORMAT}'; access_log {self.log} bench;\n"
            f"  client_body_temp_path {w}; proxy_temp_path {w}; fastcgi_temp_path {w};\n"
            f"  uwsgi_temp_path {w}; scgi_temp_path {w};\n"
            f"  server {{ listen 127.0.0.1:{self.port}; root {self.root}; }} }}\n"
        )
        self.log.touch()
        self.proc = subprocess.Popen([nginx, "-c", str(w / "nginx.conf"), "-p", str(w)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        wait_for_port(self.port)
        print(f"serving {self.root} with nginx on 127.0.0.1:{self.port}", file=sys.stderr)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.terminate()
        self.proc.wait(10)

    def offset(self) -> int:
        return self.log.stat().st_size

    def hits_since(self, offset: int) -> list[Hit]:
        """The requests logged after `offset` (nginx writes each line once the response is sent)."""
        time.sleep(0.3)  # the last response reaches the client a moment before its line is written
        with self.log.open("rb") as f:
            f.seek(offset)
            lines = f.read().decode("utf-8", "replace").splitlines()
        hits = []
        for line in lines:
            status, body, sent, method, uri, inm, ims = line.split("\t")
            hits.append(Hit(int(status), int(body), int(sent), method, uri, inm, ims))
        return hits


def copy_corpus(corpus: Path, root: Path) -> None:
    """A private, world-readable copy: the bench edits it, and nginx's workers run as another user."""
    shutil.copytree(corpus, root, symlinks=False)
    for dirpath, _, filenames in os.walk(root):
        os.chmod(dirpath, 0o755)
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)


# -- the runs ------------------------------------------------------------------------


def cli(*args: str) -> str:
    """A docspasta command that must succeed; its stdout."""
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"docspasta {' '.join(args[:2])} exited {proc.returncode}: {proc.stderr[-2000:]}")
    return proc.stdout


def run_job(name: str, command: list[str], server: Nginx, db: Path, workdir: Path) -> Run:
    """Time one crawl or refresh and the export of its paste, and meter what nginx sent for them."""
    offset = server.offset()
    crawl_s, _, proc = measure([*CLI, *command, "--db", str(db), "--json", "--quiet"])
    summary = json.loads(proc.stdout)
    job_id = summary["job_id"]
    paste = workdir / f"paste-{job_id}.md"
    export_s, _, _ = measure([*CLI, "export", job_id, "--db", str(db), "--out", str(paste)])
    if not paste.stat().st_size:
        raise RuntimeError(f"{name}: the paste {paste} is empty")
    run = Run(name, job_id, crawl_s, export_s, server.hits_since(offset), open_reader(str(db)).pages(job_id))
    print(f"{name}: job {job_id} {summary['status']}, {summary['completed']} completed, "
          f"{summary['failed']} failed, {summary['skipped']} skipped in {run.wall_s:.1f} s",
          file=sys.stderr)  # fmt: skip
    return run


def changes(job_id: str, db: Path) -> dict[str, Any]:
    return json.loads(cli("changes", job_id, "--db", str(db), "--json"))


# -- the edits -----------------------------------------------------------------------


@dataclass
class Edits:
    edited: list[str]  # URLs
    added: str
    removed: str


def local_path(url: str, root: Path) -> Path:
    return root / unquote(urlsplit(url).path).lstrip("/")


def edit_site(first: Run, root: Path, max_depth: int) -> Edits:
    """Edit 10 completed content pages, add one linked from the first of them, delete one.

    Picked deterministically: the first edit is the shallowest content page (its new link
    must stay within the job's max depth, or the refresh would skip the new page), the
    other nine every k-th completed page by URL. An edit adds a paragraph after the body's
    first one, so the Markdown changes; the write moves the file's mtime and size on, so
    nginx's Last-Modified and ETag change too."""
    depth = {p["url"]: p["depth"] or 0 for p in first.completed}
    candidates = sorted(
        p["url"]
        for p in first.completed
        if p["url"].endswith(".html")
        and not urlsplit(p["url"]).path.rsplit("/", 1)[-1].startswith(NOT_EDITED)
        and local_path(p["url"], root).is_file()
    )
    if len(candidates) < EDITS + 2:
        sys.exit(f"only {len(candidates)} content pages completed: too few to edit {EDITS}")
    linker_url = min(candidates, key=lambda u: (depth[u], u))
    if depth[linker_url] >= max_depth:
        sys.exit(f"no completed content page above the max depth ({max_depth}) to link a new page from")
    rest = [u for u in candidates if u != linker_url]
    step = len(rest) // (EDITS - 1)
    edited = [linker_url, *(rest[i * step + step // 2] for i in range(EDITS - 1))]
    # the deepest page not edited: a leaf, whose loss changes no other page's HTML
    removed = max((u for u in candidates if u not in edited), key=lambda u: (depth[u], u))

    linker = local_path(edited[0], root)
    new_file = linker.parent / NEW_PAGE
    original = linker.read_text(encoding="utf-8")
    # a copy of the linking page with a paragraph of its own (not a duplicate) and no canonical
    # link naming the original
    new_html = "\n".join(line for line in original.splitlines() if 'rel="canonical"' not in line)
    new_file.write_text(insert_paragraph(new_html, "<p>docspasta bench new page</p>"), encoding="utf-8")
    new_file.chmod(0o644)
    for n, url in enumerate(edited, 1):
        path = local_path(url, root)
        link = f' <a href="{NEW_PAGE}">new page</a>' if n == 1 else ""
        path.write_text(insert_paragraph(path.read_text(encoding="utf-8"), f"<p>docspasta bench edit {n}{link}</p>"),
                        encoding="utf-8")  # fmt: skip
    local_path(removed, root).unlink()
    added = edited[0].rsplit("/", 1)[0] + "/" + NEW_PAGE
    return Edits(edited, added, removed)


def insert_paragraph(html: str, paragraph: str) -> str:
    """`paragraph` after the first paragraph of the main content (Sphinx's body div, else the page).

    Paragraphs in a <nav> (Sphinx's local table of contents) are passed over: the extractor
    drops navigation, so an edit there would not change the page's Markdown."""
    start = max(html.find('role="main"'), 0)
    end = html.find("</p>", start)
    while (nav := html.find("<nav", start, end)) >= 0:
        start = html.find("</nav>", nav)
        end = html.find("</p>", start)
    if end < 0:
        raise ValueError("no paragraph to edit after")
    end += len("</p>")
    return html[:end] + paragraph + html[end:]


# -- report --------------------------------------------------------------------------


def report(runs: list[Run]) -> None:
    first = runs[0]
    print(
        "\n| run | wall s (crawl + export) | crawl s | export s | page requests | 304s | conditional | "
        "bytes sent | completed | pages extracted | reused (304 / same bytes) | vs first crawl (time, bytes) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")  # fmt: skip
    for r in runs:
        vs = "—" if r is first else f"{r.wall_s / first.wall_s:.2f}x, {r.bytes_sent / first.bytes_sent:.3f}x"
        conditional = sum(1 for h in r.page_hits if h.conditional)
        print(f"| {r.name} | {r.wall_s:.2f} | {r.crawl_s:.2f} | {r.export_s:.2f} | {len(r.page_hits)} | "
              f"{r.not_modified} | {conditional} | {r.bytes_sent:,} | {len(r.completed)} | {len(r.extracted)} | "
              f"{r.reused('not-modified')} / {r.reused('same-bytes')} | {vs} |")  # fmt: skip
    print()
    for r in runs[1:]:
        print(f"{r.name}: {r.wall_s / first.wall_s:.2f}x the first crawl's time, "
              f"{r.bytes_sent / first.bytes_sent:.3f}x its bytes")  # fmt: skip


class Checks:
    """PASS/FAIL lines; any FAIL makes the exit status 1."""

    def __init__(self) -> None:
        self.failed = 0

    def __call__(self, ok: bool, what: str, detail: str = "") -> None:
        self.failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}: {what}" + (f" ({detail})" if detail and not ok else ""))

    def unchanged(self, run: Run, db: Path) -> None:
        report = changes(run.job_id, db)
        moved = {k: report[k] for k in ("changed", "added", "removed", "kept") if report[k]}
        self(not moved, f"{run.name}: nothing changed, added, removed or kept", json.dumps(moved)[:800])
        self(not run.extracted, f"{run.name}: no page extracted", f"{len(run.extracted)}: {run.extracted[:10]}")

    def edited(self, run: Run, db: Path, edits: Edits) -> None:
        report = changes(run.job_id, db)
        self(sorted(report["changed"]) == sorted(edits.edited), f"{run.name}: changed = the {EDITS} edited pages",
             f"extra {sorted(set(report['changed']) - set(edits.edited))}, "
             f"missing {sorted(set(edits.edited) - set(report['changed']))}")  # fmt: skip
        self(report["added"] == [edits.added], f"{run.name}: added = [{edits.added}]", f"got {report['added']}")
        self(report["removed"] == [edits.removed], f"{run.name}: removed = [{edits.removed}]",
             f"got {report['removed']}")  # fmt: skip
        self(not report["kept"] and not report["unchecked"], f"{run.name}: nothing kept or unchecked",
             f"kept {report['kept']}, unchecked {report['unchecked']}")  # fmt: skip
        expected = sorted([*edits.edited, edits.added])
        extra, missing = sorted(set(run.extracted) - set(expected)), sorted(set(expected) - set(run.extracted))
        self(run.extracted == expected, f"{run.name}: extracted = the edited pages and the new one",
             f"extra {extra}, missing {missing}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=DEFAULT_CORPUS, help="directory of HTML (default: the Python docs)")
    parser.add_argument("--start", default="index.html", help="start page, relative to the corpus")
    parser.add_argument("--max-pages", type=int, default=500)
    parser.add_argument("--unconditional-run", action=argparse.BooleanOptionalAction, default=True,
                        help="also run the no-change refresh with --no-conditional (default: on)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (store, pastes, log)")
    args = parser.parse_args()

    corpus = Path(args.corpus)
    if not (corpus / args.start).exists():
        sys.exit(f"no {corpus / args.start}: install the Python docs (apt-get install python3-doc) or pass --corpus")
    workdir = Path(tempfile.mkdtemp(prefix="bench-refresh-"))
    workdir.chmod(0o755)  # nginx's workers run as another user and must read the copied site
    root, db = workdir / "site", workdir / "store.db"
    check = Checks()
    try:
        copy_corpus(corpus, root)
        with Nginx(root, workdir) as server:
            url = f"{server.base}/{args.start}"
            crawl = ["crawl", url, "--allow-host", server.base.removeprefix("http://"),
                     "--max-pages", str(args.max_pages)]  # fmt: skip
            first = run_job("first crawl", crawl, server, db, workdir)
            same = run_job("no-change refresh", ["refresh", first.job_id], server, db, workdir)
            runs = [first, same]
            if args.unconditional_run:
                runs.append(run_job("no-change refresh, --no-conditional",
                                    ["refresh", first.job_id, "--no-conditional"], server, db, workdir))  # fmt: skip
            max_depth = open_reader(str(db)).get_job(first.job_id).settings.max_depth
            edits = edit_site(first, root, max_depth)
            runs.append(run_job(f"refresh after {EDITS} edits, 1 added, 1 removed",
                                ["refresh", same.job_id], server, db, workdir))  # fmt: skip
        report(runs)
        print(f"\nedited: {', '.join(urlsplit(u).path for u in edits.edited)}")
        print(f"added: {urlsplit(edits.added).path}; removed: {urlsplit(edits.removed).path}\n")
        for run in runs[1:-1]:
            check.unchanged(run, db)
        share = same.not_modified / len(same.page_hits) if same.page_hits else 0.0
        check(share >= 0.9, f"no-change refresh: {share:.1%} of {len(same.page_hits)} page requests answered 304 "
              "(target >= 90%)")  # fmt: skip
        check.edited(runs[-1], db, edits)
    finally:
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(1 if check.failed else 0)


if __name__ == "__main__":
    main()
