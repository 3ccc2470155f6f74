"""`docspasta` on the command line: a thin shell over the API, the store's reads and the exports.

Exit codes: 0 the job completed (even with some failed pages), 1 it failed or was
cancelled, 2 bad input (nothing written), 130 interrupted by Ctrl-C (resumable).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TextIO, TypeVar

import click

from .api import JobResult
from .crawl.engine import Progress, run_job
from .errors import DocspastaError, ExportWriteError, InvalidSettingError
from .exports.changes import CHANGE_FORMATS, change_report, write_changes
from .exports.export import FORMATS, ORDERS, ExportSummary, export_to_file, write_export
from .exports.search import search as search_docs
from .guard import guard_hint
from .records import JobRecord, JobStatus, JobStep, RunBy
from .settings import CrawlSettings, cli_flags, field_docs, setting_field
from .store import (
    DbSpec,
    StoreReader,
    StoreWriter,
    display,
    is_postgres,
    open_async_writer,
    open_reader,
    open_writer,
    resolve,
)
from .urls import normalize

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
Command = TypeVar("Command", bound=Callable[..., Any])

FLAGS = cli_flags()  # so errors name what the user typed
DOCS = field_docs()
REFRESH_OVERRIDES = ("max_pages", "conditional")  # the settings a refresh may change

db_option = click.option(
    "--db",
    metavar="PATH|URL",
    default=None,
    help="Database: a SQLite file, or a postgresql:// URL for a shared store "
    "(default: $DOCSPASTA_DB, else one SQLite file in your cache directory).",
)


def setting_options(*names: str) -> Callable[[Command], Command]:
    """Click options for these settings, made from CrawlSettings' metadata (flag, doc, type,
    metavar, environment variable), so a new setting is one edit in settings.py. Values
    are validated by CrawlSettings, whose errors name the flag."""

    def decorate(command: Command) -> Command:
        for name in reversed(names):  # decorators apply bottom-up: --help lists them as given
            command = _setting_option(name)(command)
        return command

    return decorate


def _setting_option(name: str) -> Callable[[Command], Command]:
    f = setting_field(name)
    flag, doc, kind = f.metadata["flag"], f.metadata["doc"], str(f.type)
    if kind == "bool":  # --no-x turns a true default off; --x turns a false one on
        envvar = f.metadata.get("envvar")
        help_text = (
            ("Turn off (on by default): " if f.default else "") + doc + (f" Also ${envvar}=1." if envvar else "")
        )
        return click.option(flag, name, flag_value=not f.default, default=None, envvar=envvar, help=help_text)
    if kind.startswith("tuple"):
        return click.option(flag, name, multiple=True, metavar=f.metadata.get("metavar"), help=doc)
    value_type = {"int": int, "float": float}.get(kind.split(" |")[0], str)
    return click.option(flag, name, type=value_type, metavar=f.metadata.get("metavar"), help=doc)


guard_options = setting_options("allow_hosts", "allow_private")  # opening the address guard is always explicit


class BadInput(click.ClickException):
    exit_code = EXIT_BAD_INPUT


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="docspasta")
def main() -> None:
    """Turn a documentation website into one clean, LLM-ready Markdown paste."""


@main.command()
@click.argument("url")
@setting_options(
    "max_pages", "max_depth", "concurrency", "per_host_concurrency", "batch_size", "quality_threshold", "include",
    "exclude", "timeout", "retries", "min_delay", "scope_prefix", "user_agent", "headers", "keep_html", "strategy",
    "use_sitemaps", "ignore_robots", "include_generated", "processing", "max_bytes", "extract_timeout",
    "lease_seconds", "publisher_markdown", "render", "render_timeout", "render_pages", "render_memory_mb",
)  # fmt: skip
@guard_options
@db_option
@click.option("--out", "out", metavar="FILE|-", help="Also write the paste to FILE, or to stdout with '-'.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--enqueue",
    is_flag=True,
    help="Store the job for `docspasta worker` processes to run (PostgreSQL store) and exit at once.",
)
@click.option(
    "--since",
    metavar="JOB_ID",
    help="Refresh that earlier crawl of URL (as `docspasta refresh JOB_ID`): its settings, unchanged pages "
    "taken over; only --max-pages and --no-conditional may change.",
)
def crawl(url: str, db: str | None, out: str | None, as_json: bool, quiet: bool, enqueue: bool,
          since: str | None, **options: Any) -> None:  # fmt: skip
    """Crawl URL and store every page's Markdown; print a summary."""
    _check_outputs(as_json, out, enqueue, db)
    values: dict[str, Any] = {k: v for k, v in options.items() if v is not None and v != ()}
    if since is not None:
        changed = sorted(FLAGS.get(k, k) for k in values if k not in REFRESH_OVERRIDES)
        if changed:
            raise BadInput(
                f"--since {since} crawls with that job's settings; only --max-pages and --no-conditional may "
                f"change, not {', '.join(changed)}"
            )
        _refresh(db, since, values, url=url, out=out, as_json=as_json, quiet=quiet, enqueue=enqueue)
    if "headers" in values:
        values["headers"] = [_parse_header(h) for h in values["headers"]]
    settings = _settings({"url": url, **values})
    if not enqueue:  # a worker elsewhere may have the browser this machine lacks; there the job fails and says so
        _check_rendering(settings)
    with _writer(db) as store:
        job_id = store.create_job(settings, run_by=RunBy.WORKERS if enqueue else RunBy.CREATOR)
        if enqueue:
            _print_enqueued(store.job(job_id), store.location, as_json)
            return
    sys.exit(_run(db, job_id, out=out, as_json=as_json, quiet=quiet))


