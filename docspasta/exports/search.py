"""Search over crawled docs, for people (the CLI, the dashboard) and agents (the MCP
server): which jobs a search reads, and its hits as Markdown cut to a token budget.

A *site* is a start URL's host plus its scope prefix (`docs.python.org/3/`); its latest
completed crawl is what a search of it reads. Without a site or a job a search reads the
latest crawl of every site.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ..errors import UnknownSiteError
from ..records import JobRecord, SearchHit, Site
from ..store import StoreReader

Count = Callable[[str], int]  # text -> tokens


def find_site(store: StoreReader, site: str) -> Site:
    """A site by its key (`docs.python.org/3/`, scheme and trailing slash optional) or a URL
    under it; UnknownSiteError naming the sites there are."""
    sites = store.sites()
    wanted = _bare(site)
    for known in sites:
        if wanted in (_bare(known.key), _bare(known.start_url)) or wanted == known.job_id:
            return known
    under = [s for s in sites if wanted.startswith(_bare(s.key))]
    if under:
        return max(under, key=lambda s: len(s.key))
    raise UnknownSiteError(site, [s.key for s in sites])


def search_jobs(store: StoreReader, *, site: str | None = None, job: str | None = None) -> list[str]:
    """The jobs a search reads: the one named, a site's latest completed crawl, or every site's."""
    if job is not None:
        return [store.get_job(job).id]  # JobNotFoundError for an unknown one
    if site is not None:
        return [find_site(store, site).job_id]
    return [s.job_id for s in store.sites()]


def search(
    store: StoreReader, query: str, *, site: str | None = None, job: str | None = None, limit: int = 10
) -> list[SearchHit]:
    return store.search(query, search_jobs(store, site=site, job=job), limit=limit)


def hits_markdown(hits: list[SearchHit], max_tokens: int, count: Count) -> str:
    """The hits as Markdown, best first, within `max_tokens`: each leads with its page URL and
    heading path (no other URL comes before the first hit's), then the section. A section
    that does not fit whole is cut at a line, saying where the rest is; the first hit is
    always there, cut if need be."""
    if not hits:
        return "No section matches. Try other words, or list_sites() for what is crawled."
    budget = max_tokens
    while True:  # pieces counted apart can sum to less than the whole (tokens merge at the joins): check it
        text = _fit_hits(hits, budget, count)
        over = count(text) - max_tokens
        if over <= 0 or budget <= 0:
            return text
        budget -= over + 8


def _fit_hits(hits: list[SearchHit], max_tokens: int, count: Count) -> str:
    out: list[str] = []
    used = 0
    for n, hit in enumerate(hits, 1):
        head = f"[{n}] {hit.url} — {hit.heading_path}\n\n"
        piece = head + hit.markdown.strip() + "\n\n"
        cost = count(piece)
        if used + cost <= max_tokens:
            out.append(piece)
            used += cost
            continue
        room = max_tokens - used - count(head) - 30  # the note that follows a cut
        if room > 50 or not out:
            note = f'\n\n… (cut to fit the token budget; get_page("{hit.url}") has the whole page)\n\n'
            out.append(head + cut_to(hit.markdown.strip(), max(room, 0), count) + note)
        break
    return "".join(out).rstrip() + "\n"


def cut_to(text: str, budget: int, count: Count) -> str:
    """The longest run of whole lines from the start of `text` within `budget` tokens (binary
    search over line ends: a handful of counts, whatever the text's length)."""
    if count(text) <= budget:
        return text
    ends = [m.start() for m in re.finditer("\n", text)] + [len(text)]
    lo, hi = 0, len(ends) - 1
    best = 0
    while lo <= hi:
        mid = (lo + hi) // 2
        if count(text[: ends[mid]]) <= budget:
            best, lo = ends[mid], mid + 1
        else:
            hi = mid - 1
    return text[:best]


def freshness(job: JobRecord, now: float) -> str:
    """How old a site's latest crawl is, in words."""
    if job.finished_at is None:
        return "not finished"
    days = (now - job.finished_at) / 86400
    if days < 1:
        return f"{max(0, int(days * 24))} h old"
    return f"{int(days)} days old"


def _bare(text: str) -> str:
    return re.sub(r"^[a-z]+://", "", text.strip().lower()).rstrip("/")
