"""Compare: one site under several strategies and settings, side by side."""

import streamlit as st

from docspasta.ui import compare_view, session
from docspasta.ui.config import load_config

st.set_page_config(page_title="docspasta · compare", page_icon="🍝", layout="wide")
cfg = load_config()
session.start(cfg)

st.title("Compare")
st.caption("Which settings give the best paste, fastest? Run the same site under 2-4 variants.")
compare_view.render(cfg)
