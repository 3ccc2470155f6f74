"""Polars frames the dashboard draws: pages, the quality histogram, skip reasons.

Pure functions of the store's rows; no Streamlit here, so they are tested directly.
"""

from __future__ import annotations

import json
from typing import TypedDict

import polars as pl

from ..records import PageStatus
from ..store import StoreReader

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
    "position": pl.Int64,
    "page_kind": pl.String,
    "reuse": pl.String,
    "source": pl.String,
    "extractor": pl.String,
    "source_note": pl.String,
}


def pages_frame(store: StoreReader, job_id: str) -> pl.DataFrame:
    """One row per URL the job has seen, with a token estimate for completed pages."""
    rows = [{k: r.get(k) for k in PAGE_SCHEMA} for r in store.pages(job_id)]
    df = pl.DataFrame(rows, schema=PAGE_SCHEMA, orient="row") if rows else pl.DataFrame(schema=PAGE_SCHEMA)
    # the site's reading order first (the paste's), then the rest as discovered
    df = df.with_row_index("discovered").sort("position", "discovered", nulls_last=True).drop("discovered")
    return df.with_columns(tokens=(pl.col("words") * 4 // 3).cast(pl.Int64))


def quality_histogram(df: pl.DataFrame) -> pl.DataFrame:
    """Completed pages per quality bin (0-9 ... 90-100); every bin present, in order."""
    scores = df.filter(pl.col("status") == PageStatus.COMPLETED).select(
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


def fidelity_summary(store: StoreReader, job_id: str) -> dict[str, int]:
    """The job's fidelity report: code blocks, tables and headings in the HTML vs the Markdown,
    summed over completed pages, plus how many pages each extractor made."""
    totals = dict.fromkeys(FIDELITY_KEYS, 0)
    extractors: dict[str, int] = {}
    for row in store.pages(job_id, status=PageStatus.COMPLETED):
        extractors[row["extractor"] or "unknown"] = extractors.get(row["extractor"] or "unknown", 0) + 1
        for key, value in json.loads(row["fidelity"] or "{}").items():
            if key in totals:
                totals[key] += value
    return {**totals, **{f"pages by {name}": n for name, n in sorted(extractors.items())}}


def skip_reasons(df: pl.DataFrame, threshold: int | None = None) -> pl.DataFrame:
    """Every URL seen but not crawled, or crawled but left out of the paste, counted by
    reason (duplicates grouped), commonest first."""
    left_out = df.filter(pl.col("status").is_in([PageStatus.SKIPPED, PageStatus.FAILED])).with_columns(
        reason=pl.col("reason").fill_null("(none)").str.replace(r"^duplicate of .*?( \(([\w-]+)\))?$", "duplicate$1")
    )
    if threshold is not None:
        below = df.filter((pl.col("status") == PageStatus.COMPLETED) & (pl.col("quality").fill_null(0) < threshold))
        left_out = pl.concat([left_out, below.with_columns(status=pl.lit(PageStatus.COMPLETED.value),
                                                           reason=pl.lit(f"below threshold {threshold}"))])  # fmt: skip
    return left_out.group_by("status", "reason").len("urls").sort("urls", descending=True)


COMPARISON_RULE = (
    "best paste: the most quality points in pages at or above the threshold per 1,000 tokens of paste, "
    "ties broken by pages/s"
)


def comparison_metrics(store: StoreReader, comparison_id: str, *, first_n: int = 50) -> pl.DataFrame:
    """One row per variant with every metric the Compare page shows."""
    comparison = store.get_comparison(comparison_id)
    rows = []
    for label, job in comparison.jobs:
        df = pages_frame(store, job.id)
        done = df.filter(pl.col("status") == PageStatus.COMPLETED)
        kept = done.filter(pl.col("quality") >= job.settings.quality_threshold)
        times = store.completion_times(job.id)
        fetch = df.filter(pl.col("fetch_ms").is_not_null())["fetch_ms"]
        kept_tokens = int(kept["tokens"].sum() or 0)
        rows.append({
            "variant": label, "job": job.id, "status": job.status, "pages": job.completed, "failed": job.failed,
            "skipped": job.skipped,
            "duplicates": df.filter(pl.col("reason").fill_null("").str.starts_with("duplicate of")).height,
            "pages/s": round(job.pages_per_second, 2), "seconds": round(job.run_seconds, 2),
            "time to first page s": round(times[0], 3) if times else None,
            f"time to {first_n} pages s": round(times[first_n - 1], 3) if len(times) >= first_n else None,
            "mean quality": round(float(done["quality"].mean() or 0), 1),  # type: ignore[arg-type]  # a number
            "median quality": float(done["quality"].median() or 0),  # type: ignore[arg-type]
            "pages above threshold": kept.height, "paste tokens (est.)": kept_tokens,
            "fetch p50 ms": round(float(fetch.quantile(0.5) or 0), 1) if len(fetch) else None,
            "fetch p95 ms": round(float(fetch.quantile(0.95) or 0), 1) if len(fetch) else None,
            "effective concurrency": round(float(fetch.sum() or 0) / 1000 / job.run_seconds, 2)
            if job.run_seconds else None,
            "quality per 1k tokens": round(float(kept["quality"].sum() or 0) / max(1, kept_tokens) * 1000, 2),
        })  # fmt: skip
    return pl.DataFrame(rows)


def best_variant(metrics: pl.DataFrame) -> str | None:
    """The variant with the best paste by COMPARISON_RULE."""
    if metrics.is_empty():
        return None
    ranked = metrics.sort(["quality per 1k tokens", "pages/s"], descending=True)
    return ranked["variant"][0]


def progress_frame(store: StoreReader, comparison_id: str) -> pl.DataFrame:
    """Completed pages against seconds since start, one series per variant."""
    frames = []
    for label, job in store.get_comparison(comparison_id).jobs:
        times = store.completion_times(job.id)
        frames.append(pl.DataFrame({"variant": [label] * len(times), "seconds": times,
                                    "pages": list(range(1, len(times) + 1))}))  # fmt: skip
    return pl.concat(frames) if frames else pl.DataFrame(schema={"variant": pl.String, "seconds": pl.Float64,
                                                                 "pages": pl.Int64})  # fmt: skip


class URLOverlap(TypedDict):
    shared: list[str]  # completed by every variant
    only: dict[str, list[str]]  # by variant label: its completed URLs that not every variant has


def url_overlap(store: StoreReader, comparison_id: str) -> URLOverlap:
    """Completed URLs shared by every variant, and those only one variant has."""
    sets = {label: {r["url"] for r in store.pages(job.id, status=PageStatus.COMPLETED)}
            for label, job in store.get_comparison(comparison_id).jobs}  # fmt: skip
    shared = set.intersection(*sets.values()) if sets else set()
    return {"shared": sorted(shared), "only": {label: sorted(urls - shared) for label, urls in sets.items()}}
