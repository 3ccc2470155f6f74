"""Polars frames the dashboard draws: pages, the quality histogram, skip reasons.

Pure functions of the store's rows; no Streamlit here, so they are tested directly.
"""

from __future__ import annotations

import json
import os

import polars as pl

from .reads import pages

HISTOGRAM_BINS = [f"{lo}-{lo + 9}" for lo in range(0, 90, 10)] + ["90-100"]

PAGE_SCHEMA = {
    "url": pl.String,
    "title": pl.String,
    "depth": pl.Int64,
    "status": pl.String,
    "quality": pl.Int64,
    "words": pl.Int64,
    "fetch_ms": pl.Float64,
    "extract_ms": pl.Float64,
    "http_status": pl.Int64,
    "reason": pl.String,
    "found_by": pl.String,
    "seq": pl.Int64,
}


def pages_frame(db_path: str | os.PathLike[str] | None, job_id: str) -> pl.DataFrame:
    """One row per URL the job has seen, with a token estimate for completed pages."""
    rows = [{k: r.get(k) for k in PAGE_SCHEMA} for r in pages(db_path, job_id)]
    df = pl.DataFrame(rows, schema=PAGE_SCHEMA, orient="row") if rows else pl.DataFrame(schema=PAGE_SCHEMA)
    return df.with_columns(tokens=(pl.col("words") * 4 // 3).cast(pl.Int64))


def quality_histogram(df: pl.DataFrame) -> pl.DataFrame:
    """Completed pages per quality bin (0-9 ... 90-100); every bin present, in order."""
    scores = df.filter(pl.col("status") == "completed").select(
        bin=pl.min_horizontal(pl.col("quality").fill_null(0) // 10, pl.lit(9))
    )
    counts = scores.group_by("bin").len("pages")
    frame = pl.DataFrame(
        {"bin": list(range(10)), "quality": HISTOGRAM_BINS}, schema={"bin": pl.Int64, "quality": pl.String}
    )
    return (
        frame.join(counts.with_columns(pl.col("bin").cast(pl.Int64)), on="bin", how="left")
        .with_columns(pl.col("pages").fill_null(0).cast(pl.Int64))
        .sort("bin")
        .select("quality", "pages")
    )


FIDELITY_KEYS = ("pre_in", "fences_out", "tables_in", "tables_out", "headings_in", "headings_out")


def fidelity_summary(db_path: str | os.PathLike[str] | None, job_id: str) -> dict[str, int]:
    """The job's fidelity report: code blocks, tables and headings in the HTML vs the Markdown,
    summed over completed pages, plus how many pages each extractor made."""
    totals = dict.fromkeys(FIDELITY_KEYS, 0)
    extractors: dict[str, int] = {}
    for row in pages(db_path, job_id, status="completed"):
        extractors[row["extractor"] or "unknown"] = extractors.get(row["extractor"] or "unknown", 0) + 1
        for key, value in json.loads(row["fidelity"] or "{}").items():
            if key in totals:
                totals[key] += value
    return {**totals, **{f"pages by {name}": n for name, n in sorted(extractors.items())}}


def skip_reasons(df: pl.DataFrame) -> pl.DataFrame:
    """Skipped and failed URLs counted by reason, commonest first."""
    return (
        df.filter(pl.col("status").is_in(["skipped", "failed"]))
        .with_columns(reason=pl.col("reason").fill_null("(none)").str.replace(r"^duplicate of .*", "duplicate"))
        .group_by("status", "reason")
        .len("urls")
        .sort("urls", descending=True)
    )
