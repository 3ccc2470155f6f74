"""The address guard: a crawl reaches only globally routable addresses unless told otherwise.

docspasta runs where anyone can type a URL, so a URL is untrusted input that could point
at cloud metadata (169.254.169.254), a router admin page or a database on localhost.
Checking the URL's host name is not enough: a public name can resolve to 10.0.0.5,
resolve differently a second later (DNS rebinding), or be reached by a redirect. So
the check happens where the socket is opened: `GuardedBackend.connect_tcp` resolves the
name itself, refuses if any address is not global, and connects to the address it
checked (transport.py). Every request goes through it: start page, redirect hops,
robots.txt, sitemaps, retries. This module holds the rules; it does no I/O.

IPv6 forms that embed an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96,
6to4 2002::/16, Teredo) are unwrapped and the embedded address is judged too.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from .errors import InvalidSettingError
from .urls import host_of

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 translation form carries (and so would reach), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_public(ip: IPAddress) -> bool:
    """Globally routable unicast. Translation forms are judged by the IPv4 address they carry;
    Teredo (2001::/32) is not global, so it is refused without unwrapping."""
    if (inner := embedded_ipv4(ip)) is not None:
        return is_public(inner)
    if isinstance(ip, ipaddress.IPv4Address) and ip.is_reserved:
        return False
    return ip.is_global and not ip.is_multicast and not ip.is_unspecified


def parse_ip(host: str) -> IPAddress | None:
    """The address a URL host spells literally (brackets and zone stripped), else None."""
    text = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def parse_allowed_host(entry: str) -> tuple[str, int | None]:
    """`HOST` or `HOST:PORT` (IPv6 in brackets) -> (lower-cased host, port or None)."""
    text = entry.strip().lower()
    if not text or any(c in text for c in "/?#@ "):
        raise InvalidSettingError("allow_hosts", entry, "HOST or HOST:PORT, e.g. 127.0.0.1:8000 or docs.internal")
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = _port(entry, rest.removeprefix(":"))
    elif text.count(":") == 1:
        host, _, raw = text.partition(":")
        port = _port(entry, raw)
    if not host:
        raise InvalidSettingError("allow_hosts", entry, "HOST or HOST:PORT, e.g. 127.0.0.1:8000 or docs.internal")
    return host, port


def _port(entry: str, raw: str) -> int:
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise InvalidSettingError("allow_hosts", entry, "HOST:PORT with a port from 1 to 65535")
    return int(raw)


@dataclass(frozen=True)
class AddressGuard:
    """What a job may connect to: public addresses, plus whatever the user opened deliberately."""

    allow_private: bool = False
    allow_hosts: tuple[str, ...] = ()
    _allowed: tuple[tuple[str, int | None], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allowed", tuple(parse_allowed_host(h) for h in self.allow_hosts))

    def opened_for(self, host: str, port: int) -> bool:
        """True when the user allowed this host (by name or address), and port if they gave one."""
        if self.allow_private:
            return True
        host = host.strip("[]").lower()
        return any(h == host and (p is None or p == port) for h, p in self._allowed)

    def refusal(self, host: str, port: int, addresses: Iterable[IPAddress]) -> str | None:
        """The reason to refuse a connection to `host:port` resolving to `addresses`, or None."""
        if self.opened_for(host, port):
            return None
        for ip in addresses:
            if not is_public(ip) and not self.opened_for(str(ip), port):
                return f"blocked: non-public address ({ip})"
        return None

    def literal_refusal(self, url: str) -> str | None:
        """Refuse a URL whose host is a literal non-public address, without a DNS lookup.

        For discovered links and sitemap entries (normalised URLs): cheap, and it records the
        right reason early. Names are judged at connect time."""
        host, port = _split_authority(host_of(url), 443 if url.startswith("https:") else 80)
        ip = parse_ip(host)
        if ip is not None:
            return self.refusal(host, port, [ip])
        if _is_localhost_name(host) and not self.opened_for(host, port):
            return "blocked: non-public address (localhost)"
        return None


def _split_authority(authority: str, default_port: int) -> tuple[str, int]:
    if authority.startswith("["):
        host, _, rest = authority.partition("]")
        port = rest.removeprefix(":")
        return host + "]", int(port) if port.isdigit() else default_port
    host, _, port = authority.partition(":")
    return host, int(port) if port.isdigit() else default_port


def _is_localhost_name(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == "localhost" or host.endswith(".localhost")


GuardAudience = Literal["cli", "api", "dashboard", "hosted"]


def guard_hint(reason: str | None, audience: GuardAudience = "cli") -> str:
    """What to add to a refusal, for the person reading it where they read it: how to open
    the guard deliberately (the CLI's flags, the local dashboard's box), or, on a hosted
    dashboard where nobody can open it, that it crawls public sites only."""
    if "blocked: non-public address" not in (reason or ""):
        return ""
    if audience == "hosted":
        return ". This hosted dashboard crawls public sites only: private, local and internal addresses stay closed"
    how = {
        "cli": "with --allow-host HOST:PORT or --allow-private",
        "api": "with allow_hosts=['HOST:PORT'] or allow_private=True",
        "dashboard": "with the 'Allow private/local addresses' box (or the CLI's --allow-host HOST:PORT)",
    }[audience]
    return f". It is refused because a URL is untrusted input; for a site on your own network, open the guard {how}"
