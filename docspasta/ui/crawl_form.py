"""The New crawl form: settings in, one validated CrawlSettings out, one runner.submit."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ..errors import DocspastaError, StoreError
from ..guard import guard_hint
from ..settings import PRESETS, CrawlSettings, FormField, Widget, form_fields, validation_errors
from . import session
from .config import UIConfig

FORM = {f.name: f for f in form_fields()}  # every setting with a label, as settings.py describes it
FIELDS: dict[str, tuple[str, Any]] = {f"f_{name}": (name, f.default) for name, f in FORM.items()}
FIELD_NAMES = set(FORM)
PRESET_NAMES = ["Custom", *PRESETS]
PRESET_KEYS = {"batch_size": "f_batch_size", "concurrency": "f_concurrency", "timeout": "f_timeout"}
GUARD = "allow_private"  # shown only when local: hosted, the guard stays closed
RENDER = "render"  # hidden (never) where the server may not start a browser (hosted, by default)


def render(cfg: UIConfig) -> None:
    for key, (name, default) in FIELDS.items():
        st.session_state.setdefault(key, _default(cfg, name, default))
    st.session_state.setdefault("f_preset", "Documentation")
    if "f_preset_applied" not in st.session_state:
        _apply_preset()
        st.session_state["f_preset_applied"] = True
    errors: dict[str, str] = st.session_state.get(session.FORM_ERRORS, {})

    by_widget: dict[Widget, list[FormField]] = {w: [] for w in Widget}
    for f in FORM.values():
        if not (f.name == GUARD and cfg.hosted) and not (f.name == RENDER and not cfg.render_allowed):
            by_widget[f.widget].append(f)
    for f in by_widget[Widget.TEXT]:
        _widget(st, f, cfg)
        _errors(errors, [f])
    st.selectbox(
        "Preset",
        PRESET_NAMES,
        key="f_preset",
        on_change=_apply_preset,
        help="Documentation: batch 20, concurrency 30, timeout 5 s. Large site: 50, 50, 3 s. Careful: 10, 10, 8 s.",
    )
    for group, per_row in ((Widget.NUMBER, 3), (Widget.SELECT, 2), (Widget.CHECKBOX, 1), (Widget.LINES, 2)):
        fields = by_widget[group]
        columns = st.columns(per_row) if per_row > 1 else [st] * per_row
        for i, f in enumerate(fields):
            _widget(columns[i % per_row], f, cfg)
        _errors(errors, fields)
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


def _widget(column: Any, f: FormField, cfg: UIConfig) -> None:
    """One setting's widget, its label, help, bounds and choices all from settings.py."""
    key = f"f_{f.name}"
    if f.widget == Widget.NUMBER:
        lo, hi = f.lo, cfg.max_pages_cap if f.name == "max_pages" else f.hi
        assert lo is not None and hi is not None, f"{f.name} needs bounds"
        kind = int if isinstance(f.default, int) else float
        column.number_input(f.label, kind(lo), kind(hi), step=f.step, key=key, help=f.doc)
    elif f.widget == Widget.SELECT:
        column.selectbox(f.label, list(f.choices), key=key, help=f.doc)
    elif f.widget == Widget.CHECKBOX:
        column.checkbox(f.label, key=key, help=f.doc)
    elif f.widget == Widget.LINES:
        column.text_area(f.label, key=key, placeholder=f.placeholder, help=f.doc)
    else:
        column.text_input(f.label, key=key, placeholder=f.placeholder, help=f.doc)


def _errors(errors: dict[str, str], fields: list[FormField]) -> None:
    for f in fields:
        if f.name in errors:
            st.error(errors[f.name], icon="⚠️")


def form_values(cfg: UIConfig) -> dict[str, Any]:
    """The form's settings as CrawlSettings takes them (lines split, text stripped)."""
    values: dict[str, Any] = {}
    for name, f in FORM.items():
        value = st.session_state.get(f"f_{name}")
        if f.widget == Widget.LINES:
            value = [line.strip() for line in (value or "").splitlines() if line.strip()]
        elif f.widget == Widget.TEXT:
            value = (value or "").strip()
        values[name] = value
    values[GUARD] = not cfg.hosted and bool(values[GUARD])
    if not cfg.render_allowed:
        values[RENDER] = "never"
    return values


def _default(cfg: UIConfig, name: str, default: Any) -> Any:
    if name == GUARD:
        return cfg.allow_private_default
    if name == RENDER and not cfg.render_allowed:
        return "never"
    return default


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
    try:
        job_id = session.runner(cfg).submit(CrawlSettings.from_dict(values), owner=session.owner(cfg))
    except DocspastaError as exc:  # render=always without a browser here; a hosted runner's refusals
        st.session_state[session.FORM_ERRORS] = {"_": f"Cannot start the crawl: {exc}"}
        return
    session.open_job(job_id)


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
    with st.expander("What the site publishes", expanded=bool(preview.published.llms_txt or preview.published.twins)):
        st.markdown("\n".join(f"- {line}" for line in preview.published.lines(preview.pages_fetched)))
    with st.expander("Scope tree", expanded=False):
        st.code("\n".join(tree_lines(preview)), language=None)


def running_job_count_safe(cfg: UIConfig) -> int:
    try:
        return cfg.store.running_job_count()
    except StoreError:  # no database yet: nothing is running
        return 0
