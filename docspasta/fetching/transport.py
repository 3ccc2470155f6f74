"""The httpx transport every crawl request uses: the address guard at connect time.

`GuardedBackend.connect_tcp` resolves the host itself, asks the guard about every
address, and connects to the addresses it checked, so neither DNS rebinding nor a
redirect to an internal name can slip past. TLS still verifies and sends SNI for the
URL's host name: httpcore passes the origin host to start_tls, not the address.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import ssl
from collections.abc import Iterable

import anyio._backends._asyncio  # noqa: F401  # httpcore imports it at the first connection: 50 ms on the loop
import httpcore
import httpx

from ..errors import BlockedAddressError
from ..guard import AddressGuard, IPAddress, parse_ip


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend with resolve-check-connect: the address checked is the one used."""

    def __init__(self, guard: AddressGuard) -> None:
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        addresses = await _resolve(host, port, timeout)
        if (reason := self._guard.refusal(host, port, addresses)) is not None:
            raise BlockedAddressError(reason, host=host)
        last_error: Exception | None = None
        for ip in addresses:  # the checked addresses, in resolver order
            try:
                return await self._inner.connect_tcp(
                    str(ip), port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    async def connect_unix_socket(self, *args: object, **kwargs: object) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("blocked: unix sockets are not crawled", host="")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


async def _resolve(host: str, port: int, timeout: float | None) -> list[IPAddress]:
    if (ip := parse_ip(host)) is not None:
        return [ip]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError:
        raise httpcore.ConnectTimeout(f"DNS lookup of {host} timed out") from None
    except OSError as exc:
        raise httpcore.ConnectError(f"DNS lookup of {host} failed: {exc.strerror or exc}") from None
    addresses: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = parse_ip(str(sockaddr[0]))
        if ip is not None and ip not in addresses:
            addresses.append(ip)
    if not addresses:
        raise httpcore.ConnectError(f"DNS lookup of {host} returned no address")
    return addresses


def guarded_transport(guard: AddressGuard, limits: httpx.Limits) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose every connection goes through the guard.

    httpx has no public hook for the network backend, so the transport's connection pool
    is rebuilt with one (tests/test_guard.py fails if an httpx upgrade bypasses it)."""
    transport = httpx.AsyncHTTPTransport(verify=_tls(), limits=limits, trust_env=False)
    transport._pool = httpcore.AsyncConnectionPool(  # noqa: SLF001
        ssl_context=_tls(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=GuardedBackend(guard),
    )
    return transport


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: loading the CA bundle takes ~25 ms, which every job's
    start would otherwise spend on the event loop (twice: httpx makes one per transport)."""
    return httpx.create_ssl_context()