@main.command()
@click.argument("job_id")
@db_option
@click.option("--out", "out", metavar="FILE|-", help="Also write the paste to FILE, or to stdout with '-'.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--enqueue", is_flag=True, help="Leave the job to `docspasta worker` processes and exit at once.")
def resume(job_id: str, db: str | None, out: str | None, as_json: bool, quiet: bool, enqueue: bool) -> None:
    """Continue an interrupted, paused or crashed job where it stopped."""
    _existing(db)
    if enqueue:
        _require_shared_store(db, "--enqueue")
    with _writer(db) as store:
        _require_job(store, job_id)
        if enqueue:
            store.enqueue(job_id)
            _print_enqueued(store.job(job_id), store.location, as_json)
            return
    sys.exit(_run(db, job_id, out=out, as_json=as_json, quiet=quiet))


@main.command(name="refresh")
@click.argument("job_id")
@setting_options(*REFRESH_OVERRIDES)
@db_option
@click.option("--out", "out", metavar="FILE|-", help="Also write the refreshed paste to FILE, or to stdout with '-'.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout (as crawl --json).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--enqueue", is_flag=True, help="Leave the refresh to `docspasta worker` processes and exit at once.")
def refresh_command(job_id: str, db: str | None, out: str | None, as_json: bool, quiet: bool, enqueue: bool,
                    **options: Any) -> None:  # fmt: skip
    """Crawl an ended job's site again as a new job with the same settings. Pages the server
    says are unchanged (304 to If-None-Match / If-Modified-Since) or sends the same bytes for
    are taken over without extracting them; `docspasta changes NEW_JOB_ID` says what changed."""
    _check_outputs(as_json, out, enqueue, db)
    _existing(db)
    _refresh(db, job_id, {k: v for k, v in options.items() if v is not None}, out=out, as_json=as_json,
             quiet=quiet, enqueue=enqueue)  # fmt: skip


