"""Session state, the owner token and the runner handle: ids only, never results."""

from __future__ import annotations

import secrets

import streamlit as st

from ..crawl.runner import Runner, get_runner
from ..errors import DocspastaError, JobNotFoundError, StoreError
from ..records import JobRecord
from .config import UIConfig

JOB_ID = "job_id"
OWNER = "owner"
FORM_ERRORS = "form_errors"
NOTICE = "notice"


@st.cache_resource(show_spinner=False)
def _runner(db: str, max_jobs: int, hosted: bool, run_crawls: bool, render_locked: bool = False) -> Runner:
    return get_runner(db, max_jobs=max_jobs, guard_locked=hosted, run_crawls=run_crawls, render_locked=render_locked)


def runner(cfg: UIConfig) -> Runner:
    """The process's one background loop (cached, and found by thread name after a re-import)."""
    handle = _runner(cfg.db, cfg.max_jobs, cfg.hosted, cfg.run_crawls, not cfg.render_allowed)
    if not handle.thread.is_alive():
        _runner.clear()
        handle = _runner(cfg.db, cfg.max_jobs, cfg.hosted, cfg.run_crawls, not cfg.render_allowed)
    return handle


def start(cfg: UIConfig) -> Runner:
    """The runner, started at the top of every page; a store that cannot be opened (a wrong
    URL or password, a server that is down) is a message on the page, not a traceback."""
    try:
        return runner(cfg)
    except StoreError as exc:
        st.error(
            f"The job store cannot be opened: {exc}. Check the `db` setting (`DOCSPASTA_DB` or the app's "
            "secrets); nothing stored there is lost, and this page tries again when you reload it."
        )
        st.stop()
        raise  # st.stop() ends the script run; this line is for type checkers


def owner(cfg: UIConfig) -> str | None:
    """Hosted: this visitor's token, kept in the session and in the link; local: None."""
    if not cfg.hosted:
        return None
    token = st.session_state.get(OWNER) or st.query_params.get("owner") or secrets.token_urlsafe(12)
    st.session_state[OWNER] = token
    st.query_params["owner"] = token
    return token


def current_job_id() -> str | None:
    """The open job, kept in the link too: switching pages drops the query, and a link
    without `?job=` would not reopen it after a reload or in another tab."""
    job_id = st.session_state.get(JOB_ID) or st.query_params.get("job")
    if job_id:
        st.session_state[JOB_ID] = job_id
        if st.query_params.get("job") != job_id:
            st.query_params["job"] = job_id
    return job_id


def open_job(job_id: str | None) -> None:
    st.session_state[JOB_ID] = job_id
    if job_id:
        st.query_params["job"] = job_id
    else:
        st.query_params.pop("job", None)


def refresh(cfg: UIConfig, job: JobRecord) -> str | None:
    """Start a refresh of the job and make it the open one; a refusal (the job still runs,
    its settings exceed what this dashboard allows) is a message on the page, and None."""
    if job.settings.max_pages > cfg.max_pages_cap:
        st.error(
            f"Cannot refresh job {job.id}: its max pages ({job.settings.max_pages:,}) is above this dashboard's "
            f"limit of {cfg.max_pages_cap:,}; refresh it from the command line (docspasta refresh {job.id})."
        )
        return None
    try:
        new_id = runner(cfg).refresh(job.id, owner=owner(cfg))
    except DocspastaError as exc:
        st.error(f"Cannot refresh job {job.id}: {exc}")
        return None
    open_job(new_id)
    return new_id


def load_job(cfg: UIConfig, job_id: str) -> JobRecord:
    """The job if this visitor may see it; hosted visitors see only their own."""
    job = cfg.store.get_job(job_id)
    if cfg.hosted and job.owner != owner(cfg):
        raise JobNotFoundError(job_id)
    return job
