"""The Compare page: one site under 2-4 variants of the settings, side by side."""

from __future__ import annotations

import altair as alt
import polars as pl
import streamlit as st

from ..errors import DocspastaError, InvalidSettingError
from ..exports.analytics import (
    COMPARISON_RULE,
    best_variant,
    comparison_metrics,
    pages_frame,
    progress_frame,
    quality_histogram,
    url_overlap,
)
from ..records import ACTIVE_JOB_STATUSES, JobStatus, PageStatus
from ..settings import field_docs
from ..store import display
from . import session
from .config import UIConfig

DOCS = field_docs()

COMPARISON_ID = "comparison_id"
DEFAULT_VARIANTS = "strategy=bfs\nstrategy=dfs\nstrategy=sitemap-first\nstrategy=best-first"


def render(cfg: UIConfig) -> None:
    comparison_id = st.session_state.get(COMPARISON_ID) or st.query_params.get("comparison")
    if comparison_id:
        _show(cfg, comparison_id)
    else:
        _form(cfg)


def _form(cfg: UIConfig) -> None:
    st.text_input("Documentation URL", key="cmp_url", placeholder="https://docs.example.org/")
    left, mid, right = st.columns(3)
    left.number_input("Max pages", 1, cfg.max_pages_cap, 100, key="cmp_max_pages")
    mid.number_input("Max depth", 0, 100, 3, key="cmp_max_depth")
    right.number_input("Per-page timeout (s)", 0.1, 600.0, 5.0, key="cmp_timeout")
    st.text_area("Variants, one per line (setting=value, comma-separated)", DEFAULT_VARIANTS, key="cmp_variants",
                 help="e.g. strategy=best-first,batch_size=50 or processing=per-url. 2-4 variants.")  # fmt: skip
    if not cfg.hosted:
        st.checkbox("Allow private/local addresses", cfg.allow_private_default, key="cmp_allow_private",
                    help=DOCS["allow_private"])  # fmt: skip
    st.radio("Run", ["sequential", "parallel"], horizontal=True, key="cmp_mode",
             help="One after another gives each variant the machine to itself: fair timings.")  # fmt: skip
    if error := st.session_state.get("cmp_error"):
        st.error(error)
    st.button("Compare", type="primary", key="cmp_start", on_click=_start, args=(cfg,))


def _start(cfg: UIConfig) -> None:
    s = st.session_state
    variants = [line.strip() for line in (s.get("cmp_variants") or "").splitlines() if line.strip()]
    base = {"max_pages": s["cmp_max_pages"], "max_depth": s["cmp_max_depth"], "timeout": s["cmp_timeout"],
            "allow_private": not cfg.hosted and bool(s.get("cmp_allow_private")),
            **({} if cfg.render_allowed else {"render": "never"})}  # fmt: skip
    try:
        comparison_id = session.runner(cfg).submit_comparison(
            (s.get("cmp_url") or "").strip(), variants, base, mode=s.get("cmp_mode", "sequential"),
            owner=session.owner(cfg),
        )  # fmt: skip
    except InvalidSettingError as exc:
        s["cmp_error"] = str(exc)
        return
    s["cmp_error"] = None
    s[COMPARISON_ID] = comparison_id
    st.query_params["comparison"] = comparison_id


