"""Exports: a job's pages as the paste, llms.txt, llms-full.txt, JSONL, a zip, and polars
frames for the dashboard. Streamed page by page from the store's reader.

May import: the store's reader, extraction's fingerprints and tokens, the top-level modules.
"""