@main.command()
@click.argument("job_id")
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(CHANGE_FORMATS),
    default="md",
    show_default=True,
    help="md: what changed, for a model to read (changed and added pages in full, removed ones listed); "
    "jsonl: one page a line with its change, Markdown and unified diff.",
)
@click.option("--out", "out", metavar="FILE|-", help="Where to write the export (default: stdout, unless --json).")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"since", "added", "changed", "removed", "unchanged"} (URLs; unchanged is a count) on stdout.',
)
def changes(job_id: str, db: str | None, fmt: str, out: str | None, as_json: bool) -> None:
    """What a refresh found changed since the job it refreshes."""
    reader = _existing(db)
    if as_json and out == "-":
        raise BadInput("--json and --out - both write to stdout; choose one")
    try:
        report = change_report(reader, job_id)
        if out is not None or not as_json:
            _write_changes(out or "-", reader, job_id, fmt)
    except DocspastaError as exc:
        raise BadInput(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
    counts = report.counts()
    click.echo(
        f"since job {report.since}: {counts['added']} added, {counts['changed']} changed, {counts['removed']} removed, "
        f"{counts['unchanged']} unchanged"
        + (f", {counts['kept']} kept after a failed fetch" if counts["kept"] else ""),
        err=True,
    )


@main.command()
@click.option(
    "--db",
    metavar="URL",
    default=None,
    help="The shared store: a postgresql:// URL (default: $DOCSPASTA_DB).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 256),
    default=16,
    show_default=True,
    help="Requests this worker has in flight at once, across all its jobs (each job's own limits hold too).",
)
@click.option("--max-jobs", type=click.IntRange(1, 64), default=4, show_default=True, help="Jobs run at once.")
@click.option(
    "--extract-workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Extraction processes (default: one per CPU core, at most 4).",
)
@click.option("--exit-when-idle", is_flag=True, help="Exit once no job is left to take (batch runs, tests).")
@click.option("--name", metavar="NAME", help="How this worker signs its work in the store (default: host:pid).")
def worker(db: str | None, concurrency: int, max_jobs: int, extract_workers: int | None, exit_when_idle: bool,
           name: str | None) -> None:  # fmt: skip
    """Run jobs left to workers (crawl --enqueue, a dashboard that does not run crawls itself)
    until stopped; any number of workers on any machines share one PostgreSQL store."""
    import logging
    import signal

    from .crawl.worker import Worker

    _require_shared_store(db, "docspasta worker")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    run = Worker(db, concurrency=concurrency, max_jobs=max_jobs, extract_workers=extract_workers,
                 exit_when_idle=exit_when_idle, name=name)  # fmt: skip

    async def serve() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await run.run(stop)

    try:
        asyncio.run(serve())
    except DocspastaError as exc:
        raise BadInput(str(exc)) from None


@main.command()
@click.argument("job_id")
@db_option
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="paste",
    show_default=True,
    help="paste: one Markdown document; llms / llms-full: llms.txt and llms-full.txt; "
    "jsonl: one page a line with metadata; zip: one .md per page mirroring the URL paths.",
)
@click.option("--out", "out", metavar="FILE|-", default="-", show_default=True, help="Where to write it.")
@click.option("--threshold", type=click.IntRange(0, 100), help="Quality threshold (default: the job's).")
@click.option("--max-tokens", type=click.IntRange(min=1), help="Keep the best pages that fit this many tokens.")
@click.option(
    "--order",
    type=click.Choice(ORDERS),
    default="site",
    show_default=True,
    help="site: the site's own reading order (its next-page chain), pages it does not reach after, in "
    "discovery order; url: URL paths, a directory's index first.",
)
def export(
    job_id: str, db: str | None, fmt: str, out: str, threshold: int | None, max_tokens: int | None, order: str
) -> None:
    """Write a job's paste or another export to FILE or stdout."""
    _existing(db)
    if fmt == "zip" and out == "-" and sys.stdout.isatty():
        raise BadInput("--format zip writes a binary archive; give --out FILE")
    result = _write_out(
        out, db, job_id, fmt, threshold=threshold, max_tokens=max_tokens, count_tokens=True, order=order
    )
    notes = [f"{result.pages} pages", f"{result.tokens:,} tokens (o200k)"]
    if result.below_threshold:
        notes.append(f"{result.below_threshold} below the threshold left out")
    if result.over_budget:
        notes.append(f"{len(result.over_budget)} left out to fit {max_tokens:,} tokens")
    click.echo(f"{fmt}: " + ", ".join(notes), err=True)


