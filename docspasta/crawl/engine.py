"""The crawl loop for one job, on asyncio. Nothing heavy runs on the loop: the store is
awaited on its writer thread (store.AsyncWriter), extraction runs in worker processes,
and a page with hundreds of links or a site's sitemaps are judged on a helper thread.

    discovery   fetch the start page (any redirect allowed), fix the scope from its
                final URL, store it with its links
    crawling    loop { claim a batch in strategy order -> fetch concurrently ->
                extract in worker processes -> commit the batch in one transaction },
                with several batches in flight so fetching never waits for extraction
    finalizing  pages left pending when the budget ran out become skipped

Exactness: the store hands out a page only while completed + in-flight < max_pages,
counting every worker's claims, and only completed pages count, so a job never stores
more than max_pages and never fetches a page that could not count. Depth is exact
because BFS claims level by level. Cancel and pause are requests stored on the job, so
they work from any process.

Several workers may run one job on a store that shares jobs (PostgreSQL): one does the
discovery while the others wait for it; each claims, fetches and commits its own pages
under its own leases; requests wait at limits.JobLimits, which counts all of them; the
one that finds nothing pending or in flight anywhere finalizes (`try_finalize`); one
that stops early hands its pages back (`leave`) and the others carry on.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from ..errors import (
    ExtractionError,
    FetchError,
    HTTPStatusError,
    JobNotFoundError,
    KnownTargetError,
    NotHTMLError,
    StoreUnavailableError,
)
from ..extraction.extract import ExtractedPage, ExtractInput, decode_html
from ..extraction.generated import kind_from_url, skip_reason
from ..extraction.outlinks import Outlinks, unpack
from ..extraction.pool import ExtractPool
from ..fetching.fetch import FetchedPage, Fetcher, HopCheck, Validators
from ..guard import AddressGuard
from ..records import (
    Beat,
    Claim,
    Control,
    Earlier,
    Finalize,
    FoundBy,
    JobRecord,
    JobStatus,
    JobStep,
    NewLink,
    PageKind,
    PageOutcome,
    PageSource,
    PageStatus,
    ProcessingMode,
    Reuse,
    StrategyName,
)
from ..store import AsyncWriter
from ..urls import (
    Scope,
    dedup_key,
    directory_of,
    host_of,
    html_siblings,
    is_markdown_path,
    normalize,
)
from .discovery import LlmsReading, listed_twin, read_llms_txt, read_sitemaps
from .limits import JobLimits
from .looplag import LoopLag
from .robots import Robots, RobotsPolicy
from .sources import Sourced, Sources, rendering_refusal
from .strategies import score_url
from .traps import QueryVariants, path_trap

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
IDLE_S = 0.25  # how often a worker with nothing to claim looks again while others have pages in flight
LINKS_OFF_LOOP = 300  # a page with this many links is judged off the event loop
INDEX_CHUNK = 10  # pages indexed for search per writer call: short enough never to hold up a claim for long
INDEX_IDLE_S = 0.005  # how often the indexer looks whether the writer is free
SITEMAP_NEWS = 1000.0  # added to the score of what a sitemap dates after the crawl a refresh refreshes


@dataclass(frozen=True)
class Progress:
    job_id: str
    step: str
    discovered: int
    queued: int
    completed: int
    failed: int
    skipped: int
    max_pages: int
    run_seconds: float

    @property
    def pages_per_second(self) -> float:
        return self.completed / self.run_seconds if self.run_seconds > 0 else 0.0

    @classmethod
    def of(cls, job: JobRecord, run_seconds: float) -> Progress:
        return cls(
            job.id,
            job.step,
            job.discovered,
            job.queued,
            job.completed,
            job.failed,
            job.skipped,
            job.settings.max_pages,
            run_seconds,
        )


ProgressCallback = Callable[[Progress], None]


async def run_job(
    store: AsyncWriter,
    job_id: str,
    *,
    pool: ExtractPool | None = None,
    on_progress: ProgressCallback | None = None,
    worker_slots: asyncio.Semaphore | None = None,
) -> JobRecord:
    """Run (or resume, or join) one job until it ends, or until this worker has nothing
    more to do in it, and return its record.

    Cancelling the awaiting task hands this worker's pages back; a job nobody else runs
    becomes `interrupted` (resumable). `worker_slots` caps a worker's requests across jobs.
    """
    if (done := await store.job(job_id)).status == JobStatus.COMPLETED:
        return done
    _freeze_startup_heap()
    job = await store.acquire(job_id)
    limits = JobLimits(job_id, job.settings, shared=store.limits, worker_slots=worker_slots)
    async with contextlib.AsyncExitStack() as stack:
        if pool is None:
            pool = await stack.enter_async_context(ExtractPool())
        fetcher = await stack.enter_async_context(Fetcher(job.settings, pacer=limits.pacer))
        await _Crawl(store, job, pool, fetcher, limits, on_progress).run()
    return await store.job(job_id)


_heap_frozen = False


def _freeze_startup_heap() -> None:
    """Move what the process holds before its first crawl (modules, settings, the
    extraction pool) out of the garbage collector's sight, once per process: a full
    collection during a crawl then walks only the crawl's own objects (40 ms of loop
    lag on a docs crawl otherwise). Only the first job freezes, so nothing a later
    job leaves behind is kept for good."""
    global _heap_frozen
    if not _heap_frozen:
        gc.freeze()
        _heap_frozen = True


class _Crawl:
    def __init__(
        self,
        store: AsyncWriter,
        job: JobRecord,
        pool: ExtractPool,
        fetcher: Fetcher,
        limits: JobLimits,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.store = store
        self.job = job
        self.settings = job.settings
        self.pool = pool
        self.fetcher = fetcher
        self.limits = limits
        self.on_progress = on_progress
        self.strategy = StrategyName(self.settings.strategy)
        self.beat = Beat(job.control, job.status, job.step)
        self.heard_at = time.monotonic()  # when the store last answered a heartbeat
        self.store_lost = False  # set by the lease watch: the store went unheard past the lease
        self.robots = Robots(self._robots_txt, ignore=self.settings.ignore_robots, on_policy=self._robots_event)
        self.scope: Scope | None = None
        self.query_variants = QueryVariants()
        self.loop_lag = LoopLag()
        self.link_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="docspasta-links")
        if job.scope_host is not None and job.scope_prefix is not None:
            self.scope = self._scope(job.scope_host, job.scope_prefix)
        self.run_seconds = job.run_seconds
        self._beat_at = time.monotonic()
        s = self.settings
        # the start page's lease is not renewed by heartbeats: it covers every attempt at it
        self.discovery_lease = max(300.0, 4 * (s.timeout * (s.retries + 1) + s.extract_timeout))
        self.held: set[str] = set()  # the leases of the batches in flight, renewed by each heartbeat
        self.index_wanted = asyncio.Event()  # pages were committed: index them when the writer is free
        self.batch_size = 1 if s.processing == ProcessingMode.PER_URL else s.batch_size
        self.markdown_site = _markdown_site(job)  # a Docsify-style site's (base, link mode), else None
        self.sources = Sources(s, self._guarded_fetch, self._extract_item, self._job_event)
        self.listed_markdown: frozenset[str] | None = None  # keys of the .md URLs the site's llms.txt lists
        self.listing = asyncio.Lock()
        self.max_batches = max(2, -(-s.concurrency // self.batch_size) + 1)

    # -- the three steps ------------------------------------------------------------

    async def run(self) -> None:
        job_id = self.job.id
        inflight: dict[asyncio.Task[None], int] = {}
        self.loop_lag.start()
        beating = asyncio.create_task(self._beat_every_second())
        indexing = asyncio.create_task(self._index_when_idle())
        main = asyncio.current_task()
        assert main is not None
        watching = asyncio.create_task(self._watch_lease(main)) if self.store.shares_jobs else None
        try:
            if self.job.control is not None:  # asked for before anyone ran the job
                await self._finish(_STOPPED_BY[self.job.control])
                return
            if (why := await asyncio.to_thread(rendering_refusal, self.settings)) is not None:
                await self._finish(JobStatus.FAILED, error=f"rendering unavailable: {why}", step=JobStep.DONE)
                return
            await self._beat()  # who else runs the job decides who discovers
            ready = await self._until_crawling()
            if isinstance(ready, str):
                await self._finish(JobStatus.FAILED, error=ready, step=JobStep.DONE)
                return
            ending = await self._crawl(inflight) if ready else None
            if ending is None:  # another worker ended the job
                await self._leave(inflight)
                return
            if ending != JobStatus.COMPLETED:
                await _cancel_all(inflight)
                await self._finish(ending)
                return
            if watching is not None:
                watching.cancel()  # finalizing holds no lease; a long reading-order pass is not an outage
            if self.job.completed >= self.settings.max_pages:
                await self.store.skip_pending(job_id, "max pages reached")
            await _stop(indexing)
            await self.store.index_pages(job_id)  # whatever the idle time did not reach
            await self.store.store_reading_order(job_id, self.job.start_url)
            await self._finish(JobStatus.COMPLETED, step=JobStep.DONE)
        except asyncio.CancelledError:
            if self.store_lost:
                main.uncancel()
                await _cancel_all(inflight)
                raise StoreUnavailableError(self._lost_message()) from None
            await self._leave(inflight)
            raise
        except StoreUnavailableError:
            await _cancel_all(inflight)  # nothing more can be written: the leases expire, other workers go on
            log.error("job %s: the store is unreachable; this worker stopped without committing", job_id)
            raise
        except Exception as exc:
            await _cancel_all(inflight)
            log.exception("job %s failed", job_id)
            await self._finish(JobStatus.FAILED, error=f"internal error: {type(exc).__name__}: {exc}")
            raise
        finally:
            beating.cancel()
            indexing.cancel()
            if watching is not None:
                watching.cancel()
            self.loop_lag.stop()
            self.link_thread.shutdown(wait=False)
            with contextlib.suppress(Exception):  # the browser, if one was started; nothing to keep in it
                await self.sources.close()

    async def _until_crawling(self) -> str | bool:
        """Get the job past discovery: do it (the first worker), or wait while another
        live worker does it. Returns True to crawl, False if the job ended meanwhile, or
        the error that fails the job."""
        while True:
            if self.job.step == JobStep.CRAWLING:
                return True
            if self.job.step != JobStep.DISCOVERY:  # a worker died finalizing: the next one to run out of pages does it
                if self.beat.others == 0:
                    await self.store.set_step(self.job.id, JobStep.CRAWLING)
                return True
            if self.job.scope_host is None:
                claims = await self.store.claim(self.job.id, 1, self.strategy, self.discovery_lease)
                if claims:
                    await self.store.set_step(self.job.id, JobStep.DISCOVERY)
                    if (error := await self._discover(claims[0])) is not None:
                        return error
                    await self.store.set_step(self.job.id, JobStep.CRAWLING)
                    return True
                if self.beat.others == 0:
                    return "the start page is missing from the frontier"
            elif self.beat.others == 0:  # scope fixed, and whoever was discovering is gone: crawl on
                await self.store.set_step(self.job.id, JobStep.CRAWLING)
                return True
            await asyncio.sleep(HEARTBEAT_S)
            self.job = await self.store.job(self.job.id)
            if self.job.status != JobStatus.RUNNING:
                return False
            if self.scope is None and self.job.scope_host is not None and self.job.scope_prefix is not None:
                self.scope = self._scope(self.job.scope_host, self.job.scope_prefix)
                self.markdown_site = _markdown_site(self.job)

    async def _discover(self, claim: Claim) -> str | None:
        """Crawl the start page alone; it fixes the scope. Returns an error, or None."""
        fetched = await self._fetch(claim, check_hop=None)
        if isinstance(fetched, FetchedPage) and (refused := await self._robots_refusal(fetched.final_url)):
            fetched = PageOutcome(claim.page_id, claim.url, PageStatus.SKIPPED, refused, depth=claim.depth)
        if isinstance(fetched, PageOutcome):
            await self._commit([claim], [fetched])
            if fetched.reason == "robots":
                return f"start page disallowed by robots.txt ({claim.url}); use --ignore-robots for a site you own"
            return f"start page failed: {fetched.reason} ({claim.url})"  # each front end adds its own hint
        host = host_of(fetched.final_url)
        self.scope = self._scope(host, self.settings.scope_prefix or directory_of(fetched.final_url))
        reading = None
        if self.settings.publisher_markdown and self.settings.max_depth >= 1:  # before the start page's twin
            reading = await self._llms_txt()
        elif self.settings.max_depth == 0:
            self.listed_markdown = frozenset()  # one page: its own <link> may name a twin, llms.txt is not read
        outcome = await self._outcome(claim, fetched)
        if (target := next((l.url for l in outcome.links if l.found_by == FoundBy.REFRESH), None)) is not None:
            # a start page that refreshes at once is a redirect: the scope follows it, as it follows HTTP ones
            host = host_of(target)
            self.scope = self._scope(host, self.settings.scope_prefix or directory_of(target))
            links = [l for l in outcome.links if l.url_key != dedup_key(target)]
            outcome = replace(
                outcome, links=links + self._classify((target,), ("",), 1, claim.url, kind=FoundBy.REFRESH)
            )
        title = outcome.title if outcome.status == PageStatus.COMPLETED else None
        base, mode = self.markdown_site or (None, "")
        await self.store.set_scope(self.job.id, host, self.scope.prefix, title, markdown_base=base,
                                   markdown_relative=mode == "docsify-relative")  # fmt: skip
        await self._commit([claim], [outcome])
        await self._after_commit()
        if outcome.status == PageStatus.FAILED:
            return f"start page failed: {outcome.reason} ({claim.url})"
        if self.settings.use_sitemaps and self.settings.max_depth >= 1:  # sitemap URLs are depth 1
            await self._read_sitemaps(fetched.final_url)
        if reading is not None:  # so are llms.txt's
            await self._add_llms_txt_urls(reading)
        return None

    async def _llms_txt(self, probe: bool = True) -> LlmsReading:
        """The site's llms.txt files and what they list; the .md URLs among them are the
        Markdown twins of the HTML pages beside them (`_listed_twin`)."""
        assert self.scope is not None
        origin = self.job.start_url.split("://", 1)[0] + "://" + self.scope.host
        reading = await read_llms_txt(self._fetch_resource, self._probe if probe else _no_probe, origin, self.scope)
        self.listed_markdown = reading.markdown_keys()
        return reading

    async def _listed_twin(self, url: str) -> str | None:
        """The .md URL llms.txt lists for this HTML page (`guide.html.md`, `guide.md`): its twin,
        as if the page named it. A worker that did not read llms.txt at discovery (it joined
        the job, or resumed it) reads it once, without adding what it lists again."""
        if not self.settings.publisher_markdown or self.markdown_site is not None or is_markdown_path(url):
            return None
        if self.listed_markdown is None:
            async with self.listing:
                if self.listed_markdown is None:
                    await self._llms_txt(probe=False)
        assert self.listed_markdown is not None
        return listed_twin(url, self.listed_markdown)

    async def _add_llms_txt_urls(self, reading: LlmsReading) -> None:
        """What the site's llms.txt lists joins the frontier at depth 1 (if in scope), like a sitemap's URLs."""
        if not reading.files and not reading.full:
            return
        found = [(url, 1.0, source) for url, _, source in reading.found]
        links = [replace(l, found_by=FoundBy.LLMS_TXT) for l in self._sitemap_links(found)]
        await self.store.add_discovered(
            self.job.id, links, max_depth=self.settings.max_depth, event_type="llms_txt_read",
            event={"files": reading.files, "full": reading.full, "urls": len(reading.found),
                   "in_scope": sum(l.status == PageStatus.PENDING for l in links)},
        )  # fmt: skip

    async def _probe(self, url: str) -> int | None:
        if await self._robots_refusal(url):
            return None
        async with self.limits.slot(host_of(url)):
            return await self.fetcher.probe(url)

    async def _read_sitemaps(self, start_url: str) -> None:
        """What the site's sitemaps list joins the frontier at depth 1 (if in scope)."""
        assert self.scope is not None
        origin = start_url.split("://", 1)[0] + "://" + self.scope.host
        policy = await self.robots.policy(start_url)
        listed = None if self.settings.ignore_robots else policy.sitemaps  # robots.txt already read: no refetch
        reading = await read_sitemaps(self._fetch_resource, origin, self.scope, listed=listed)
        news = await self._sitemap_news(reading.lastmod)
        loop = asyncio.get_running_loop()  # up to 50,000 URLs: judged on the link thread, off the loop
        links = await loop.run_in_executor(self.link_thread, self._sitemap_links, reading.found, news)
        if reading.files:
            await self.store.add_discovered(
                self.job.id, links, max_depth=self.settings.max_depth,
                event={"files": reading.files, "unreadable": reading.unreadable, "urls": len(reading.found),
                       "in_scope": sum(l.status == PageStatus.PENDING for l in links)},
            )  # fmt: skip

    async def _sitemap_news(self, lastmod: dict[str, float]) -> frozenset[str]:
        """In a refresh: the sitemap entries dated after the earlier crawl started, checked first."""
        if self.job.since_job is None or not lastmod:
            return frozenset()
        try:
            since = (await self.store.job(self.job.since_job)).started_at
        except JobNotFoundError:
            return frozenset()
        return frozenset(loc for loc, when in lastmod.items() if since is None or when > since)

    def _sitemap_links(self, found: list[tuple[str, float, str]], news: frozenset[str] = frozenset()) -> list[NewLink]:
        assert self.scope is not None
        links: dict[str, NewLink] = {}
        for loc, priority, source in found:
            url = normalize(loc)
            if url is None:
                continue
            reason = self.scope.reason_to_skip(url) or self._trap(url) or self._generated(url)
            if reason is None and self.settings.max_depth < 1:
                reason = "depth"
            score = {StrategyName.SITEMAP_FIRST: 10 * priority, StrategyName.BEST_FIRST: score_url(url)}.get(
                self.strategy, 0.0
            ) + (SITEMAP_NEWS if loc in news else 0.0)
            status = PageStatus.PENDING if reason is None else PageStatus.SKIPPED
            key = dedup_key(url)
            links.setdefault(key, NewLink(url, key, 1, source, FoundBy.SITEMAP, status, reason, score))
        return list(links.values())

    async def _fetch_resource(self, url: str, check_hop: HopCheck) -> FetchedPage | None:
        try:
            async with self.limits.slot(host_of(url)):
                return await self.fetcher.fetch(url, check_hop=check_hop, html_only=False)
        except FetchError:
            return None

    async def _crawl(self, inflight: dict[asyncio.Task[None], int]) -> JobStatus | None:
        """Claim, fetch and commit until the job is done (COMPLETED: this worker finalizes
        it), stopped (CANCELLED, PAUSED) or ended by another worker (None)."""
        s = self.settings
        while True:
            beat = self.beat
            if beat.control is not None:
                return _STOPPED_BY[beat.control]
            if beat.status != JobStatus.RUNNING:
                return None
            if len(inflight) < self._batches_to_hold(beat):
                claims = await self.store.claim(
                    self.job.id, self.batch_size, self.strategy, s.lease_seconds, max_pages=s.max_pages
                )
                if claims:
                    self.held.update(c.lease for c in claims if c.lease)
                    inflight[asyncio.create_task(self._batch(claims))] = len(claims)
                    continue
            if not inflight:
                verdict = await self.store.try_finalize(self.job.id, s.max_pages)
                if verdict == Finalize.YOURS:
                    self.job = await self.store.job(self.job.id)
                    return JobStatus.COMPLETED
                if verdict == Finalize.ENDED:
                    return None
                await asyncio.sleep(IDLE_S)  # other workers' pages are in flight: they may add links
                continue
            done, _ = await asyncio.wait(inflight, timeout=HEARTBEAT_S, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                del inflight[task]
                task.result()

    def _batches_to_hold(self, beat: Beat) -> int:
        """Batches this worker keeps claimed at once. Alone, enough to keep fetching while
        others are extracted; beside other workers, its share of that: a page held here
        while it waits for a slot is a page another worker cannot fetch."""
        return max(1, -(-self.max_batches // (beat.others + 1)))

    # -- one batch, one page -----------------------------------------------------------

    async def _batch(self, claims: list[Claim]) -> None:
        try:
            outcomes = await asyncio.gather(*(self._page(c) for c in claims))
            await self._commit(claims, outcomes)
        finally:
            self.held.difference_update(c.lease for c in claims)
        await self._after_commit()

    async def _commit(self, claims: list[Claim], outcomes: list[PageOutcome]) -> None:
        """Store the outcomes, each fenced by its claim's lease: if the lease was lost (this
        run was paused past it and the page claimed again), the store keeps the newer work."""
        fenced = [replace(o, lease=c.lease) for c, o in zip(claims, outcomes, strict=True)]
        await self.store.commit_batch(self.job.id, fenced, max_depth=self.settings.max_depth)
        self.index_wanted.set()

    async def _index_when_idle(self) -> None:
        """Search indexing of committed pages, in the writer's idle time and a few pages at a
        time, so no commit or claim waits for it (indexing in the commit cost the Python-docs
        crawl 17%). What it has not reached when the job ends is indexed then; a page is
        searchable within moments of its commit."""
        while True:
            await self.index_wanted.wait()
            self.index_wanted.clear()
            while True:
                while self.store.calls_waiting:
                    await asyncio.sleep(INDEX_IDLE_S)
                try:
                    if await self.store.index_pages(self.job.id, INDEX_CHUNK) < INDEX_CHUNK:
                        break
                except StoreUnavailableError:
                    break  # the crawl loop meets the outage on its next write

    async def _page(self, claim: Claim) -> PageOutcome:
        assert self.scope is not None
        if (page := await self._page_of_twin(claim.url)) is not None:
            return PageOutcome(claim.page_id, claim.url, PageStatus.SKIPPED, f"Markdown twin of {page}",
                               depth=claim.depth)  # fmt: skip
        fetched = await self._fetch(claim, check_hop=self._check_hop, keep_on_failure=True)
        if isinstance(fetched, PageOutcome):
            return fetched
        return await self._outcome(claim, fetched)

    async def _fetch(
        self, claim: Claim, check_hop: HopCheck | None, *, keep_on_failure: bool = False
    ) -> FetchedPage | PageOutcome:
        """The fetched page, or the outcome that records why there is none. In a refresh the
        request is conditional, and with `keep_on_failure` a page the earlier job completed
        that fails for a passing reason (timeout, 5xx, 429) keeps its earlier outcome."""
        if refused := await self._robots_refusal(claim.url):
            return PageOutcome(claim.page_id, claim.url, PageStatus.SKIPPED, refused, depth=claim.depth)
        try:
            async with self.limits.slot(host_of(claim.url)):
                fetched = await self.fetcher.fetch(claim.url, check_hop=check_hop, validators=self._validators(claim))
        except (NotHTMLError, KnownTargetError) as exc:
            return PageOutcome(claim.page_id, claim.url, PageStatus.SKIPPED, exc.reason, depth=claim.depth)
        except FetchError as exc:
            failed = PageOutcome(
                claim.page_id, claim.url, PageStatus.FAILED, exc.reason, depth=claim.depth, http_status=exc.http_status
            )
            if keep_on_failure and exc.retryable and claim.earlier and claim.earlier.status == PageStatus.COMPLETED:
                return replace(failed, reuse=Reuse.KEPT, links=await self._earlier_links(claim, claim.earlier))
            return failed
        return fetched

    def _validators(self, claim: Claim) -> Validators | None:
        """What a refresh asks again with: the earlier response's ETag or Last-Modified,
        when the earlier outcome can be taken over on a 304 (and `conditional` is on)."""
        earlier = claim.earlier
        if earlier is None or not earlier.reusable or not self.settings.conditional:
            return None
        if not (earlier.etag or earlier.last_modified):
            return None
        return Validators(earlier.final_url or claim.url, earlier.etag, earlier.last_modified)

    async def _outcome(self, claim: Claim, fetched: FetchedPage) -> PageOutcome:
        """A fetched page's outcome: in a refresh, the earlier one when the server says the
        page did not change (304) or sends the very bytes it sent before; else extracted."""
        earlier = claim.earlier
        if earlier is not None and earlier.reusable:
            if fetched.not_modified:
                return await self._reused(claim, fetched, earlier, Reuse.NOT_MODIFIED)
            same_place = fetched.final_url == (earlier.final_url or claim.url)
            if same_place and earlier.body_hash is not None and fetched.body_hash == earlier.body_hash:
                return await self._reused(claim, fetched, earlier, Reuse.SAME_BYTES)
        return await self._extract(claim, fetched)  # (a 304 comes only to validators, sent only when reusable)

    async def _reused(self, claim: Claim, fetched: FetchedPage, earlier: Earlier, how: Reuse) -> PageOutcome:
        """The outcome of a page taken over from the earlier job: this fetch's facts and the
        earlier links (judged again, so scope and depth are today's); the store fills in
        the rest from the earlier row. Nothing is extracted."""
        links = await self._earlier_links(claim, earlier)
        return PageOutcome(status=earlier.status, title=earlier.title, reuse=how, links=links,
                           **_fetch_facts(claim, fetched))  # fmt: skip

    async def _earlier_links(self, claim: Claim, earlier: Earlier) -> list[NewLink]:
        """The links the earlier job found on the page, judged again (scope and depth are today's)."""
        if earlier.outlinks is None:
            return []
        found = unpack(earlier.outlinks)
        classified = await self._classify_links(found.links, found.anchors, claim.depth + 1, claim.url)
        links, _, _ = self._followed(claim, earlier.final_url or claim.url, found, classified)
        return links

    def _followed(
        self, claim: Claim, final_url: str, found: Outlinks, links: list[NewLink]
    ) -> tuple[list[NewLink], NewLink | None, NewLink | None]:
        """A page's judged links, with its meta refresh and rel=canonical, which are followed
        like links (scope, guard, traps, dedup by key): (links, refresh, canonical)."""
        named = ((FoundBy.REFRESH, found.refresh_url), (FoundBy.CANONICAL, found.canonical_url))
        followed = {
            kind: self._classify((url,), ("",), claim.depth + 1, claim.url, kind=kind)[0]
            for kind, url in named
            if url not in (None, final_url, claim.url)
        }
        return links + list(followed.values()), followed.get(FoundBy.REFRESH), followed.get(FoundBy.CANONICAL)

    async def _extract(self, claim: Claim, fetched: FetchedPage) -> PageOutcome:
        """The page from its best source (sources.py): the site's Markdown, its HTML, or its
        rendered DOM; links judged, verdict given."""
        final_url = fetched.final_url
        base = _fetch_facts(claim, fetched)
        mode, base_url = self.sources.markdown_mode(fetched, self.markdown_site)
        item = ExtractInput(
            final_url, fetched.body, fetched.charset, self.settings.keep_html and not mode, mode, base_url
        )
        try:
            page: ExtractedPage = await self._extract_item(item)
            sourced = (
                Sourced(page, PageSource.PUBLISHER_MARKDOWN)
                if mode
                else await self.sources.best(
                    final_url, fetched, page, page.twin_url or await self._listed_twin(final_url)
                )
            )
        except ExtractionError as exc:
            return PageOutcome(status=PageStatus.FAILED, reason=str(exc), **base)
        page = sourced.page
        if page.shell is not None and self.markdown_site is None:  # stored with the scope when this is the start page
            self.markdown_site = (page.shell.base_url, page.shell.markdown_mode)
        anchors = (page.anchors or ("",) * len(page.links)) + ("",) * len(sourced.extra_links)
        found = Outlinks(page.links + sourced.extra_links, anchors, page.refresh_url, page.canonical_url)
        classified = await self._classify_links(found.links, found.anchors, claim.depth + 1, claim.url)
        links, refresh, canonical = self._followed(claim, final_url, found, classified)
        if not_pages := self._not_pages(claim, sourced):
            known = {l.url_key for l in not_pages}
            links = [l for l in links if l.url_key not in known] + not_pages
        status, reason = PageStatus.SKIPPED, None
        if refresh is not None:
            reason = f"meta refresh to {refresh.url}"
        elif page.page_kind is not None and not self.settings.include_generated:
            reason = skip_reason(PageKind(page.page_kind))
        elif page.has_content:
            status = PageStatus.COMPLETED
        else:
            reason = "needs JavaScript" if page.needs_javascript else "no extractable content"
            reason += f" ({sourced.note})" if sourced.note else ""
        canonical_key = canonical.url_key if canonical is not None and canonical.reason in (None, "depth") else None
        return PageOutcome(
            status=status,
            reason=reason,
            extractor=page.extractor,
            tokens=page.tokens,
            sketch=page.sketch if page.has_content else None,
            block_hashes=page.block_hashes,
            fidelity=page.fidelity or None,
            extract_ms=page.extract_ms,
            title=page.title,
            markdown=page.markdown if status == PageStatus.COMPLETED else None,
            quality=page.quality,
            quality_reasons=page.quality_reasons,
            content_hash=page.content_hash,
            words=page.words,
            html_gz=page.html_gz,
            links=links,
            canonical_key=canonical_key,
            next_url=page.next_url,
            prev_url=page.prev_url,
            page_kind=PageKind(page.page_kind) if page.page_kind else None,
            outlinks=page.outlinks,
            source=sourced.source,
            source_note=sourced.note,
            **base,
        )

    async def _page_of_twin(self, url: str) -> str | None:
        """The HTML page the job has for a `.md` URL (llms.txt lists `guide.md`; the crawl has
        `guide.html`): that page takes the file as its twin, so it is not a page of its own."""
        if not self.settings.publisher_markdown or self.markdown_site is not None or not is_markdown_path(url):
            return None
        for candidate in html_siblings(url):
            key = dedup_key(candidate)
            if key != dedup_key(url) and await self.store.page_status(self.job.id, key) in _HELD:
                return candidate
        return None

    async def _extract_item(self, item: ExtractInput) -> ExtractedPage:
        return await self.pool.extract(item, self.settings.extract_timeout)

    def _not_pages(self, claim: Claim, sourced: Sourced) -> list[NewLink]:
        """The Markdown files a page's content came from, recorded as known so that no
        link or llms.txt entry fetches them again as pages of their own."""
        named = [(sourced.twin_url, f"Markdown twin of {claim.url}")] if sourced.twin_url else []
        named += [(url, f"navigation of the Markdown site at {claim.url}") for url in sourced.nav_urls]
        return [NewLink(url, dedup_key(url), claim.depth + 1, claim.url, FoundBy.TWIN, PageStatus.SKIPPED, why)
                for url, why in named]  # fmt: skip

    async def _guarded_fetch(self, url: str) -> FetchedPage | str:
        """A resource a page's content needs (its Markdown twin, what its scripts ask for),
        under the job's rules: robots.txt, the address guard, pacing, slots and size caps.
        The reason when refused; FetchError when the fetch failed."""
        if refused := await self._robots_refusal(url):
            return refused
        async with self.limits.slot(host_of(url)):
            return await self.fetcher.fetch(url, html_only=False)

    async def _job_event(self, kind: str, url: str | None, payload: dict[str, Any]) -> None:
        await self.store.event(self.job.id, kind, url, payload)

    async def _check_hop(self, url: str) -> str | None:
        """A redirect hop must stay in scope, obey robots.txt and not re-fetch a page the job has."""
        assert self.scope is not None
        if (reason := self.scope.reason_to_skip(url)) is not None:
            return reason
        if self.robots.cached_allows(url) is False:
            return "robots"
        if await self.store.page_status(self.job.id, dedup_key(url)) not in (None, PageStatus.SKIPPED):
            raise KnownTargetError(url)
        return None

    async def _classify_links(
        self, urls: tuple[str, ...], anchors: tuple[str, ...], depth: int, source: str
    ) -> list[NewLink]:
        """A page's links, judged; a page with thousands of links (an index, an API listing)
        is judged off the loop, on the one thread that judges links (the trap counters are
        shared), so fetches in flight keep moving."""
        if len(urls) < LINKS_OFF_LOOP:
            return self._classify(urls, anchors, depth, source)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.link_thread, self._classify, urls, anchors, depth, source)

    def _classify(
        self,
        urls: tuple[str, ...],
        anchors: tuple[str, ...],
        depth: int,
        source: str,
        *,
        kind: FoundBy = FoundBy.LINK,
    ) -> list[NewLink]:
        assert self.scope is not None
        links = []
        scored = self.strategy == StrategyName.BEST_FIRST
        for url, anchor in zip(urls, anchors or ("",) * len(urls), strict=False):
            reason = self.scope.reason_to_skip(url) or self._trap(url) or self._generated(url)
            if reason is None and depth > self.settings.max_depth:
                reason = "depth"
            status = PageStatus.PENDING if reason is None else PageStatus.SKIPPED
            score = score_url(url, anchor) if scored and reason in (None, "depth") else 0.0
            links.append(NewLink(url, dedup_key(url), depth, source, kind, status, reason, score))
        return links

    def _trap(self, url: str) -> str | None:
        return path_trap(url) or self.query_variants.reason(url)

    def _generated(self, url: str) -> str | None:
        """A generated page the URL alone tells (genindex, _modules/, search.html): never fetched."""
        if self.settings.include_generated or (kind := kind_from_url(url)) is None:
            return None
        return skip_reason(kind)

    # -- bookkeeping --------------------------------------------------------------------

    async def _robots_refusal(self, url: str) -> str | None:
        """None if robots.txt lets us fetch the URL; else the reason to record."""
        policy = await self.robots.policy(url)
        if policy.allows(url):
            return None
        return "robots" if policy.rules is not None else f"robots: {policy.note}"

    async def _robots_txt(self, url: str) -> tuple[int | None, str | None, str | None]:
        try:
            async with self.limits.slot(host_of(url)):
                fetched = await self.fetcher.fetch(url, html_only=False)
        except HTTPStatusError as exc:
            return exc.http_status, None, None
        except FetchError as exc:
            return None, None, exc.reason
        return fetched.status, decode_html(fetched.body, fetched.charset), None

    async def _robots_event(self, policy: RobotsPolicy) -> None:
        self.fetcher.pacer.set_floor(policy.host, policy.crawl_delay)
        await self.store.event(self.job.id, "robots", f"{policy.host}/robots.txt",
                         {"note": policy.note, "crawl_delay": policy.crawl_delay})  # fmt: skip

    def _scope(self, host: str, prefix: str) -> Scope:
        guard = AddressGuard(self.settings.allow_private, self.settings.allow_hosts)
        s = self.settings
        return Scope(host, prefix, s.include, s.exclude, guard.literal_refusal, s.publisher_markdown)

    async def _after_commit(self) -> None:
        self.job = await self.store.job(self.job.id)
        await self._report(self.job)

    async def _beat_every_second(self) -> None:
        """Liveness for the whole run, discovery included (a long sitemap read must not
        look like a dead worker); the crawl loop reads what the last beat brought back."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            with contextlib.suppress(StoreUnavailableError):  # the crawl loop meets it on its next write
                await self._beat()

    async def _watch_lease(self, main: asyncio.Task[Any]) -> None:
        """Where workers share the job: once the store has not answered a heartbeat for
        longer than the lease, the leases this worker holds may be someone else's, so it
        stops (its work in flight is dropped, not committed) and says so."""
        limit = self.settings.lease_seconds
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            if time.monotonic() - self.heard_at > limit:
                self.store_lost = True
                log.error("job %s: %s", self.job.id, self._lost_message())
                main.cancel()
                return

    def _lost_message(self) -> str:
        silent = time.monotonic() - self.heard_at
        return (
            f"no answer from the store at {self.store.location} for {silent:.0f} s, longer than the "
            f"{self.settings.lease_seconds:g} s lease: this worker stopped without committing its pages in flight"
        )

    async def _beat(self) -> Beat:
        """Record liveness and run time, renew the leases still held, read cancel/pause."""
        now = time.monotonic()
        elapsed, self._beat_at = now - self._beat_at, now
        self.run_seconds += elapsed
        self.beat = await self.store.heartbeat(
            self.job.id, elapsed, renew=sorted(self.held), lease_seconds=self.settings.lease_seconds
        )
        self.heard_at = time.monotonic()
        return self.beat

    async def _finish(self, status: JobStatus, *, error: str | None = None, step: JobStep | None = None) -> None:
        await self._beat()
        if status != JobStatus.COMPLETED:  # a stopped job's pages are searchable too (`--job`)
            await self.store.index_pages(self.job.id)
        await self.store.event(self.job.id, "loop_lag", None, self.loop_lag.summary())
        await self.store.finish(self.job.id, status, error=error, step=step)
        await self._report()

    async def _leave(self, inflight: dict[asyncio.Task[None], int]) -> None:
        """Stop here: the pages this worker holds go back; the job goes on if others run it."""
        leases = sorted(self.held)  # before cancelling: each batch forgets its lease as it ends
        await _cancel_all(inflight)
        await self.store.event(self.job.id, "loop_lag", None, self.loop_lag.summary())
        await self.store.leave(self.job.id, leases)
        await self._report()

    async def _report(self, job: JobRecord | None = None) -> None:
        """Progress for the callback; `job` when the caller has just read it."""
        if self.on_progress is not None:
            now = time.monotonic()
            job = job or await self.store.job(self.job.id)
            self.on_progress(Progress.of(job, self.run_seconds + (now - self._beat_at)))


_STOPPED_BY = {Control.CANCEL: JobStatus.CANCELLED, Control.PAUSE: JobStatus.PAUSED}


async def _no_probe(url: str) -> int | None:
    """For a second reading of llms.txt: whether llms-full.txt exists was noted already."""
    return None


_HELD = (PageStatus.PENDING, PageStatus.PROCESSING, PageStatus.COMPLETED)  # a page the job has or will have


def _markdown_site(job: JobRecord) -> tuple[str, str] | None:
    """A Docsify-style job's Markdown base and how its files' links read, as stored."""
    if job.markdown_base is None:
        return None
    return job.markdown_base, "docsify-relative" if job.markdown_relative else "docsify"


def _fetch_facts(claim: Claim, fetched: FetchedPage) -> dict[str, Any]:
    """What an outcome records of the page's fetch, however its content is had."""
    final_url = fetched.final_url
    return dict(
        page_id=claim.page_id,
        url=claim.url,
        depth=claim.depth,
        final_url=final_url,
        final_key=dedup_key(final_url) if final_url != claim.url else None,
        http_status=fetched.status,
        content_type=fetched.content_type or None,
        fetch_ms=fetched.fetch_ms,
        bytes=len(fetched.body),
        retries=fetched.attempts - 1,
        etag=fetched.etag,
        last_modified=fetched.last_modified,
        body_hash=fetched.body_hash,
    )


async def _stop(task: asyncio.Task[None]) -> None:
    """Cancel a helper task and wait until it has stopped (its writer call answered)."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _cancel_all(tasks: dict[asyncio.Task[None], int]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    tasks.clear()
