"""Every job: status, settings, pages, duration; open, export, resume, refresh, delete; search every site."""

import streamlit as st

from docspasta.ui import jobs_table, session
from docspasta.ui.config import load_config

st.set_page_config(page_title="docspasta · jobs", page_icon="🍝", layout="wide")
cfg = load_config()
session.start(cfg)

st.title("Jobs")
jobs_table.render(cfg)
