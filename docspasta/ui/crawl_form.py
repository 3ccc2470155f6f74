"""The New crawl form: settings in, one validated CrawlSettings out, one runner.submit."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ..errors import DocspastaError, StoreError
from ..guard import guard_hint
from ..settings import (
    PRESETS,
    PROCESSING_MODES,
    STRATEGIES,
    CrawlSettings,
    field_docs,
    setting_field,
    validation_errors,
)
from ..store.sqlite.reads import running_job_count
from . import session
from .config import UIConfig

DOCS = field_docs()
PRESET_NAMES = ["Custom", *PRESETS]
# widget key -> (setting name, default); defaults come from CrawlSettings (text areas hold lines)
_FORM_SETTINGS = ("url", "max_pages", "max_depth", "concurrency", "batch_size", "quality_threshold", "timeout",
                  "include", "exclude", "strategy", "processing", "ignore_robots", "include_generated")  # fmt: skip
FIELDS: dict[str, tuple[str, Any]] = {
    f"f_{name}": (name, "" if name in ("url", "include", "exclude") else setting_field(name).default)
    for name in _FORM_SETTINGS
}
FIELD_NAMES = {name for name, _ in FIELDS.values()}
PRESET_KEYS = {"batch_size": "f_batch_size", "concurrency": "f_concurrency", "timeout": "f_timeout"}


def render(cfg: UIConfig) -> None:
    for key, (_, default) in FIELDS.items():
        st.session_state.setdefault(key, default)
    st.session_state.setdefault("f_allow_private", cfg.allow_private_default)
    st.session_state.setdefault("f_preset", "Documentation")
    if "f_preset_applied" not in st.session_state:
        _apply_preset()
        st.session_state["f_preset_applied"] = True
    errors: dict[str, str] = st.session_state.get(session.FORM_ERRORS, {})

    st.text_input("Documentation URL", key="f_url", placeholder="https://docs.example.org/", help=DOCS["url"])
    _error(errors, "url")
    st.selectbox(
        "Preset",
        PRESET_NAMES,
        key="f_preset",
        on_change=_apply_preset,
        help="Documentation: batch 20, concurrency 30, timeout 5 s. Large site: 50, 50, 3 s. Careful: 10, 10, 8 s.",
    )
    left, mid, right = st.columns(3)
    _number(left, "Max pages", "max_pages", hi=cfg.max_pages_cap)
    _number(mid, "Max depth", "max_depth")
    _number(right, "Quality threshold", "quality_threshold")
    _number(left, "Concurrency", "concurrency")
    _number(mid, "Batch size", "batch_size")
    _number(right, "Per-page timeout (s)", "timeout", step=0.5)
    for field in ("max_pages", "max_depth", "quality_threshold", "concurrency", "batch_size", "timeout"):
        _error(errors, field)
    order, mode = st.columns(2)
    order.selectbox("Strategy", list(STRATEGIES), key="f_strategy", help=DOCS["strategy"])
    mode.selectbox("Processing", list(PROCESSING_MODES), key="f_processing", help=DOCS["processing"])
    st.checkbox("Ignore robots.txt (only for a site you own)", key="f_ignore_robots", help=DOCS["ignore_robots"])
    st.checkbox(
        "Include generated pages (indexes, search, source listings)",
        key="f_include_generated",
        help=DOCS["include_generated"],
    )
    if not cfg.hosted:  # hosted: the guard stays closed, so there is nothing to offer
        st.checkbox("Allow private/local addresses", key="f_allow_private", help=DOCS["allow_private"])
    inc, exc = st.columns(2)
    inc.text_area("Include patterns (one per line)", key="f_include", placeholder="/docs/**", help=DOCS["include"])
    exc.text_area("Exclude patterns (one per line)", key="f_exclude", placeholder="**/changelog*", help=DOCS["exclude"])
    _error(errors, "include")
    _error(errors, "exclude")
    for field, message in errors.items():
        if field not in FIELD_NAMES:
            st.error(message)
    start, preview = st.columns([1, 1])
    start.button("Start crawl", type="primary", key="f_start", on_click=_start, args=(cfg,))
    preview.button(
        "Preview scope", key="f_preview", on_click=_preview, args=(cfg,),
        help="Find URLs (start page links and sitemaps) and see which rule keeps or drops each.",
    )  # fmt: skip
    _show_preview()


def form_values(cfg: UIConfig) -> dict[str, Any]:
    values: dict[str, Any] = {"allow_private": not cfg.hosted and bool(st.session_state.get("f_allow_private"))}
    for key, (name, _) in FIELDS.items():
        value = st.session_state.get(key)
        if name in ("include", "exclude"):
            value = [line.strip() for line in (value or "").splitlines() if line.strip()]
        elif name == "url":
            value = (value or "").strip()
        values[name] = value
    return values


def _apply_preset() -> None:
    preset = PRESETS.get(st.session_state.get("f_preset", ""))
    if preset:
        for name, key in PRESET_KEYS.items():
            st.session_state[key] = preset[name]


def _start(cfg: UIConfig) -> None:
    values = form_values(cfg)
    errors = validation_errors(values)
    if not errors and cfg.hosted and running_job_count_safe(cfg) >= cfg.max_jobs:
        errors["_"] = f"{cfg.max_jobs} crawls are already running on this server; try again in a minute."
    st.session_state[session.FORM_ERRORS] = errors
    if errors:
        return
    settings = CrawlSettings.from_dict(values)
    job_id = session.runner(cfg).submit(settings, owner=session.owner(cfg))
    session.open_job(job_id)


def _number(column: Any, label: str, name: str, *, hi: float | None = None, step: float | None = None) -> None:
    """A number field whose bounds, help and type are the setting's own (settings.py)."""
    f = setting_field(name)
    lo, top = f.metadata["lo"], hi if hi is not None else f.metadata["hi"]
    if isinstance(f.default, int):
        lo, top = int(lo), int(top)
    else:
        lo, top = float(lo), float(top)
    column.number_input(label, lo, top, step=step, key=f"f_{name}", help=DOCS[name])