@main.command(name="map")
@click.argument("url")
@setting_options("include", "exclude", "scope_prefix", "max_pages", "timeout", "use_sitemaps", "publisher_markdown")
@click.option(
    "--link-depth",
    type=click.IntRange(1, 2),
    default=1,
    show_default=True,
    help="1: the start page's links; 2: also the links of the pages it links to (at most 50 fetched).",
)
@guard_options
@click.option("--kept-only", is_flag=True, help="List only the URLs the crawl would keep.")
@click.option("--json", "as_json", is_flag=True, help="Print every URL with its verdict as JSON.")
def map_command(url: str, link_depth: int, kept_only: bool, as_json: bool, **options: Any) -> None:
    """Preview a crawl's scope: the URLs found (links and sitemaps) and which rule keeps or drops each."""
    from .crawl.discovery import preview_scope, tree_lines

    values = {k: v for k, v in options.items() if v is not None and v != ()}
    settings = _settings({"url": url, **values})
    try:
        preview = asyncio.run(preview_scope(settings, link_depth=link_depth))
    except DocspastaError as exc:
        click.echo(f"error: cannot map {url}: {exc}{guard_hint(str(exc))}", err=True)
        sys.exit(EXIT_FAILED)
    if as_json:
        click.echo(json.dumps({
            "start_url": preview.start_url, "scope": {"host": preview.scope.host, "prefix": preview.scope.prefix},
            "kept": preview.kept, "predicted_pages": preview.predicted_pages,
            "dropped_by_rule": preview.dropped_by_rule(),
            "published": dataclasses.asdict(preview.published),
            "urls": [{"url": u.url, "found_by": u.found_by, "kept": u.kept, "rule": u.rule} for u in preview.urls],
        }, indent=2))  # fmt: skip
        return
    for line in tree_lines(preview, show_dropped=not kept_only):
        click.echo(line)
    click.echo(f"\n{len(preview.urls)} URLs found ({preview.pages_fetched} pages fetched, "
               f"{preview.sitemap_files} sitemap files): {preview.kept} kept; a crawl with max pages "
               f"{preview.max_pages} would take about {preview.predicted_pages}.", err=True)  # fmt: skip
    for rule, n in preview.dropped_by_rule().items():
        click.echo(f"  dropped {n:>5}: {rule}", err=True)
    click.echo("\nWhat the site publishes:", err=True)
    for line in preview.published.lines(preview.pages_fetched):
        click.echo(f"  {line}", err=True)


@main.command()
@click.argument("url")
@click.option(
    "--variant",
    "variants",
    multiple=True,
    required=True,
    metavar="'NAME=VALUE,...'",
    help="One variant's settings over the shared ones, e.g. 'strategy=best-first,batch_size=50'. 2-4.",
)
@setting_options("max_pages", "max_depth", "concurrency", "timeout")
@click.option("--parallel", is_flag=True, help="Run the variants at once (default: one after another, fair timing).")
@guard_options
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def compare(url: str, variants: tuple[str, ...], parallel: bool, db: str | None, as_json: bool,
            **options: Any) -> None:  # fmt: skip
    """Crawl URL under 2-4 variants of the settings and print them side by side."""
    from .api import compare_async
    from .exports.analytics import COMPARISON_RULE, best_variant, comparison_metrics

    base = {k: v for k, v in options.items() if v is not None and v != ()}
    try:
        _settings({"url": url, **base})
        comparison_id = asyncio.run(compare_async(url, list(variants), db=db, mode="parallel" if parallel else
                                                  "sequential", **base))  # fmt: skip
    except InvalidSettingError as exc:
        raise BadInput(str(exc)) from None
    except KeyboardInterrupt:
        click.echo("interrupted; each variant is a job you can resume (docspasta jobs)", err=True)
        sys.exit(EXIT_INTERRUPTED)
    metrics = comparison_metrics(open_reader(db), comparison_id)
    best = best_variant(metrics)
    if as_json:
        click.echo(json.dumps({"comparison": comparison_id, "best": best, "rule": COMPARISON_RULE,
                               "variants": metrics.to_dicts()}, indent=2))  # fmt: skip
        return
    columns = ["variant", "pages", "failed", "skipped", "pages/s", "time to first page s", "mean quality",
               "pages above threshold", "paste tokens (est.)", "fetch p50 ms", "effective concurrency"]  # fmt: skip
    import polars as pl  # only this command prints a frame; a crawl process need not load it

    with pl.Config(tbl_rows=10, tbl_cols=len(columns), tbl_width_chars=200, tbl_hide_dataframe_shape=True):
        click.echo(str(metrics.select(columns)))
    click.echo(f"comparison {comparison_id}; best: {best} ({COMPARISON_RULE})")


