"""Search box: the sections of one job's pages (the job view) or of every site's latest
crawl (the Jobs page) that match some words, each with a button that previews its page.

All of it from the store (exports/search.py). A hit's preview is asked for through a
non-widget session key, (job id, URL), that the job view's "Preview a page" takes up:
widget-keyed values do not survive the switch from the Jobs page to the home page.
"""

from __future__ import annotations

import re

import streamlit as st

from ..errors import DocspastaError, InvalidQueryError
from ..exports.search import search
from ..records import SearchHit
from . import session
from .config import UIConfig

LIMIT = 10
PREVIEW_WANTED = "jv_preview_wanted"
_MARK = re.compile(r"\*\*(.+?)\*\*")
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark: escaped, it reads as itself


def render(cfg: UIConfig, *, job_id: str | None, key: str) -> None:
    """The box and, once it holds words, up to ten hits, best first. With a job: that job's
    pages, previewed below; without: every site's latest crawl, opened on the home page."""
    label = "Search this crawl's text" if job_id else "Search every site's latest crawl"
    query = st.text_input(
        label,
        key=f"{key}_query",
        max_chars=200,
        placeholder="a few words, e.g. install configuration",
        help="Finds the sections whose title, headings or text hold these words, best match first.",
    ).strip()
    if not query:
        return
    try:
        hits = _hits(cfg, query, job_id)
    except InvalidQueryError as exc:
        st.info(f"Nothing to search for: {exc}.")
        return
    except DocspastaError as exc:
        st.warning(f"The search failed: {exc}")
        return
    if not hits:
        where = "in this crawl" if job_id else "in any site's latest crawl"
        st.info(f"No section matches “{query}” {where}. Try other words.")
        return
    st.caption(f"{len(hits)} best matching sections" if len(hits) == LIMIT else f"{len(hits)} matching sections")
    for n, hit in enumerate(hits):
        with st.container(border=True, key=f"{key}_hit_{n}"):
            st.markdown(f"**{escape(hit.heading_path)}**")
            st.caption(hit.url if job_id else f"{hit.url} · job `{hit.job_id}`")
            st.markdown(snippet_markdown(hit.snippet))
            if job_id:
                st.button("Preview", key=f"{key}_open_{n}", on_click=_want, args=(hit,),
                          help="Show this page in “Preview a page” below.")  # fmt: skip
            elif st.button("Open and preview", key=f"{key}_open_{n}", on_click=_open, args=(hit,),
                           help="Open this crawl on the home page with this page previewed."):  # fmt: skip
                st.switch_page("app.py", query_params={"job": hit.job_id})


def wanted_preview(job_id: str) -> str | None:
    """The URL a search hit asked the job view to preview, once (None when none was asked for
    this job)."""
    wanted = st.session_state.pop(PREVIEW_WANTED, None)
    if wanted and wanted[0] == job_id:
        return str(wanted[1])
    return None


def snippet_markdown(snippet: str) -> str:
    """A hit's snippet as one line of Markdown: the matched words (marked `**…**`) bold, the
    rest shown as written (the snippet is a cut of Markdown: an unbalanced fence or a table
    row would otherwise take over the layout)."""
    text = " ".join(snippet.split())
    out: list[str] = []
    last = 0
    for m in _MARK.finditer(text):
        out.append(escape(text[last : m.start()]))
        out.append(f"**{escape(m.group(1))}**")
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)


def escape(text: str) -> str:
    return _PUNCTUATION.sub(r"\\\1", text)


def _hits(cfg: UIConfig, query: str, job_id: str | None) -> list[SearchHit]:
    if job_id is not None:
        return search(cfg.store, query, job=job_id, limit=LIMIT)
    if cfg.hosted:  # a hosted visitor searches only their own crawls
        return cfg.store.search(query, [s.job_id for s in cfg.store.sites(owner=session.owner(cfg))], limit=LIMIT)
    return search(cfg.store, query, limit=LIMIT)


def _want(hit: SearchHit) -> None:
    st.session_state[PREVIEW_WANTED] = (hit.job_id, hit.url)


def _open(hit: SearchHit) -> None:
    session.open_job(hit.job_id)
    _want(hit)
