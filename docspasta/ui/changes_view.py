"""A refresh's "Changes" view: what was added, changed and removed since the job it
refreshes, each page's diff, and the export of what changed. All of it from the store
(exports/changes.py), so it reads the same after a reload or a restart."""

from __future__ import annotations

import io

import polars as pl
import streamlit as st

from ..errors import DocspastaError
from ..exports.changes import ChangeReport, change_report, page_diff, write_changes
from ..records import ACTIVE_JOB_STATUSES, JobRecord, PageChange
from ..store import open_reader
from . import session
from .config import UIConfig

LABELS = {
    PageChange.ADDED: "Added",
    PageChange.CHANGED: "Changed",
    PageChange.REMOVED: "Removed",
    PageChange.UNCHANGED: "Unchanged",
    PageChange.KEPT: "Kept",
}


def render(cfg: UIConfig, job: JobRecord) -> None:
    st.subheader("Changes")
    try:
        report = change_report(cfg.store, job.id)
    except DocspastaError as exc:
        st.info(str(exc))
        return
    note = " · still refreshing: pages not checked yet are not counted" if job.status in ACTIVE_JOB_STATUSES else ""
    st.caption(f"Since job `{report.since}`{note}")
    counts = report.counts()
    for column, change in zip(st.columns(len(LABELS)), LABELS, strict=True):
        column.metric(LABELS[change], counts[change])
    if st.button("Open the earlier job", key="cv_open_since"):
        session.open_job(report.since)
        st.rerun()
    if not report.entries:
        st.success("Nothing changed since the earlier crawl.")
        return
    st.dataframe(
        pl.DataFrame(
            {
                "change": [LABELS[e.change] for e in report.entries],
                "url": [e.url for e in report.entries],
                "reason": [e.reason or "" for e in report.entries],
            }
        ),
        hide_index=True,
        width="stretch",
        key="cv_table",
        column_config={"url": st.column_config.LinkColumn("url")},
    )
    _diff(cfg, report)
    _downloads(cfg, job)


def _diff(cfg: UIConfig, report: ChangeReport) -> None:
    shown = [e for e in report.entries if e.change != PageChange.KEPT]
    if not shown:
        return
    by_url = {e.url: e for e in shown}
    url = st.selectbox(
        "Show the diff of", list(by_url), key="cv_pick", format_func=lambda u: f"{LABELS[by_url[u].change]} — {u}"
    )
    if url:
        st.code(page_diff(cfg.store, report, by_url[url]) or "(no text)", language="diff", height=400)


def _downloads(cfg: UIConfig, job: JobRecord) -> None:
    left, right = st.columns(2)
    for column, fmt, label, mime in (
        (left, "md", "Download what changed (Markdown)", "text/markdown"),
        (right, "jsonl", "Download the changes (JSONL, with diffs)", "application/x-ndjson"),
    ):
        column.download_button(
            label,
            _export(cfg.db, job.id, fmt, job.completed, job.finished_at),
            file_name=f"docspasta-{job.id}-changes.{fmt}",
            mime=mime,
            key=f"cv_download_{fmt}",
        )


@st.cache_data(max_entries=16, show_spinner=False)
def _export(db: str, job_id: str, fmt: str, completed: int, finished_at: float | None) -> bytes:
    """The change export, rebuilt only when the refresh moved on."""
    out = io.BytesIO()
    write_changes(out, open_reader(db), job_id, fmt)
    return out.getvalue()
