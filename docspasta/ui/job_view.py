"""One job on screen: live progress, inspection, and the paste.

The live part is a fragment that re-reads the store every half second while the job
runs and stops polling when it ends. Everything comes from the store, so a reload, a
second tab or a server restart shows the same job.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import altair as alt
import polars as pl
import streamlit as st

from ..errors import DocspastaError
from ..exports.analytics import fidelity_summary, pages_frame, quality_histogram, skip_reasons
from ..exports.export import FILE_NAMES, FORMATS, MIME_TYPES, ORDERS, ExportResult, export
from ..guard import guard_hint
from ..records import ACTIVE_JOB_STATUSES, RESUMABLE_JOB_STATUSES, JobRecord, JobStatus, PageStatus, RunBy
from ..store import display, open_reader
from . import changes_view, search_view, session
from .config import UIConfig

POLL_S = 0.5
REFRESH_HELP = (
    "Crawl the site again as a new job with these settings. Pages the server says are unchanged "
    "(ETag, Last-Modified) or sends the same bytes for are taken over without extracting them; "
    "the new job shows what was added, changed and removed."
)
MAX_COPYABLE_CHARS = 2_000_000


def render(cfg: UIConfig, job_id: str) -> None:
    try:
        job = session.load_job(cfg, job_id)
    except DocspastaError as exc:
        st.error(f"Cannot open job {job_id}: {exc}")
        if st.button("New crawl", key="jv_missing_new"):
            session.open_job(None)
            st.rerun()
        return
    new, again = st.columns([1, 8])
    if new.button("New crawl", key="jv_new"):
        session.open_job(None)
        st.rerun()
    refreshable = job.status not in ACTIVE_JOB_STATUSES and job.scope_host
    if refreshable and again.button("Refresh", key="jv_refresh", help=REFRESH_HELP) and session.refresh(cfg, job):
        st.rerun()
    _live(cfg, job.id, was_active=job.status in ACTIVE_JOB_STATUSES)
    if job.since_job:
        changes_view.render(cfg, job)
    _inspect(cfg, job)
    if job.completed:
        _result(cfg, job)


def _live(cfg: UIConfig, job_id: str, *, was_active: bool) -> None:
    @st.fragment(run_every=POLL_S if was_active else None)
    def live() -> None:
        job = session.load_job(cfg, job_id)
        st.subheader(job.site_title or job.start_url)
        st.caption(f"Job `{job.id}` · {job.start_url}")
        _progress(cfg, job)
        _controls(cfg, job)
        _events(cfg, job)
        if was_active and job.status not in ACTIVE_JOB_STATUSES:
            st.rerun()  # the job ended: one full rerun, and polling stops

    live()


def _progress(cfg: UIConfig, job: JobRecord) -> None:
    s = job.settings
    active = job.status in ACTIVE_JOB_STATUSES
    planned = max(1, min(s.max_pages, job.completed + job.queued)) if active or job.queued else max(1, job.completed)
    fraction = min(1.0, job.completed / planned)
    elapsed = job.run_seconds
    if active and job.heartbeat_at:
        elapsed += max(0.0, min(2.0, time.time() - job.heartbeat_at))
    rate = job.completed / elapsed if elapsed > 0 else 0.0
    eta = (planned - job.completed) / rate if active and rate > 0 else None
    st.progress(int(fraction * 100), text=f"{job.completed} of {planned} pages · {job.status} · {job.step}")
    cols = st.columns(7)
    cols[0].metric("Discovered", job.discovered)
    cols[1].metric("Queued", job.queued)
    cols[2].metric("Completed", job.completed)
    cols[3].metric("Failed", job.failed)
    cols[4].metric("Skipped", job.skipped)
    cols[5].metric("Pages/s", f"{rate:.1f}")
    cols[6].metric(
        "Elapsed",
        _duration(elapsed),
        delta=f"ETA {_duration(eta)}" if eta else None,
        delta_color="off",
        delta_arrow="off",
    )
    if job.status == JobStatus.FAILED:
        st.error(f"The crawl failed: {job.error}{guard_hint(job.error, 'hosted' if cfg.hosted else 'dashboard')}")
    elif job.status == JobStatus.COMPLETED and job.completed == 0:
        st.warning("The crawl finished without any page with content.")
    elif job.status == JobStatus.PENDING and job.run_by == RunBy.WORKERS:
        st.info(
            "Waiting for a worker: this dashboard leaves crawls to `docspasta worker` processes. "
            f"Start one on any machine with `docspasta worker --db {display(cfg.db)}`."
        )
    elif job.status in (JobStatus.INTERRUPTED, JobStatus.PAUSED):
        st.warning(f"This crawl is {job.status}. Resume it to continue where it stopped.")
    elif job.status == JobStatus.CANCELLED:
        st.info("This crawl was cancelled.")


def _controls(cfg: UIConfig, job: JobRecord) -> None:
    runner = session.runner(cfg)
    cols = st.columns(6)
    if job.status in ACTIVE_JOB_STATUSES:
        cols[0].button("Cancel", key="jv_cancel", on_click=runner.cancel, args=(job.id,))
        cols[1].button("Pause", key="jv_pause", on_click=runner.pause, args=(job.id,))
    elif job.status in RESUMABLE_JOB_STATUSES and job.scope_host:
        cols[0].button("Resume", key="jv_resume", type="primary", on_click=runner.resume, args=(job.id,))


def _events(cfg: UIConfig, job: JobRecord) -> None:
    rows = cfg.store.events(job.id, limit=8)
    with st.expander("Latest events", expanded=job.status in ACTIVE_JOB_STATUSES):
        st.dataframe(
            pl.DataFrame(
                {
                    "time": [dt.datetime.fromtimestamp(r["ts"]).strftime("%H:%M:%S") for r in rows],
                    "event": [r["type"] for r in rows],
                    "url": [r["url"] or "" for r in rows],
                    "detail": [_detail(r["payload"]) for r in rows],
                },
                schema={"time": pl.String, "event": pl.String, "url": pl.String, "detail": pl.String},
            ),
            hide_index=True,
            width="stretch",
            key="jv_events",
        )


def _inspect(cfg: UIConfig, job: JobRecord) -> None:
    df = pages_frame(cfg.store, job.id)
    if df.is_empty():
        return
    st.subheader("Inspect")
    threshold = job.settings.quality_threshold
    left, right = st.columns([3, 2])
    _quality_histogram(left, df, threshold)
    right.caption("Not crawled, failed, or left out of the paste, by reason")
    right.dataframe(skip_reasons(df, threshold), hide_index=True, width="stretch", key="jv_skips")
    f = fidelity_summary(cfg.store, job.id)
    by = ", ".join(f"{k.removeprefix('pages by ')}: {v}" for k, v in f.items() if k.startswith("pages by"))
    right.caption(
        f"Fidelity: code blocks {f['pre_in']} in the HTML → {f['fences_out']} fenced · tables {f['tables_in']} → "
        f"{f['tables_out']} · headings {f['headings_in']} → {f['headings_out']} · pages by extractor: {by or '—'}"
    )

    statuses = st.multiselect(
        "Show pages with status",
        list(PageStatus),
        default=[PageStatus.COMPLETED, PageStatus.FAILED],
        key="jv_status_filter",
    )
    search = st.text_input("Filter by URL or title", key="jv_search")
    shown = df.filter(pl.col("status").is_in(statuses))
    if search:
        needle = search.lower()
        shown = shown.filter(
            pl.col("url").str.to_lowercase().str.contains(needle, literal=True)
            | pl.col("title").fill_null("").str.to_lowercase().str.contains(needle, literal=True)
        )
    st.dataframe(
        shown.select(
            "url",
            "title",
            "depth",
            "status",
            "quality",
            "words",
            "tokens",
            "fetch_ms",
            "source",
            "extractor",
            "reason",
            "source_note",
            *(["reuse"] if job.since_job else []),
        ),  # fmt: skip
        hide_index=True,
        width="stretch",
        key="jv_pages",
        column_config={
            "url": st.column_config.LinkColumn("url"),
            "fetch_ms": st.column_config.NumberColumn(format="%.0f"),
        },
    )
    completed = df.filter(pl.col("status") == PageStatus.COMPLETED)  # in reading order, as the paste
    if completed.is_empty():
        return
    search_view.render(cfg, job_id=job.id, key="jv_find")
    _preview(cfg, job, completed)


def _preview(cfg: UIConfig, job: JobRecord, completed: pl.DataFrame) -> None:
    urls = completed["url"].to_list()
    titles = dict(zip(urls, completed["title"].to_list(), strict=True))
    wanted = search_view.wanted_preview(job.id)  # a search hit's "Preview"; set before the box is drawn
    if wanted in urls:
        st.session_state["jv_preview"] = wanted
    elif wanted:
        st.info(f"{wanted} is not among this job's completed pages, so it cannot be previewed.")
    url = st.selectbox("Preview a page", urls, format_func=lambda u: f"{titles.get(u) or u} — {u}", key="jv_preview")
    if not url:
        return
    page = cfg.store.page_detail(job.id, url)
    st.caption(f"Source: {page.source or 'html'} · extractor: {page.extractor or '—'}"
               + (f" · {page.source_note}" if page.source_note else ""))  # fmt: skip
    st.caption(f"Quality {page.quality}: " + "; ".join(page.quality_reasons))
    if page.fidelity:
        f = page.fidelity
        st.caption(
            f"Fidelity ({page.extractor}): code blocks {f['pre_in']} in → {f['fences_out']} fenced · "
            f"tables {f['tables_in']} → {f['tables_out']} · headings {f['headings_in']} → {f['headings_out']}"
        )
    elif page.extractor:
        st.caption(f"Extracted by {page.extractor} (no docs rule matched this page)")
    rendered, raw = st.columns(2)
    with rendered.container(height=500, key="jv_rendered"):
        st.markdown(page.markdown)
    with raw.container(height=500):
        st.code(page.markdown, language="markdown")


def _result(cfg: UIConfig, job: JobRecord) -> None:
    st.subheader("Result")
    left, right = st.columns(2)
    threshold = left.slider(
        "Quality threshold", 0, 100, job.settings.quality_threshold, key="jv_threshold",
        help="Pages scoring below this are left out of every export. Changing it needs no re-crawl.",
    )  # fmt: skip
    budget = right.number_input(
        "Fit into N tokens (0: no limit)", 0, 100_000_000, 0, step=10_000, key="jv_budget",
        help="Keep the best pages (by quality, then structure) whose sections fit this many o200k tokens.",
    )  # fmt: skip
    order = st.radio(
        "Page order", ORDERS, horizontal=True, key="jv_order",
        format_func=lambda o: {"site": "the site's reading order", "url": "URL paths"}[o],
        help="The site's reading order follows its own navigation (next-page links); URL paths sort by path.",
    )  # fmt: skip
    running = job.status in ACTIVE_JOB_STATUSES  # exact counts (a counter process) once, when it ends
    args = (cfg.db, job.id, threshold, budget or None, order, not running, job.completed, job.finished_at)
    try:
        paste = cached_export(*args, "paste")
    except (DocspastaError, ValueError) as exc:
        st.error(f"The paste could not be built: {exc}")
        return
    tokens = "tokens counted when the crawl ends" if paste.tokens is None else f"{paste.tokens:,} tokens (o200k)"
    notes = [f"{paste.pages} pages", tokens]
    if paste.below_threshold:
        notes.append(f"{paste.below_threshold} below the threshold left out")
    if paste.over_budget:
        notes.append(f"{len(paste.over_budget)} left out to fit the budget")
    st.caption(" · ".join(notes))
    buttons = st.columns(len(FORMATS))
    for column, fmt in zip(buttons, FORMATS, strict=True):
        column.download_button(
            f"Download {FILE_NAMES[fmt]}", _deferred(args, fmt) if fmt != "paste" else paste.data,
            file_name=f"docspasta-{job.id}-{FILE_NAMES[fmt]}", mime=MIME_TYPES[fmt],
            type="primary" if fmt == "paste" else "secondary", key=f"jv_download_{fmt}",
        )  # fmt: skip
    text = paste.data.decode("utf-8")
    if len(text) <= MAX_COPYABLE_CHARS:
        st.code(text, language="markdown", height=400)
    else:
        st.info("The paste is too large to copy from the page; download it instead. The beginning:")
        st.code(text[:20_000], language="markdown", height=400)


def _deferred(args: tuple[Any, ...], fmt: str) -> Callable[[], bytes]:
    """Build a large export only when its button is clicked."""
    return lambda: cached_export(*args, fmt).data  # type: ignore[call-arg]  # st.cache_data's stub takes no *args


@st.cache_data(max_entries=32, show_spinner=False)
def cached_export(
    db: str,
    job_id: str,
    threshold: int,
    budget: int | None,
    order: str,
    exact: bool,
    completed: int,
    finished_at: float | None,
    fmt: str,
) -> ExportResult:
    """One export, rebuilt only when the job, the threshold, the budget or the order changed.
    Only the paste of a finished job shows its token count; the rest skip the counter process."""
    return export(open_reader(db), job_id, fmt, threshold=threshold, max_tokens=budget, order=order,
                  count_tokens=exact and fmt == "paste")  # fmt: skip


def _quality_histogram(column, df: pl.DataFrame, threshold: int) -> None:
    hist = quality_histogram(df)
    if hist["pages"].sum() == 0:  # bars of height zero draw a lone 0.000000 tick: say it instead
        column.caption("Quality of completed pages")
        column.info("No page has completed yet, so there are no quality scores to show.")
        return
    chart = (
        alt.Chart(hist)
        .mark_bar(color="#c2410c")
        .encode(
            x=alt.X("quality:N", sort=list(hist["quality"]), title="quality score"),
            y=alt.Y("pages:Q", title="completed pages"),
        )
    )
    rule = (
        alt.Chart(pl.DataFrame({"quality": [_bin_label(threshold)]}))
        .mark_rule(color="black", strokeDash=[4, 4])
        .encode(x=alt.X("quality:N", sort=list(hist["quality"])))
    )
    column.caption(f"Quality of completed pages · threshold {threshold} (dashed)")
    column.altair_chart(chart + rule, width="stretch", key="jv_histogram")


def _bin_label(score: int) -> str:
    lo = min(90, score // 10 * 10)
    return "90-100" if lo == 90 else f"{lo}-{lo + 9}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    return f"{seconds // 60}m {seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def _detail(payload: str | None) -> str:
    if not payload:
        return ""
    data = json.loads(payload)
    return ", ".join(f"{k}={v}" for k, v in data.items() if v not in (None, "", []) and k != "settings")[:200]