def _preview(cfg: UIConfig) -> None:
    values = form_values(cfg)
    errors = validation_errors(values)
    st.session_state[session.FORM_ERRORS] = errors
    st.session_state["f_preview_result"] = None
    if errors:
        return
    try:
        result = session.runner(cfg).preview_scope(CrawlSettings.from_dict(values))
    except DocspastaError as exc:  # InvalidSettingError too: a hosted runner refuses an open guard
        hint = guard_hint(str(exc), "hosted" if cfg.hosted else "dashboard")
        st.session_state[session.FORM_ERRORS] = {"_": f"Cannot preview {values['url']}: {exc}{hint}"}
        return
    st.session_state["f_preview_result"] = result


def _show_preview() -> None:
    preview = st.session_state.get("f_preview_result")
    if preview is None:
        return
    from ..crawl.discovery import tree_lines

    st.caption(
        f"{len(preview.urls)} URLs found ({preview.pages_fetched} pages, {preview.sitemap_files} sitemap files): "
        f"{preview.kept} kept under {preview.scope.prefix}; a crawl would take about {preview.predicted_pages} pages."
    )
    dropped = preview.dropped_by_rule()
    if dropped:
        st.dataframe({"dropped by": list(dropped), "URLs": list(dropped.values())}, hide_index=True,
                     key="f_preview_dropped")  # fmt: skip
    with st.expander("Scope tree", expanded=False):
        st.code("\n".join(tree_lines(preview)), language=None)


def running_job_count_safe(cfg: UIConfig) -> int:
    try:
        return running_job_count(cfg.db_path)
    except StoreError:  # no database yet: nothing is running
        return 0


def _error(errors: dict[str, str], field: str) -> None:
    if field in errors:
        st.error(errors[field], icon="⚠️")
