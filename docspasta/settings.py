"""CrawlSettings: every knob of a crawl, validated once, documented once.

Each field carries in its `metadata` its documentation, bounds, CLI flag and, when the
New-crawl form shows it, its label: the CLI's options (`cli.setting_options`), the
form's fields (`form_fields`, rendered by `ui/crawl_form.py`) and the README table all
come from here, so a new setting is one edit here plus its use. Construction validates;
an invalid value raises InvalidSettingError naming the field, the value and what is
allowed.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .errors import InvalidSettingError
from .guard import parse_allowed_host
from .records import ProcessingMode, RenderMode, StrategyName
from .urls import check_start_url, compile_glob

PROCESSING_MODES = tuple(ProcessingMode)
STRATEGIES = tuple(StrategyName)
RENDER_MODES = tuple(RenderMode)
DEFAULT_USER_AGENT = "docspasta/0.1 (documentation-to-Markdown crawler; +python-httpx)"


def _f(
    default: Any,
    doc: str,
    *,
    flag: str,
    lo: float | None = None,
    hi: float | None = None,
    metavar: str | None = None,
    envvar: str | None = None,
    label: str | None = None,
    choices: tuple[str, ...] = (),
    step: float | None = None,
    placeholder: str | None = None,
    **kw: Any,
) -> Any:
    """A setting: its default, its documentation, its bounds, its CLI flag and (if the
    form shows it) its label, in one place. A flag spelled `--no-...` turns a setting
    that defaults to true off; `choices` make the form's field a select box."""
    metadata = {"doc": doc, "lo": lo, "hi": hi, "flag": flag, "metavar": metavar, "envvar": envvar,
                "label": label, "choices": choices, "step": step, "placeholder": placeholder}  # fmt: skip
    return field(default=default, metadata=metadata, **kw)


