"""The Jobs page: a table of jobs, the actions on one of them, and a search over every site."""

from __future__ import annotations

import datetime as dt

import polars as pl
import streamlit as st

from ..errors import DocspastaError
from ..records import ACTIVE_JOB_STATUSES, RESUMABLE_JOB_STATUSES, JobRecord
from . import search_view, session
from .config import UIConfig
from .job_view import REFRESH_HELP, cached_export


def render(cfg: UIConfig) -> None:
    if notice := st.session_state.pop("jobs_notice", None):
        st.warning(notice)
    try:
        store = cfg.store
        jobs = store.list_jobs(owner=session.owner(cfg)) if store.exists() else []
    except DocspastaError as exc:
        st.error(str(exc))
        return
    if not jobs:
        st.info("No crawls yet. Start one on the home page.")
        return
    st.dataframe(_frame(jobs), hide_index=True, width="stretch", key="jobs_table")
    by_id = {j.id: j for j in jobs}
    job_id = st.selectbox(
        "Job", list(by_id), key="jobs_pick", format_func=lambda i: f"{i} · {by_id[i].status} · {by_id[i].start_url}"
    )
    job = by_id[job_id]
    cols = st.columns(5)
    if cols[0].button("Open", key="jobs_open", type="primary"):
        session.open_job(job.id)
        st.switch_page("app.py")
    if job.completed:
        args = (cfg.db, job.id, job.settings.quality_threshold, None, "site", False, job.completed,
                job.finished_at)  # fmt: skip
        cols[1].download_button(
            "Export paste",
            lambda: cached_export(*args, "paste").data,
            file_name=f"docspasta-{job.id}.md",
            mime="text/markdown",
            key="jobs_export",
        )
    if job.status in RESUMABLE_JOB_STATUSES and job.scope_host:
        cols[2].button("Resume", key="jobs_resume", on_click=_resume, args=(cfg, job.id))
    cols[3].button("Delete", key="jobs_delete", on_click=_delete, args=(cfg, job))
    refreshable = job.status not in ACTIVE_JOB_STATUSES and job.scope_host
    if refreshable and cols[4].button("Refresh", key="jobs_refresh", help=REFRESH_HELP) and session.refresh(cfg, job):
        st.switch_page("app.py")
    st.subheader("Search")
    search_view.render(cfg, job_id=None, key="jobs_find")


def _frame(jobs: list[JobRecord]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "job": [j.id for j in jobs],
            "status": [j.status for j in jobs],
            "start URL": [j.start_url for j in jobs],
            "max pages": [j.settings.max_pages for j in jobs],
            "depth": [j.settings.max_depth for j in jobs],
            "concurrency": [j.settings.concurrency for j in jobs],
            "completed": [j.completed for j in jobs],
            "failed": [j.failed for j in jobs],
            "skipped": [j.skipped for j in jobs],
            "pages/s": [round(j.pages_per_second, 1) for j in jobs],
            "duration s": [round(j.run_seconds, 1) for j in jobs],
            "created": [dt.datetime.fromtimestamp(j.created_at).strftime("%Y-%m-%d %H:%M") for j in jobs],
            "refreshes": [j.since_job or "" for j in jobs],
        }
    )


def _resume(cfg: UIConfig, job_id: str) -> None:
    session.runner(cfg).resume(job_id)


def _delete(cfg: UIConfig, job: JobRecord) -> None:
    if job.status in ACTIVE_JOB_STATUSES:
        st.session_state["jobs_notice"] = "Cancel the crawl before deleting it."
        return
    session.runner(cfg).delete(job.id)
    if st.session_state.get(session.JOB_ID) == job.id:
        session.open_job(None)
