"""IPSet and parse_network: membership for v4, v6 and IPv4-mapped v6, merged ranges, bad input, size."""

from __future__ import annotations

import ipaddress
import random

import pytest

from fixative.ipset import IPSet, parse_network

SET = IPSet(["192.0.2.0/24", "198.51.100.17", "10.0.0.0/8", "2001:db8::/32", "2001:4860:4801:10::/60"])


@pytest.mark.parametrize(
    ("address", "inside"),
    [
        ("192.0.2.0", True), ("192.0.2.255", True), ("192.0.2.128", True),
        ("192.0.1.255", False), ("192.0.3.0", False),
        ("198.51.100.17", True), ("198.51.100.16", False), ("198.51.100.18", False),
        ("10.255.255.255", True), ("11.0.0.0", False), ("9.255.255.255", False),
        ("0.0.0.0", False), ("255.255.255.255", False),
        ("2001:db8::", True), ("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", True), ("2001:db9::", False),
        ("2001:DB8::AbCd", True),
        ("2001:4860:4801:1f::1", True), ("2001:4860:4801:20::1", False), ("2001:4860:4801:f::1", False),
        ("::", False), ("::1", False),
        # IPv4-mapped IPv6 is the IPv4 address (dual-stack sockets report clients this way)
        ("::ffff:192.0.2.5", True), ("::ffff:c000:0205", True), ("::ffff:203.0.113.5", False),
        # not addresses at all
        ("", False), ("nope", False), ("192.0.2.0/24", False), ("192.0.2.256", False), ("192.0.2", False),
        (" 192.0.2.1", False),
    ],
)
def test_membership(address: str, inside: bool) -> None:
    assert (address in SET) is inside


def test_v4_and_v6_do_not_mix() -> None:
    # 0.0.0.0/8 and ::/104 cover the same integers; they must stay apart
    assert "::5" not in IPSet(["0.0.0.0/8"])
    assert "0.0.0.5" not in IPSet(["::/104"])


@pytest.mark.parametrize(
    ("networks", "inside", "outside", "spans"),
    [
        # adjacent halves merge into one interval
        (["10.0.0.0/25", "10.0.0.128/25"], ["10.0.0.0", "10.0.0.127", "10.0.0.128", "10.0.0.255"],
         ["9.255.255.255", "10.0.1.0"], 1),
        # overlapping and nested ranges, in any order
        (["10.0.0.0/16", "10.0.5.0/24", "10.0.255.0/24", "10.0.0.0/8"], ["10.200.0.1", "10.0.5.5"],
         ["11.0.0.0"], 1),
        (["10.0.3.0/24", "10.0.1.0/24", "10.0.2.0/24"], ["10.0.1.0", "10.0.2.128", "10.0.3.255"],
         ["10.0.0.255", "10.0.4.0"], 1),
        # a one-address gap keeps two intervals, and the gap stays outside
        (["10.0.0.0/31", "10.0.0.3/32"], ["10.0.0.0", "10.0.0.1", "10.0.0.3"], ["10.0.0.2", "10.0.0.4"], 2),
        (["2001:db8::/33", "2001:db8:8000::/33"], ["2001:db8:7fff::1", "2001:db8:8000::"], ["2001:db9::"], 1),
        # single addresses
        (["192.0.2.1", "192.0.2.2"], ["192.0.2.1", "192.0.2.2"], ["192.0.2.0", "192.0.2.3"], 1),
    ],
)
def test_merged_ranges(networks: list[str], inside: list[str], outside: list[str], spans: int) -> None:
    ipset = IPSet(networks)
    assert all(a in ipset for a in inside)
    assert not any(a in ipset for a in outside)
    assert len(ipset._starts4) + len(ipset._starts6) == spans
    assert len(ipset) == len(networks)  # the size counts what was given, not the merged intervals


def test_accepts_network_objects_and_host_bits() -> None:
    ipset = IPSet([ipaddress.ip_network("192.0.2.0/24"), "198.51.100.77/24"])
    assert "198.51.100.1" in ipset and "192.0.2.9" in ipset


def test_empty_set() -> None:
    empty = IPSet([])
    assert len(empty) == 0
    assert "192.0.2.1" not in empty and "::1" not in empty


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.0/24", "192.0.2.0/24"),
        ("192.0.2.7/24", "192.0.2.0/24"),
        (" 192.0.2.7 ", "192.0.2.7/32"),
        ("2001:db8::1", "2001:db8::1/128"),
        ("2001:DB8::/32", "2001:db8::/32"),
        ("0.0.0.0/0", "0.0.0.0/0"),
    ],
)
def test_parse_network(text: str, expected: str) -> None:
    assert str(parse_network(text)) == expected


@pytest.mark.parametrize("text", ["", "nope", "192.0.2.0/33", "300.1.1.1", "2001:db8::/129", "192.0.2.0/-1",
                                  "192.0.2.0/24/8", "2001:db8:::1"])
def test_parse_network_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"is not an IP address or CIDR range \(e\.g\. 192\.0\.2\.0/24\)"):
        parse_network(text)


def test_invalid_network_in_set_is_an_error() -> None:
    with pytest.raises(ValueError, match="'10.0.0.0/33' is not an IP address or CIDR range"):
        IPSet(["10.0.0.0/8", "10.0.0.0/33"])


def test_ten_thousand_prefixes() -> None:
    """Every other /24 of 10.0.0.0/8 and every other /48 of 2001:db8::/32: 10,000 prefixes each."""
    v4 = [f"10.{i // 128}.{(i % 128) * 2}.0/24" for i in range(10_000)]
    v6 = [f"2001:db8:{i * 2:x}::/48" for i in range(10_000)]
    ipset = IPSet(v4 + v6)
    assert len(ipset) == 20_000
    nets4 = [ipaddress.ip_network(n) for n in v4]
    nets6 = [ipaddress.ip_network(n) for n in v6]
    assert len(ipset._starts4) == len(ipset._starts6) == 10_000  # nothing adjacent, nothing merged

    rng = random.Random(1234)
    samples = []
    for _ in range(2_000):
        net = rng.choice(nets4)
        samples.append((str(net.network_address + rng.randrange(256)), True))
        samples.append((str(net.network_address + 256 + rng.randrange(256)), False))  # the odd /24 after it
        net6 = rng.choice(nets6)
        samples.append((str(net6.network_address + rng.randrange(2**80)), True))
        samples.append((str(net6.network_address + 2**80 + rng.randrange(2**80)), False))
    samples += [("10.0.0.0", True), ("10.78.30.255", True), ("10.78.31.0", False), ("10.78.32.0", False),
                ("2001:db8:4e1e::", True), ("2001:db8:4e1f::", False), ("2001:db8:4e20::", False),
                ("::ffff:10.3.4.5", True), ("::ffff:10.3.5.5", False)]
    answers = [(a, a in ipset) for a, _ in samples]
    assert answers == samples
