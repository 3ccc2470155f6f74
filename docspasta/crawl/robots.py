"""robots.txt by RFC 9309: fetched once per host before any page, cached for the job.

A 4xx answer means no rules (allow all); a 5xx or no answer at all means the site may be
down, so nothing is fetched from it (disallow all), and the crawl says so. Rules are
parsed by Protego (what Scrapy uses: `*` and `$` wildcards, longest match wins).
Crawl-delay is honoured, capped so one host cannot stall a job for hours.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from protego import Protego

from ..urls import host_of

MAX_CRAWL_DELAY_S = 10.0
PRODUCT_TOKEN = "docspasta"  # matched against User-agent groups (RFC 9309 product token)

# url -> (HTTP status or None, body text or None, error text or None)
FetchRobots = Callable[[str], Awaitable[tuple[int | None, str | None, str | None]]]


@dataclass(frozen=True)
class RobotsPolicy:
    host: str
    rules: Protego | None
    allow_all: bool
    note: str
    crawl_delay: float = 0.0
    sitemaps: tuple[str, ...] = ()

    def allows(self, url: str) -> bool:
        if self.rules is None:
            return self.allow_all
        return bool(self.rules.can_fetch(url, PRODUCT_TOKEN))


def policy_from_response(host: str, status: int | None, text: str | None, error: str | None) -> RobotsPolicy:
    """What a robots.txt answer means for the crawl (RFC 9309, section 2.3.1)."""
    if status is None and (error or "").startswith("blocked:"):  # the guard refuses the host's pages just the same
        return RobotsPolicy(host, None, True, f"robots.txt not fetched ({error})")
    if status is None:
        return RobotsPolicy(host, None, False, f"robots.txt unreachable ({error}): nothing on {host} is fetched")
    if status >= 500:
        return RobotsPolicy(host, None, False, f"robots.txt answered HTTP {status}: nothing on {host} is fetched")
    if status >= 400:
        return RobotsPolicy(host, None, True, f"robots.txt answered HTTP {status}: every page on {host} is allowed")
    rules = Protego.parse(text or "")
    delay = float(rules.crawl_delay(PRODUCT_TOKEN) or 0.0)
    note = f"robots.txt read for {host}"
    if delay > MAX_CRAWL_DELAY_S:
        note += f"; Crawl-delay {delay:g} s capped to {MAX_CRAWL_DELAY_S:g} s"
        delay = MAX_CRAWL_DELAY_S
    elif delay:
        note += f"; Crawl-delay {delay:g} s"
    return RobotsPolicy(host, rules, True, note, delay, tuple(rules.sitemaps))


@dataclass
class Robots:
    """The job's robots.txt policies, one fetch per host (Crawl-delay is enforced by pacing.HostPacer)."""

    fetch: FetchRobots
    ignore: bool = False
    on_policy: Callable[[RobotsPolicy], Awaitable[None]] | None = None
    _policies: dict[str, RobotsPolicy] = field(default_factory=dict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def policy(self, url: str) -> RobotsPolicy:
        scheme, host = url.split("://", 1)[0], host_of(url)
        if self.ignore:
            return RobotsPolicy(host, None, True, "robots.txt ignored (--ignore-robots)")
        if host in self._policies:
            return self._policies[host]
        async with self._locks.setdefault(host, asyncio.Lock()):
            if host not in self._policies:
                status, text, error = await self.fetch(f"{scheme}://{host}/robots.txt")
                policy = policy_from_response(host, status, text, error)
                self._policies[host] = policy
                if self.on_policy is not None:
                    await self.on_policy(policy)
        return self._policies[host]

    def cached_allows(self, url: str) -> bool | None:
        """For synchronous checks (redirect hops): None when the host's policy is not known yet."""
        if self.ignore:
            return True
        policy = self._policies.get(host_of(url))
        return policy.allows(url) if policy is not None else None