def _show(cfg: UIConfig, comparison_id: str) -> None:
    try:
        comparison = cfg.store.get_comparison(comparison_id)
    except DocspastaError as exc:
        st.error(f"Cannot open comparison {comparison_id}: {exc}")
        return
    if cfg.hosted and any(job.owner != session.owner(cfg) for _, job in comparison.jobs):
        st.error(f"Cannot open comparison {comparison_id}: it belongs to another visitor")
        return
    if st.button("New comparison", key="cmp_new"):
        st.session_state[COMPARISON_ID] = None
        st.query_params.pop("comparison", None)
        st.rerun()
    running = any(job.status in ACTIVE_JOB_STATUSES for _, job in comparison.jobs)
    st.subheader(f"{comparison.start_url} · {comparison.mode}")
    if running and not cfg.run_crawls:
        st.caption(f"Crawls run on `docspasta worker` processes (`docspasta worker --db {display(cfg.db)}`); "
                   "a sequential comparison's variants run one at a time there too.")  # fmt: skip

    @st.fragment(run_every=0.5 if running else None)
    def live() -> None:
        current = cfg.store.get_comparison(comparison_id)
        for label, job in current.jobs:
            planned = (
                max(1, min(job.settings.max_pages, job.completed + job.queued)) if job.queued else max(1, job.completed)
            )
            st.progress(min(100, int(100 * job.completed / planned)), text=f"{label}: {job.completed} pages · "
                        f"{job.status} · {job.pages_per_second:.1f} pages/s")  # fmt: skip
        if running and not any(job.status in ACTIVE_JOB_STATUSES for _, job in current.jobs):
            st.rerun()

    live()
    metrics = comparison_metrics(cfg.store, comparison_id)
    if metrics.is_empty():
        return
    best = best_variant(metrics)
    st.success(f"Best paste: **{best}** — {COMPARISON_RULE}.")
    st.dataframe(metrics, hide_index=True, width="stretch", key="cmp_metrics")
    _charts(cfg, comparison_id, comparison)
    _overlap(cfg, comparison_id)
    _add_earlier(cfg, comparison_id, comparison)


def _charts(cfg: UIConfig, comparison_id: str, comparison) -> None:
    progress = progress_frame(cfg.store, comparison_id)
    st.caption("Pages completed over time")
    st.altair_chart(
        alt.Chart(progress).mark_line(point=False).encode(x="seconds:Q", y="pages:Q", color="variant:N"),
        width="stretch", key="cmp_progress",
    )  # fmt: skip
    frames, depths = [], []
    for label, job in comparison.jobs:
        df = pages_frame(cfg.store, job.id)
        frames.append(quality_histogram(df).with_columns(variant=pl.lit(label)))
        depths.append(
            df.filter(pl.col("status") == PageStatus.COMPLETED)
            .group_by("depth")
            .len("pages")
            .with_columns(variant=pl.lit(label))
        )
    left, right = st.columns(2)
    left.caption("Quality of completed pages")
    left.altair_chart(
        alt.Chart(pl.concat(frames)).mark_bar().encode(
            x=alt.X("quality:N", sort=None), y="pages:Q", color="variant:N", xOffset="variant:N"
        ),
        width="stretch", key="cmp_quality",
    )  # fmt: skip
    right.caption("Depth of completed pages")
    right.altair_chart(
        alt.Chart(pl.concat(depths)).mark_bar().encode(x="depth:O", y="pages:Q", color="variant:N",
                                                       xOffset="variant:N"),
        width="stretch", key="cmp_depth",
    )  # fmt: skip


def _overlap(cfg: UIConfig, comparison_id: str) -> None:
    overlap = url_overlap(cfg.store, comparison_id)
    st.caption(f"URL overlap: {len(overlap['shared'])} pages crawled by every variant")
    with st.expander("Pages only one variant crawled"):
        for label, urls in overlap["only"].items():
            st.markdown(f"**{label}**: {len(urls)} pages")
            st.code("\n".join(urls) or "(none)", language=None)


def _add_earlier(cfg: UIConfig, comparison_id: str, comparison) -> None:
    mine = {job.id for _, job in comparison.jobs}
    earlier = [
        j
        for j in cfg.store.list_jobs(owner=session.owner(cfg))
        if j.start_url == comparison.start_url and j.id not in mine and j.status == JobStatus.COMPLETED
    ]
    if not earlier:
        return
    choice = st.selectbox("Add an earlier crawl of this site", [j.id for j in earlier], key="cmp_add_pick")
    if st.button("Add to comparison", key="cmp_add"):
        session.runner(cfg).add_to_comparison(comparison_id, choice, f"earlier {choice}")
        st.rerun()