@main.command(name="search")
@click.argument("query")
@db_option
@click.option("--job", "job_id", metavar="JOB_ID", help="Search this job's pages.")
@click.option("--site", metavar="SITE", help="Search this site's latest crawl (host and scope, as `jobs` shows it).")
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True, help="Sections to show.")
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON (each with its section's Markdown).")
def search_command(query: str, db: str | None, job_id: str | None, site: str | None, limit: int,
                   as_json: bool) -> None:  # fmt: skip
    """Search the crawled docs: the sections that best match QUERY, best first. Without
    --job or --site, the latest crawl of every site."""
    if job_id and site:
        raise BadInput("--job and --site both say what to search; choose one")
    reader = _existing(db)
    try:
        hits = search_docs(reader, query, site=site, job=job_id, limit=limit)
    except DocspastaError as exc:
        raise BadInput(str(exc)) from None
    if as_json:
        rows = [{"rank": n, "url": h.url, "title": h.title, "heading_path": h.heading_path, "snippet": h.snippet,
                 "score": round(h.score, 4), "job_id": h.job_id, "section": h.markdown}
                for n, h in enumerate(hits, 1)]  # fmt: skip
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not hits:
        click.echo(f"no section matches {query!r}", err=True)
        return
    for n, h in enumerate(hits, 1):
        snippet = " ".join(h.snippet.split())
        click.echo(f"{n}. {h.heading_path}\n   {h.url}\n   {snippet}\n")


@main.command(name="mcp")
@db_option
@click.option(
    "--transport",
    type=click.Choice(["stdio", "http"]),
    default="stdio",
    show_default=True,
    help="stdio: for one MCP client that starts this command; http: a shared streamable-HTTP server.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="With --transport http: the address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(1, 65535),
    default=8000,
    show_default=True,
    help="With --transport http: the port (the endpoint is /mcp).",
)
@click.option("--allow-crawl", is_flag=True, help="Let agents start crawls and refreshes (the crawl/refresh tools).")
@guard_options
def mcp_command(db: str | None, transport: str, host: str, port: int, allow_crawl: bool,
                allow_hosts: tuple[str, ...], allow_private: bool | None) -> None:  # fmt: skip
    """Serve the crawled docs to agents over the Model Context Protocol: list_sites,
    search_docs, get_page, get_paste, job_status (and crawl, refresh with --allow-crawl)."""
    from .agents.mcp_server import DocsServer, serve

    if (allow_hosts or allow_private) and not allow_crawl:
        raise BadInput("--allow-host and --allow-private open the address guard for crawls: add --allow-crawl")
    _settings({"url": "https://example.org/", "allow_hosts": list(allow_hosts)})  # checks each --allow-host
    try:
        docs = DocsServer(db, allow_crawl=allow_crawl, allow_private=bool(allow_private), allow_hosts=allow_hosts)
    except DocspastaError as exc:
        raise BadInput(str(exc)) from None
    serve(docs, transport=transport, host=host, port=port)


@main.command()
@db_option
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
def jobs(db: str | None, as_json: bool) -> None:
    """List the jobs in the database, newest first."""
    reader = open_reader(db)
    try:
        records = reader.list_jobs() if reader.exists() else []
    except DocspastaError as exc:
        raise BadInput(str(exc)) from None
    if as_json:
        rows = [JobResult.of(j, reader.location, audience="cli").to_dict() | {"created_at": j.created_at,
                "site": _site(j)} for j in records]  # fmt: skip
        click.echo(json.dumps(rows, indent=2))
        return
    if not records:
        click.echo("no jobs yet", err=True)
        return
    click.echo(f"{'JOB':<12}  {'STATUS':<11}  {'DONE':>5}  {'FAIL':>4}  {'SKIP':>5}  {'P/S':>6}  {'CREATED':<16}  SITE")
    for j in records:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(j.created_at))
        click.echo(
            f"{j.id:<12}  {j.status:<11}  {j.completed:>5}  {j.failed:>4}  {j.skipped:>5}  "
            f"{j.pages_per_second:>6.1f}  {created:<16}  {_site(j) or j.start_url}"
        )


