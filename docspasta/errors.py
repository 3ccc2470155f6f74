"""Every error docspasta raises on purpose, in one tree.

    DocspastaError                      base: catch this to catch all of ours
    ├── InvalidSettingError             a setting is out of range or malformed (names the field)
    │   └── InvalidURLError             a URL that is not an absolute http(s) URL
    ├── StoreError                      the job store cannot do what was asked
    │   ├── JobNotFoundError            no job with that id in this database
    │   ├── JobBusyError                another live process is running that job
    │   ├── RefreshRefusedError         a job that cannot be refreshed yet (still running)
    │   ├── NotARefreshError            a change report asked of a job that refreshes nothing
    │   └── StoreUnavailableError       the database stayed unreachable longer than a lease
    ├── InvalidQueryError               a search query without a word to search for
    ├── UnknownSiteError                no completed crawl of that site in the store
    ├── FetchError                      one page could not be fetched (recorded, crawl goes on)
    │   ├── FetchTimeoutError           no complete response within the time limit
    │   ├── HTTPStatusError             the server answered with an error status
    │   ├── NotHTMLError                the response is not an HTML page
    │   ├── ResponseTooLargeError       the body exceeded the size cap
    │   ├── RedirectError               too many redirects, a loop, or a hop out of scope
    │   ├── KnownTargetError            a redirect leads to a page the job already has (a duplicate)
    │   ├── ConnectError                DNS, refused connection, TLS or protocol failure
    │   └── RenderError                 the browser could not render the page in time
    ├── RenderingUnavailableError       rendering was required but Chromium or Playwright is missing
    ├── ExtractionError                 HTML could not be turned into Markdown
    │   └── ExtractionTimeoutError      extraction exceeded its per-page limit
    └── ExportError                     an export could not be built or written
        ├── UnknownFormatError          an export format docspasta does not make
        └── ExportWriteError            the file it goes to cannot be written

Messages are written for the person running the crawl: they say what was wrong and,
where it helps, what would be accepted instead. Foreign errors (httpx, sqlite3, psycopg) are
translated into these in exactly one place each (fetching/fetch.py, and each store backend's writer and reader).
"""

from __future__ import annotations

from typing import Any


class DocspastaError(Exception):
    """Base class of every error docspasta raises on purpose."""


class InvalidSettingError(DocspastaError, ValueError):
    """A crawl setting is invalid; nothing was stored."""

    def __init__(self, field: str, value: Any, expected: str) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        super().__init__(f"{field}: {value!r} is not allowed; expected {expected}")


class InvalidURLError(InvalidSettingError):
    """A URL is not an absolute http(s) URL."""


class StoreError(DocspastaError):
    """The job store cannot do what was asked."""


class StoreUnavailableError(StoreError):
    """The database stayed out of reach past the time a worker may wait for it (its lease):
    whatever it still holds is left to expire, and it commits nothing more."""


class JobNotFoundError(StoreError, LookupError):
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job {job_id!r} in this database (see `docspasta jobs`)")


class JobBusyError(StoreError):
    def __init__(self, job_id: str, worker: str) -> None:
        self.job_id = job_id
        self.worker = worker
        super().__init__(f"job {job_id} is being run by {worker}; wait for it or cancel it")


class RefreshRefusedError(StoreError):
    def __init__(self, job_id: str, status: str) -> None:
        self.job_id = job_id
        self.status = status
        super().__init__(
            f"job {job_id} is {status}: a refresh needs a job that has ended; wait for it, or cancel it first"
        )


class NotARefreshError(StoreError):
    def __init__(self, job_id: str, detail: str | None = None) -> None:
        self.job_id = job_id
        super().__init__(
            detail
            or f"job {job_id} is not a refresh, so it has no change report; make one with `docspasta refresh {job_id}`"
        )


class UnknownSiteError(DocspastaError, LookupError):
    """No completed crawl of that site in this store."""

    def __init__(self, site: str, known: list[str]) -> None:
        self.site = site
        listing = ", ".join(known[:20]) + (" …" if len(known) > 20 else "") if known else "none yet"
        super().__init__(f"no completed crawl of {site!r} in this store; the sites are: {listing}")


class InvalidQueryError(DocspastaError, ValueError):
    """A search query with nothing to search for."""

    def __init__(self, query: str) -> None:
        self.query = query
        super().__init__(f"the search query {query!r} has no words to search for; give one or more words")


class FetchError(DocspastaError):
    """One page failed to fetch. `reason` is the short text stored with the page."""

    retryable = False

    def __init__(self, reason: str, *, http_status: int | None = None) -> None:
        self.reason = reason
        self.http_status = http_status
        super().__init__(reason)

    def __str__(self) -> str:  # `reason` grows as retries add context
        return self.reason


class FetchTimeoutError(FetchError):
    retryable = True


class HTTPStatusError(FetchError):
    def __init__(self, status: int, *, retry_after: float | None = None) -> None:
        self.retry_after = retry_after
        super().__init__(f"HTTP {status}", http_status=status)

    @property
    def retryable(self) -> bool:  # type: ignore[override]
        return self.http_status == 429 or (self.http_status or 0) >= 500


class NotHTMLError(FetchError):
    """Skipped, not failed: the URL is a file, not a page."""


class ResponseTooLargeError(FetchError):
    pass


class RedirectError(FetchError):
    pass


class MalformedResponseError(FetchError):
    """The server broke HTTP (e.g. headers past the parser's limit): retrying will not help."""


class KnownTargetError(FetchError):
    """Skipped, not failed: following the redirect would fetch a page the job already has."""

    def __init__(self, target: str) -> None:
        self.target = target
        super().__init__(f"duplicate of {target} (redirect)")


class BlockedAddressError(FetchError):
    """The address guard refused a connection: the host is (or resolves to) a non-public address."""

    def __init__(self, reason: str, *, host: str) -> None:
        self.host = host
        super().__init__(reason)


class ConnectError(FetchError):
    retryable = True


class RenderError(FetchError):
    """Headless Chromium could not render a page (crashed, or missed the render deadline);
    the page keeps what its HTML gave, with this reason."""


class RenderingUnavailableError(DocspastaError):
    """`render=always` asked for a browser this machine does not have."""

    def __init__(self, why: str) -> None:
        self.why = why
        super().__init__(f"rendering unavailable: {why}")


class ExtractionError(DocspastaError):
    pass


class ExtractionTimeoutError(ExtractionError):
    pass


class ExportError(DocspastaError):
    """An export could not be built or written; what is stored is untouched."""


class UnknownFormatError(ExportError, ValueError):
    def __init__(self, fmt: str, formats: tuple[str, ...]) -> None:
        self.format = fmt
        super().__init__(f"unknown export format {fmt!r}; choose one of {', '.join(formats)}")


class ExportWriteError(ExportError):
    """The export's file cannot be written (an earlier file of that name is untouched)."""
