"""Extraction: bytes in, ExtractedPage out. Pure, and run in worker processes.

Holds the page extractor and its parts: HTML parsing, the docs-generator rules (where
the main content is, what chrome is noise), our HTML-to-Markdown converter, quality
scores, fingerprints, token counts (and the short-lived exact counter), generated-page
kinds, and the worker pool that runs extraction beside the event loop.

May import: settings, errors, urls, records. Never fetching, store or crawl.
"""
