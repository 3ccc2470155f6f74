"""Comparison runs: one site crawled under several settings, grouped and measured alike.

A variant is a comma-separated list of setting=value pairs over a shared base, e.g.
`strategy=best-first,batch_size=50`. Variants run one after another by default, so
each has the machine to itself and timings are fair, or all at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from ..errors import InvalidSettingError
from ..extraction.pool import ExtractPool
from ..settings import CrawlSettings
from ..store import AsyncWriter
from .engine import run_job

MAX_VARIANTS = 4
MODES = ("sequential", "parallel")
_TYPES = {f.name: str(f.type) for f in dataclasses.fields(CrawlSettings)}


def parse_variant(text: str) -> dict[str, Any]:
    """`strategy=dfs,batch_size=5` -> {"strategy": "dfs", "batch_size": 5}."""
    values: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, raw = part.partition("=")
        name, raw = name.strip().replace("-", "_"), raw.strip()
        if not sep or not name:
            raise InvalidSettingError("variant", text, "setting=value pairs separated by commas")
        if name not in _TYPES or name == "url":
            raise InvalidSettingError("variant", name, "a crawl setting such as strategy, batch_size, concurrency")
        values[name] = _coerce(name, raw)
    return values


def build_variants(url: str, base: dict[str, Any], texts: list[str]) -> list[tuple[str, CrawlSettings]]:
    """Validated (label, settings) pairs; an invalid variant raises naming the variant."""
    if not 2 <= len(texts) <= MAX_VARIANTS:
        raise InvalidSettingError("variants", len(texts), f"2 to {MAX_VARIANTS} variants")
    variants = []
    for text in texts:
        try:
            settings = CrawlSettings.from_dict({**base, "url": url, **parse_variant(text)})
        except InvalidSettingError as exc:
            raise InvalidSettingError(f"variant {text!r}: {exc.field}", exc.value, exc.expected) from None
        variants.append((text.strip() or "base", settings))
    return variants


async def run_comparison(store: AsyncWriter, job_ids: list[str], *, mode: str = "sequential",
                         pool: ExtractPool | None = None) -> None:  # fmt: skip
    """Run the comparison's jobs one after another (fair timing) or all at once."""
    async with _pool(pool) as shared:
        if mode == "parallel":
            await asyncio.gather(*(run_job(store, job_id, pool=shared) for job_id in job_ids))
        else:
            for job_id in job_ids:
                await run_job(store, job_id, pool=shared)


class _pool:
    """The given pool, or one made (and closed) for this comparison: workers warm once."""

    def __init__(self, pool: ExtractPool | None) -> None:
        self.given = pool
        self.made: ExtractPool | None = None

    async def __aenter__(self) -> ExtractPool:
        if self.given is not None:
            return self.given
        self.made = ExtractPool()
        await self.made.start()
        return self.made

    async def __aexit__(self, *exc: object) -> None:
        if self.made is not None:
            await self.made.close()


def _coerce(name: str, raw: str) -> Any:
    kind = _TYPES[name]
    try:
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise InvalidSettingError(name, raw, f"a {'whole ' if kind == 'int' else ''}number") from None
    if kind == "bool":
        if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
            raise InvalidSettingError(name, raw, "true or false")
        return raw.lower() in ("true", "1", "yes")
    if name in ("include", "exclude"):
        return [p for p in raw.split("|") if p]
    return raw
