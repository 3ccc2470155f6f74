"""docspasta dashboard (placeholder until the dashboard issue lands)."""

import streamlit as st

st.set_page_config(page_title="docspasta", page_icon="🍝")
st.title("docspasta")
st.write("Turn a documentation website into one clean, LLM-ready Markdown paste.")
st.info("The dashboard is coming. Meanwhile: `docspasta crawl https://docs.example.org/ --out paste.md`")
