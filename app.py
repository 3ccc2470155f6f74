"""docspasta dashboard: start a crawl, watch it live, inspect it, take the paste.

Thin on purpose: set-up, then either the job in the link (?job=ID) or the form.
All work happens in docspasta/ (the runner's background loop and the store).
"""

import streamlit as st

from docspasta.ui import crawl_form, job_view, session
from docspasta.ui.config import load_config

st.set_page_config(page_title="docspasta", page_icon="🍝", layout="wide")
cfg = load_config()
session.start(cfg)  # start the background loop now: it resumes crawls a restart interrupted
session.owner(cfg)

st.title("docspasta")
st.caption("Turn a documentation website into one clean, LLM-ready Markdown paste.")

job_id = session.current_job_id()
if job_id:
    job_view.render(cfg, job_id)
else:
    crawl_form.render(cfg)