# -- helpers ----------------------------------------------------------------------------


def _site(job: JobRecord) -> str | None:
    """What search and the MCP server call the job's site: its host and scope prefix."""
    return f"{job.scope_host}{job.scope_prefix or '/'}" if job.scope_host else None


def _check_outputs(as_json: bool, out: str | None, enqueue: bool, db: DbSpec) -> None:
    if as_json and out == "-":
        raise BadInput("--json and --out - both write to stdout; choose one")
    if enqueue:
        _require_shared_store(db, "--enqueue")
        if out is not None:
            raise BadInput("--out needs the finished job; with --enqueue, use docspasta export JOB_ID later")


def _refresh(
    db: DbSpec,
    since: str,
    overrides: dict[str, Any],
    *,
    url: str | None = None,
    out: str | None,
    as_json: bool,
    quiet: bool,
    enqueue: bool,
) -> NoReturn:
    """Create the refresh (checked: the job exists, has ended, is of `url`), then run it here or leave it to workers."""
    with _writer(db) as store:
        _require_job(store, since)
        if url is not None and normalize(url) != (earlier := store.job(since)).start_url:
            raise BadInput(f"--since {since} is a crawl of {earlier.start_url}, not of {url}")
        try:
            job_id = store.create_refresh(
                since, overrides=overrides, run_by=RunBy.WORKERS if enqueue else RunBy.CREATOR
            )
        except InvalidSettingError as exc:
            raise BadInput(f"{FLAGS.get(exc.field, exc.field)}: {exc.value!r} is not allowed; "
                           f"expected {exc.expected}") from None  # fmt: skip
        except DocspastaError as exc:
            raise BadInput(str(exc)) from None
        if enqueue:
            _print_enqueued(store.job(job_id), store.location, as_json)
            sys.exit(EXIT_OK)
    sys.exit(_run(db, job_id, out=out, as_json=as_json, quiet=quiet))


def _write_changes(out: str, reader: StoreReader, job_id: str, fmt: str) -> None:
    if out == "-":
        sys.stdout.flush()
        write_changes(sys.stdout.buffer, reader, job_id, fmt)
        sys.stdout.buffer.flush()
        return
    try:
        with open(out, "wb") as f:
            write_changes(f, reader, job_id, fmt)
    except OSError as exc:
        raise BadInput(f"--out: cannot write {out}: {exc.strerror or exc}") from None


def _settings(values: dict[str, Any]) -> CrawlSettings:
    try:
        return CrawlSettings.from_dict(values)
    except InvalidSettingError as exc:
        flag = FLAGS.get(exc.field, exc.field)
        raise BadInput(f"{flag}: {exc.value!r} is not allowed; expected {exc.expected}") from None


def _check_rendering(settings: CrawlSettings) -> None:
    from .crawl.sources import rendering_refusal

    if (why := rendering_refusal(settings)) is not None:
        raise BadInput(f"--render always: rendering unavailable: {why}; use --render auto to crawl without it")


