"""Forward-confirmed reverse DNS: is this address really a host under googlebot.com?

The address's PTR record names hosts; those under the wanted domains are looked up forward (A for
IPv4, AAAA for IPv6) and must include the address again. Anyone can write any PTR for their own
addresses, nobody but Google can make a googlebot.com name resolve to them: both halves are needed.

Async (dnspython), one deadline for the whole check, a bounded number of lookups at once and of
lookups waiting, concurrent asks for the same address share one lookup, and answers (verified or not)
are cached with a TTL in a bounded LRU. A failure or timeout is "not verified", with the reason.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.resolver

from ..facts import ReverseDns
from ..rules.matchers import name_in_domains

log = logging.getLogger(__name__)
V = TypeVar("V")
Key = tuple[str, frozenset[str]]
MAX_NAMES = 4  # forward lookups per address at most: a PTR set can be long, a deadline is short


@dataclass(frozen=True)
class RdnsSettings:
    """The `rdns:` section of the config."""

    enabled: bool = True
    timeout: float = 2.0  # the whole check: waiting for a slot, PTR and forward lookups
    cache_size: int = 10_000  # addresses remembered, verified or not
    ttl: float = 3600.0  # how long an answer is remembered
    failure_ttl: float = 60.0  # a timeout or server failure is retried sooner
    max_lookups: int = 32  # lookups in flight at once; more wait (within the timeout)
    nameservers: tuple[tuple[str, int], ...] = ()  # empty: the system resolver (/etc/resolv.conf)

    @property
    def max_waiting(self) -> int:
        """Lookups allowed to wait for a slot; beyond that a claimed crawler is not verified at once."""
        return self.max_lookups * 8


def parse_nameserver(text: str) -> tuple[str, int]:
    """`192.0.2.53`, `192.0.2.53:5353`, `2001:db8::53` or `[2001:db8::53]:5353` → (address, port)."""
    value = str(text).strip()
    host, port = value, "53"
    if value.startswith("["):
        host, sep, rest = value[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"{text!r}: write an IPv6 server as [ADDRESS]:PORT")
        port = rest[1:] or "53"
    elif value.count(":") == 1:
        host, port = value.split(":")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{text!r}: a name server is an IP address, optionally with :PORT") from None
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: the port must be from 1 to 65535")
    return host, int(port)


RDNS_EXPECTED = ("{enabled: true, timeout: 2, cache_size: 10000, ttl: 3600, failure_ttl: 60, max_lookups: 32, "
                 "nameservers: [HOST or HOST:PORT, ...] (default: the system's)}")
_NUMBERS = {"timeout": (0.1, 30.0), "ttl": (1.0, 604800.0), "failure_ttl": (0.0, 86400.0),
            "cache_size": (1, 10_000_000), "max_lookups": (1, 10_000)}


def parse_rdns(value: Any, line_of: Callable[[str | None], int], problems: list[str],
               where: str) -> RdnsSettings:
    """The config's `rdns:` section (`rdns: false` turns lookups off); each problem is added as
    `where:LINE: rdns: ...`, with the line of the sub-key it is about."""
    def bad(sub: str | None, problem: str) -> None:
        problems.append(f"{where}:{line_of(sub)}: rdns: {problem}. Expected {RDNS_EXPECTED}.")

    if isinstance(value, bool):
        return RdnsSettings(enabled=value)
    if not isinstance(value, dict):
        bad(None, f"expected a mapping or true/false, got {value!r}")
        return RdnsSettings()
    out: dict[str, Any] = {}
    for sub, v in value.items():
        if sub == "enabled":
            if not isinstance(v, bool):
                bad(sub, f"enabled: expected true or false, got {v!r}")
            out[sub] = v is True
        elif sub in _NUMBERS:
            low, high = _NUMBERS[sub]
            whole = isinstance(low, int)
            if isinstance(v, bool) or not isinstance(v, int if whole else (int, float)) or not low <= v <= high:
                kind = "a whole number" if whole else "a number of seconds"
                bad(sub, f"{sub}: expected {kind} from {low:g} to {high:g}, got {v!r}")
                continue
            out[sub] = v if whole else float(v)
        elif sub == "nameservers":
            items = [v] if isinstance(v, str) else v
            if not isinstance(items, list) or not items:
                bad(sub, f"nameservers: expected a list of addresses, got {v!r}")
                continue
            servers = []
            for item in items:
                try:
                    servers.append(parse_nameserver(item))
                except ValueError as e:
                    bad(sub, f"nameservers: {e}")
            out[sub] = tuple(servers)
        else:
            bad(sub, f"{sub}: unknown; use enabled, {', '.join(_NUMBERS)}, nameservers")
    return RdnsSettings(**out)


class TtlCache(Generic[V]):
    """A bounded LRU whose entries expire: at most `size` entries, whatever is put in."""

    def __init__(self, size: int):
        self.size = max(1, size)
        self._items: OrderedDict[Any, tuple[float, V]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: Any, now: float | None = None) -> V | None:
        item = self._items.get(key)
        if item is None:
            return None
        if item[0] <= (time.monotonic() if now is None else now):
            del self._items[key]
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: Any, value: V, ttl: float, now: float | None = None) -> None:
        self._items[key] = ((time.monotonic() if now is None else now) + ttl, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


def make_resolver(settings: RdnsSettings) -> dns.asyncresolver.Resolver:
    """dnspython's async resolver: the configured servers, else /etc/resolv.conf's."""
    if settings.nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(host, port) for host, port in settings.nameservers]
    else:
        resolver = dns.asyncresolver.Resolver()
    resolver.timeout = resolver.lifetime = settings.timeout
    return resolver


class ReverseDnsVerifier:
    """Verifies addresses by forward-confirmed reverse DNS, cached; `verify` answers within the timeout."""

    def __init__(self, settings: RdnsSettings, resolver: Any = None):
        self.settings = settings
        self.cache: TtlCache[ReverseDns] = TtlCache(settings.cache_size)
        self._resolver = resolver
        self._slots = asyncio.Semaphore(settings.max_lookups)
        self._inflight: dict[Key, asyncio.Task[ReverseDns]] = {}
        self.lookups = 0  # started, for tests and metrics

    def cached(self, ip: str, domains: frozenset[str]) -> ReverseDns | None:
        return self.cache.get((ip, domains))

    async def verify(self, ip: str, domains: frozenset[str]) -> ReverseDns:
        """The cached answer, else a lookup (shared with any already running for the same address)."""
        key = (ip, domains)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        task = self._inflight.get(key)
        if task is None:
            if len(self._inflight) >= self.settings.max_waiting:
                return ReverseDns(None, f"not looked up: {len(self._inflight)} lookups already pending")
            task = asyncio.create_task(self._lookup(key))
            self._inflight[key] = task
            task.add_done_callback(lambda _t: self._inflight.pop(key, None))
        return await asyncio.shield(task)

    async def close(self) -> None:
        """Cancel the lookups still running (at shutdown) and wait for them."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _lookup(self, key: Key) -> ReverseDns:
        ip, domains = key
        timeout = self.settings.timeout
        deadline = time.monotonic() + timeout
        started = False
        try:
            async with asyncio.timeout(timeout):
                async with self._slots:
                    started = True
                    self.lookups += 1
                    outcome = await self._check(ip, domains, deadline)
            ttl = self.settings.ttl
        except (TimeoutError, dns.exception.Timeout):
            if not started:  # the flood's fault, not the address's: do not remember it
                return ReverseDns(None, f"not looked up: {self.settings.max_lookups} lookups busy for {timeout:g} s")
            outcome, ttl = ReverseDns(None, f"no answer within {timeout:g} s"), self.settings.failure_ttl
        except dns.exception.DNSException as e:
            outcome, ttl = ReverseDns(None, f"lookup failed: {_describe(e)}"), self.settings.failure_ttl
        self.cache.put(key, outcome, ttl)
        return outcome

    async def _check(self, ip: str, domains: frozenset[str], deadline: float) -> ReverseDns:
        resolver = self._resolver_or_system()

        def left() -> float:
            return max(0.01, deadline - time.monotonic())

        try:
            answer = await resolver.resolve_address(ip, lifetime=left())
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return ReverseDns(None, f"{ip} has no PTR record")
        names = [rr.target for rr in answer]
        wanted = [n for n in names if name_in_domains(_text(n), tuple(domains))]
        if not wanted:
            return ReverseDns(None, f"{ip} → {_text(names[0])}, not under {', '.join(sorted(domains))}")
        address = ipaddress.ip_address(ip)
        rdtype = "AAAA" if address.version == 6 else "A"
        for name in wanted[:MAX_NAMES]:
            try:
                forward = await resolver.resolve(name, rdtype, lifetime=left())
            except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
                continue
            if any(ipaddress.ip_address(rr.address) == address for rr in forward):
                return ReverseDns(_text(name), f"{ip} → {_text(name)} → {ip}, forward-confirmed")
        return ReverseDns(None, f"{ip} → {_text(wanted[0])}, which does not resolve back to {ip}")

    def _resolver_or_system(self) -> Any:
        if self._resolver is None:
            self._resolver = make_resolver(self.settings)  # raises NoResolverConfiguration, a DNSException
        return self._resolver


def _text(name: Any) -> str:
    return str(name).rstrip(".").lower()


def _describe(e: dns.exception.DNSException) -> str:
    if isinstance(e, dns.resolver.NoNameservers):
        return "the name servers failed (SERVFAIL or refused)"
    if isinstance(e, dns.resolver.NoResolverConfiguration):
        return "no name server configured (/etc/resolv.conf, or rdns.nameservers)"
    return type(e).__name__
