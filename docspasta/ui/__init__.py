"""The Streamlit layer: the only part of docspasta that imports Streamlit.

Pages in `app.py` and `pages/` stay thin: they call these helpers, which in turn call
the runner (submit, cancel, pause, resume, delete) and the read-only store views.
"""