@dataclass(frozen=True)
class CrawlSettings:
    url: str = field(
        metadata={
            "doc": "Start URL: an absolute http:// or https:// URL.",
            "label": "Documentation URL",
            "placeholder": "https://docs.example.org/",
        }  # fmt: skip
    )
    max_pages: int = _f(
        50,
        "Stop after this many completed pages (exact; failed, skipped and duplicate pages do not count).",
        lo=1,
        hi=100_000,
        flag="--max-pages",
        label="Max pages",
    )
    max_depth: int = _f(
        2,
        "Follow links at most this many hops from the start page (shortest link distance).",
        lo=0,
        hi=100,
        flag="--depth",
        label="Max depth",
    )
    concurrency: int = _f(
        8, "Fetches in flight at once for the job.", lo=1, hi=256, flag="--concurrency", label="Concurrency"
    )
    per_host_concurrency: int = _f(
        8,
        "Fetches in flight to one host at once (httpx slows down beyond a few).",
        lo=1,
        hi=256,
        flag="--per-host-concurrency",
    )
    batch_size: int = _f(
        20,
        "Pages claimed from the frontier and committed to the store together.",
        lo=1,
        hi=1000,
        flag="--batch-size",
        label="Batch size",
    )
    quality_threshold: int = _f(
        20,
        "Pages scoring below this (0-100) are left out of the paste; re-tunable after the crawl.",
        lo=0,
        hi=100,
        flag="--threshold",
        label="Quality threshold",
    )
    timeout: float = _f(
        10.0,
        "Seconds one request may take in all (connect, headers and the whole body).",
        lo=0.1,
        hi=600,
        flag="--timeout",
        label="Per-page timeout (s)",
        step=0.5,
    )
    retries: int = _f(
        2,
        "Extra attempts for timeouts, connection errors, 429 and 5xx (4xx are never retried).",
        lo=0,
        hi=10,
        flag="--retries",
    )
    min_delay: float = _f(
        0.0,
        "Seconds between requests to one host at least; robots.txt Crawl-delay and 429/503 back-off can raise it.",
        lo=0,
        hi=60,
        flag="--delay",
    )
    include: tuple[str, ...] = _f(
        (),
        "Glob patterns for URL paths to keep (any match keeps); `*` stays in one segment, `**` crosses them.",
        flag="--include",
        metavar="GLOB",
        label="Include patterns (one per line)",
        placeholder="/docs/**",
    )
    exclude: tuple[str, ...] = _f(
        (),
        "Glob patterns for URL paths to drop; exclusion wins over inclusion.",
        flag="--exclude",
        metavar="GLOB",
        label="Exclude patterns (one per line)",
        placeholder="**/changelog*",
    )
    scope_prefix: str | None = _f(
        None,
        "Only crawl paths under this prefix. Default: the directory of the start page's final URL after redirects.",
        flag="--scope-prefix",
    )
    user_agent: str = _f(DEFAULT_USER_AGENT, "User-Agent header sent with every request.", flag="--user-agent")
    headers: tuple[tuple[str, str], ...] = _f(
        (), "Extra request headers as (name, value) pairs.", flag="--header", metavar="'NAME: VALUE'"
    )
    keep_html: bool = _f(
        True,
        "Store each page's raw HTML (compressed) so it can be re-extracted without re-fetching.",
        flag="--no-keep-html",
    )
    strategy: str = _f(
        "bfs",
        "Frontier order. One of: " + ", ".join(STRATEGIES) + ".",
        flag="--strategy",
        metavar="|".join(StrategyName),
        label="Strategy",
        choices=STRATEGIES,
    )
    ignore_robots: bool = _f(
        False,
        "Do not obey robots.txt rules and Crawl-delay (only for sites you own).",
        flag="--ignore-robots",
        label="Ignore robots.txt (only for a site you own)",
    )
    allow_private: bool = _f(
        False,
        "Let the crawl reach private, loopback and link-local addresses (refused by default: a URL is untrusted "
        "input). Never on when the dashboard is hosted.",
        flag="--allow-private",
        envvar="DOCSPASTA_ALLOW_PRIVATE",
        label="Allow private/local addresses",
    )
    allow_hosts: tuple[str, ...] = _f(
        (),
        "Hosts the crawl may reach even if they are not public, as HOST or HOST:PORT (e.g. 127.0.0.1:8000).",
        flag="--allow-host",
        metavar="HOST[:PORT]",
    )
    use_sitemaps: bool = _f(
        True, "Also discover pages from robots.txt Sitemap lines and sitemap.xml (as depth 1).", flag="--no-sitemaps"
    )
    include_generated: bool = _f(
        False,
        "Also crawl and export generated pages: indexes, search pages, source listings, print views (skipped by "
        "default, never fetched when the URL tells; a source listing comes out as one fenced code block).",
        flag="--include-generated",
        label="Include generated pages (indexes, search, source listings)",
    )
    processing: str = _f(
        "batched",
        "batched: claim batch_size pages, fetch them concurrently, commit once; per-url: claim, fetch and "
        "commit one page at a time (same concurrency).",
        flag="--processing",
        metavar="|".join(ProcessingMode),
        label="Processing",
        choices=PROCESSING_MODES,
    )
    max_bytes: int = _f(
        10 * 1024 * 1024,
        "Largest response body accepted, in bytes (enforced while streaming).",
        lo=1024,
        hi=1024**3,
        flag="--max-bytes",
    )
    extract_timeout: float = _f(
        30.0,
        "Seconds extraction of one page may take before the page fails and its worker is replaced.",
        lo=0.1,
        hi=600,
        flag="--extract-timeout",
    )
    conditional: bool = _f(
        True,
        "A refresh asks again with If-None-Match / If-Modified-Since and takes a 304 as unchanged; off, it "
        "downloads every page (for a server that sends the same ETag for changed content). Unchanged bytes "
        "are still never extracted twice.",
        flag="--no-conditional",
    )
    publisher_markdown: bool = _f(
        True,
        "Take a page's Markdown from the site itself when it publishes it (a `.md` twin named by "
        '<link rel="alternate" type="text/markdown">, the .md files llms.txt lists, a Docsify site\'s files), '
        "checked against the HTML and falling back to it with the reason.",
        flag="--no-publisher-markdown",
        label="Use the site's own Markdown (llms.txt, .md twins)",
    )
    render: str = _f(
        "auto",
        "Run pages' JavaScript in headless Chromium: never; auto (only pages whose HTML is an empty app "
        "shell); always (every page). A rendered page costs about a second in a browser tab (p50 1.1 s in "
        "bench/sources.py) instead of milliseconds, and Chromium several hundred MB; needs chromium installed. "
        "Every request the page makes goes "
        "through the crawl's own fetcher (address guard, robots.txt, pacing, size cap); images, fonts and "
        "media are never fetched.",
        flag="--render",
        metavar="|".join(RenderMode),
        label="Render JavaScript pages",
        choices=RENDER_MODES,
    )
    render_timeout: float = _f(
        15.0, "Seconds one page may take to render before it keeps what its HTML gave.", lo=1, hi=120,
        flag="--render-timeout",
    )  # fmt: skip
    render_pages: int = _f(2, "Pages rendered at once (each is a browser tab).", lo=1, hi=16, flag="--render-pages")
    render_memory_mb: int = _f(
        1024, "The browser is restarted once its processes hold more than this many MB.", lo=128, hi=65536,
        flag="--render-memory",
    )  # fmt: skip
    lease_seconds: float = _f(
        60.0,
        "Seconds a claimed page stays with the process crawling it unless renewed (every second while it "
        "runs): how soon the pages of a process that died go back to the queue.",
        lo=5,
        hi=3600,
        flag="--lease",
    )

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _validate_field(self, f)
        check_start_url(self.url)
        for name in ("include", "exclude"):
            for pattern in getattr(self, name):
                compile_glob(pattern, field=name)
        for entry in self.allow_hosts:
            parse_allowed_host(entry)
        if self.scope_prefix is not None and not self.scope_prefix.startswith("/"):
            raise InvalidSettingError("scope_prefix", self.scope_prefix, "a URL path starting with '/'")

    # -- conversion -----------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CrawlSettings:
        """Build from plain data (JSON, CLI options, form values); unknown keys are an error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidSettingError(unknown[0], data[unknown[0]], "a known setting: " + ", ".join(sorted(known)))
        values = dict(data)
        for name in ("include", "exclude", "allow_hosts"):
            if name in values and values[name] is not None:
                values[name] = tuple(values[name])
        if "headers" in values and values["headers"] is not None:
            raw = values["headers"]
            pairs = raw.items() if isinstance(raw, Mapping) else raw
            values["headers"] = tuple((str(k), str(v)) for k, v in pairs)
        if "url" not in values:
            raise InvalidSettingError("url", None, "a start URL")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["include"] = list(self.include)
        data["exclude"] = list(self.exclude)
        data["allow_hosts"] = list(self.allow_hosts)
        data["headers"] = [list(p) for p in self.headers]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CrawlSettings:
        return cls.from_dict(json.loads(text))

    def replace(self, **changes: Any) -> CrawlSettings:
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, dict[str, Any]] = {
    "Documentation": {"batch_size": 20, "concurrency": 30, "timeout": 5.0},
    "Large site": {"batch_size": 50, "concurrency": 50, "timeout": 3.0},
    "Careful": {"batch_size": 10, "concurrency": 10, "timeout": 8.0},
}


def cli_flags() -> dict[str, str]:
    """Each setting's CLI flag (`URL` for the start URL): errors name what the user typed."""
    return {f.name: f.metadata.get("flag", "URL") for f in dataclasses.fields(CrawlSettings)}


