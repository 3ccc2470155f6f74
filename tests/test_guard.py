"""The address guard's rules, judged without a network (the crawl-level checks are in test_hostile.py)."""

from __future__ import annotations

import ipaddress

import pytest

from docspasta.errors import InvalidSettingError
from docspasta.guard import AddressGuard, is_public, parse_allowed_host
from docspasta.settings import CrawlSettings

NOT_PUBLIC = [
    "127.0.0.1",
    "127.255.255.254",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # CGNAT
    "0.0.0.0",
    "224.0.0.1",
    "239.255.255.250",
    "233.252.0.1",  # multicast that Python calls global
    "255.255.255.255",
    "240.0.0.1",
    "198.18.0.1",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "151.101.1.69", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808",
          "2002:808:808::1"]  # fmt: skip


@pytest.mark.parametrize("address", NOT_PUBLIC)
def test_non_public_addresses_are_refused(address):
    ip = ipaddress.ip_address(address)
    assert not is_public(ip)
    assert AddressGuard().refusal("h", 80, [ip]) == f"blocked: non-public address ({ip})"


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert is_public(ipaddress.ip_address(address))
    assert AddressGuard().refusal("h", 80, [ipaddress.ip_address(address)]) is None


def test_one_private_answer_among_public_ones_refuses_the_host():
    answers = [ipaddress.ip_address("8.8.8.8"), ipaddress.ip_address("10.0.0.5")]
    assert AddressGuard().refusal("rebind.example", 443, answers) == "blocked: non-public address (10.0.0.5)"


def test_allow_hosts_opens_exactly_the_host_and_port_named():
    guard = AddressGuard(allow_hosts=("127.0.0.1:8000", "docs.internal", "[::1]:9000"))
    loopback = [ipaddress.ip_address("127.0.0.1")]
    assert guard.refusal("127.0.0.1", 8000, loopback) is None
    assert guard.refusal("127.0.0.1", 8001, loopback) is not None  # another port stays closed
    assert guard.refusal("localhost", 8000, loopback) is None  # by address: the name resolves to it
    assert guard.refusal("docs.internal", 443, [ipaddress.ip_address("10.9.9.9")]) is None
    assert guard.refusal("[::1]", 9000, [ipaddress.ip_address("::1")]) is None
    assert AddressGuard(allow_private=True).refusal("x", 1, loopback) is None


def test_literal_urls_are_judged_without_dns():
    guard = AddressGuard()
    assert guard.literal_refusal("http://169.254.169.254/latest/meta-data/") == (
        "blocked: non-public address (169.254.169.254)"
    )
    assert guard.literal_refusal("http://[::ffff:a9fe:a9fe]:8080/") == "blocked: non-public address (::ffff:a9fe:a9fe)"
    assert guard.literal_refusal("http://localhost:3000/") == "blocked: non-public address (localhost)"
    assert guard.literal_refusal("https://docs.python.org/3/") is None  # names are judged at connect time
    assert AddressGuard(allow_hosts=("127.0.0.1:81",)).literal_refusal("http://127.0.0.1:81/x") is None


@pytest.mark.parametrize(
    ("entry", "expected"),
    [("127.0.0.1:8000", ("127.0.0.1", 8000)), ("Docs.Internal", ("docs.internal", None)), ("[::1]:9", ("::1", 9))],
)
def test_allowed_host_entries_parse(entry, expected):
    assert parse_allowed_host(entry) == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [("http://x/", "HOST or HOST:PORT"), ("x:0", "port from 1 to 65535"), ("x:99999", "port"), ("", "HOST")],
)
def test_bad_allowed_hosts_are_rejected_by_the_settings(entry, message):
    with pytest.raises(InvalidSettingError, match=message) as caught:
        CrawlSettings(url="https://x.org/", allow_hosts=(entry,))
    assert caught.value.field == "allow_hosts"


def test_the_guard_is_closed_by_default():
    s = CrawlSettings(url="https://x.org/")
    assert s.allow_private is False and s.allow_hosts == ()