def _parse_header(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep or not name.strip():
        raise BadInput(f"--header: {text!r} is not allowed; expected 'Name: value'")
    return name.strip(), value.strip()


@contextlib.contextmanager
def _writer(db: DbSpec) -> Iterator[StoreWriter]:
    try:
        store = open_writer(db)
    except DocspastaError as exc:
        raise BadInput(str(exc)) from None
    try:
        yield store
    finally:
        store.close()


def _require_shared_store(db: DbSpec, what: str) -> None:
    if not is_postgres(resolve(db)):
        raise BadInput(
            f"{what} needs a shared PostgreSQL store (--db postgresql://… or $DOCSPASTA_DB); "
            f"with SQLite ({display(db)}) a job runs in the process that starts it: drop {what}"
        )


def _print_enqueued(job: JobRecord, location: str, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(JobResult.of(job, location, audience="cli").to_dict(), indent=2))
        return
    click.echo(job.id)
    click.echo("queued for workers: docspasta worker --db URL runs it; docspasta jobs shows it", err=True)


def _existing(db: DbSpec) -> StoreReader:
    """A reader of a store that is there (reading never creates one)."""
    reader = open_reader(db)
    if not reader.exists():
        raise BadInput(f"no docspasta database at {reader.location} yet; start a crawl first")
    return reader


def _require_job(store: StoreWriter, job_id: str) -> None:
    try:
        store.job(job_id)
    except DocspastaError as exc:
        raise BadInput(str(exc)) from None


async def _run_job(db: DbSpec, job_id: str, bar: ProgressBar | None) -> JobRecord:
    async with open_async_writer(db) as store:
        return await run_job(store, job_id, on_progress=bar.update if bar else None)


def _run(db: DbSpec, job_id: str, *, out: str | None, as_json: bool, quiet: bool) -> int:
    bar = None if quiet else ProgressBar(sys.stderr)
    try:
        job = asyncio.run(_run_job(db, job_id, bar))
    except KeyboardInterrupt:
        if bar:
            bar.done()
        click.echo(f"interrupted; the job is saved. Continue with: docspasta resume {job_id}", err=True)
        return EXIT_INTERRUPTED
    except DocspastaError as exc:
        if bar:
            bar.done()
        raise BadInput(str(exc)) from None
    if bar:
        bar.done()
    result = JobResult.of(job, display(db), audience="cli")
    if out is not None and job.completed:  # no token count: nothing shows it, and the tokenizer costs 150 MB
        _write_out(out, db, job_id, "paste", count_tokens=False)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        _print_summary(result)
    return EXIT_OK if job.status == JobStatus.COMPLETED else EXIT_FAILED


def _print_summary(r: JobResult) -> None:
    line = (
        f"{r.status}: {r.completed} pages, {r.failed} failed, {r.skipped} skipped "
        f"in {r.run_seconds:.1f} s ({r.pages_per_second:.1f} pages/s) — job {r.job_id}"
    )
    click.echo(line, err=True)
    if r.error:
        click.echo(f"error: {r.error}", err=True)
    if r.status == JobStatus.COMPLETED:
        click.echo(f"paste: docspasta export {r.job_id} --out paste.md", err=True)


def _write_out(out: str, db: DbSpec, job_id: str, fmt: str, **options: Any) -> ExportSummary:
    """Stream an export to stdout (`-`) or to a file, which is replaced only once it is whole."""
    reader = open_reader(db)
    try:
        if out != "-":
            return export_to_file(out, reader, job_id, fmt, **options)
        sys.stdout.flush()
        summary = write_export(sys.stdout.buffer, reader, job_id, fmt, **options)
        sys.stdout.buffer.flush()
        return summary
    except ExportWriteError as exc:
        raise BadInput(f"--out: {exc}") from None
    except DocspastaError as exc:
        raise BadInput(str(exc)) from None


class ProgressBar:
    """One self-rewriting line on a terminal; a line every few seconds otherwise."""

    WIDTH = 28

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self._last = 0.0
        self._shown = False

    def update(self, p: Progress) -> None:
        now = time.monotonic()
        if not self.tty and now - self._last < 2.0 and p.step != JobStep.DONE:
            return
        self._last = now
        planned = max(1, min(p.max_pages, p.completed + p.queued))
        filled = int(self.WIDTH * min(1.0, p.completed / planned))
        text = (
            f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {p.completed}/{planned} pages  "
            f"{p.pages_per_second:5.1f}/s  failed {p.failed}  skipped {p.skipped}  {p.step}"
        )
        self.stream.write(("\r\x1b[2K" + text) if self.tty else text + "\n")
        self.stream.flush()
        self._shown = True

    def done(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\n")
            self.stream.flush()