class Widget(StrEnum):
    """How the New-crawl form asks for a setting (from its type and choices)."""

    TEXT = "text"
    NUMBER = "number"
    SELECT = "select"
    CHECKBOX = "checkbox"
    LINES = "lines"  # a tuple of strings, one a line


@dataclass(frozen=True)
class FormField:
    """One field of the New-crawl form, made from a setting's metadata."""

    name: str
    label: str
    widget: Widget
    doc: str
    default: Any  # as the widget holds it (lines joined, no URL)
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()
    placeholder: str | None = None


def form_fields() -> list[FormField]:
    """The form's fields, in settings order: every setting that has a label."""
    fields = []
    for f in dataclasses.fields(CrawlSettings):
        meta, kind = f.metadata, str(f.type)
        if not meta.get("label"):
            continue
        if meta.get("choices"):
            widget = Widget.SELECT
        elif kind == "bool":
            widget = Widget.CHECKBOX
        elif kind.startswith("tuple"):
            widget = Widget.LINES
        elif kind in ("int", "float"):
            widget = Widget.NUMBER
        else:
            widget = Widget.TEXT
        default = f.default if f.default is not dataclasses.MISSING else ""
        if widget == Widget.LINES:
            default = "\n".join(default)
        fields.append(FormField(f.name, meta["label"], widget, meta["doc"], default, meta.get("lo"), meta.get("hi"),
                                meta.get("step"), meta.get("choices", ()), meta.get("placeholder")))  # fmt: skip
    return fields


def setting_field(name: str) -> dataclasses.Field[Any]:
    return next(f for f in dataclasses.fields(CrawlSettings) if f.name == name)


def field_docs() -> dict[str, str]:
    """Setting name -> its one-line documentation (for CLI help, README and UI)."""
    return {f.name: f.metadata["doc"] for f in dataclasses.fields(CrawlSettings)}


def _validate_field(settings: CrawlSettings, f: dataclasses.Field) -> None:
    value = getattr(settings, f.name)
    lo, hi = f.metadata.get("lo"), f.metadata.get("hi")
    expected_type = {"int": int, "float": float, "bool": bool, "str": str}.get(str(f.type))
    if expected_type is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidSettingError(f.name, value, f"a whole number from {lo:g} to {hi:g}")
    elif expected_type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise InvalidSettingError(f.name, value, f"a number from {lo:g} to {hi:g}")
        object.__setattr__(settings, f.name, float(value))
    elif expected_type is bool and not isinstance(value, bool):
        raise InvalidSettingError(f.name, value, "true or false")
    elif expected_type is str and not isinstance(value, str):
        raise InvalidSettingError(f.name, value, "text")
    elif str(f.type) == "tuple[str, ...]":
        if isinstance(value, str) or not isinstance(value, (tuple, list)) or not all(isinstance(v, str) for v in value):
            raise InvalidSettingError(f.name, value, "a list of strings")
        object.__setattr__(settings, f.name, tuple(value))
    if lo is not None and not (lo <= value <= hi):
        kind = "a whole number" if expected_type is int else "a number"
        raise InvalidSettingError(f.name, value, f"{kind} from {lo:g} to {hi:g}")
    if (choices := f.metadata.get("choices")) and value not in choices:
        raise InvalidSettingError(f.name, value, "one of " + ", ".join(choices))


def validation_errors(values: Mapping[str, Any]) -> dict[str, str]:
    """Every invalid field in `values` with its message (empty if valid).

    Construction stops at the first bad field; a form wants them all, so each bad field
    is swapped for its default (or a placeholder URL) and validation runs again.
    """
    errors: dict[str, str] = {}
    trial = dict(values)
    defaults = {f.name: f.default for f in dataclasses.fields(CrawlSettings)}
    for _ in range(len(defaults) + 1):
        try:
            CrawlSettings.from_dict(trial)
            return errors
        except InvalidSettingError as exc:
            if exc.field in errors or exc.field not in defaults:
                errors.setdefault(exc.field, str(exc))
                return errors
            errors[exc.field] = str(exc)
            trial[exc.field] = "https://placeholder.invalid/" if exc.field == "url" else defaults[exc.field]
    return errors
