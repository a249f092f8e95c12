"""Prometheus metrics, in a registry of their own: cheap counters bumped from the response hook,
and gauges read from the Runtime at scrape time.

Request and rule counters carry a `site` label: the site's name with `sites:` ("-" for a Host no
site has), "" with one site (the event log's site is null there). With `sites:`, fixative_site_*
gauges give each site's clients, mode and rules; the unlabelled gauges are the whole proxy's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ..runtime import Runtime
from ..verdict import Decision

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self, runtime: Callable[[], Runtime | None]):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "fixative_requests",
            "Requests decided, by verdict and treatment given",
            ["site", "verdict", "treatment", "applied"],
            registry=self.registry,
        )
        self.rule_hits = Counter(
            "fixative_rule_hits",
            "Rules that fired (each reason of each decision)",
            ["site", "rule"],
            registry=self.registry,
        )
        self.treatment_seconds = Histogram(
            "fixative_treatment_seconds",
            "Time from the origin's response to the altered one",
            ["treatment"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.registry.register(_RuntimeCollector(runtime))
        # observe() runs on every response: it only adds to plain counts, which reach the Prometheus
        # counters when they are read (render(), in the same event loop). Bounded: sites, verdicts,
        # treatments and rules are fixed sets.
        self._requests: dict[tuple[str, str, str, bool], int] = {}
        self._hits: dict[tuple[str, str], int] = {}

    def observe(
        self, decision: Decision, treatment: str, applied: bool, seconds: float | None, site: str = ""
    ) -> None:
        """Count one decided request of `site` ("" with one site); label values come from fixed sets."""
        key = (site, decision.verdict, treatment, applied)
        self._requests[key] = self._requests.get(key, 0) + 1
        for reason in decision.reasons:
            hit = (site, reason.name)
            self._hits[hit] = self._hits.get(hit, 0) + 1
        if seconds is not None:
            self.treatment_seconds.labels(treatment).observe(seconds)

    def render(self) -> bytes:
        self.flush()
        return generate_latest(self.registry)

    def flush(self) -> None:
        """Hand the counts observed since the last read to the Prometheus counters."""
        requests, self._requests = self._requests, {}
        hits, self._hits = self._hits, {}
        for (site, verdict, treatment, applied), n in requests.items():
            self.requests.labels(site, verdict, treatment, "true" if applied else "false").inc(n)
        for (site, rule), n in hits.items():
            self.rule_hits.labels(site, rule).inc(n)


class _RuntimeCollector:
    """Reads live numbers from whatever Runtime is current when Prometheus scrapes."""

    def __init__(self, runtime: Callable[[], Runtime | None]):
        self.runtime = runtime

    def describe(self) -> list[Metric]:
        return []

    def collect(self) -> Iterator[Metric]:
        rt = self.runtime()
        if rt is None:
            return
        cache = rt.renderer.cache
        yield _counter(
            "fixative_render_cache_hits", "Altered images served from the render cache", cache.hits
        )
        yield _counter(
            "fixative_render_cache_misses", "Altered images that had to be rendered", cache.misses
        )
        looked = cache.hits + cache.misses
        yield _gauge(
            "fixative_render_cache_hit_ratio",
            "Render cache hits / lookups (0 before any lookup)",
            cache.hits / looked if looked else 0.0,
        )
        yield _gauge("fixative_render_cache_bytes", "Bytes held in the render cache", cache.size)
        yield _counter(
            "fixative_render_failures",
            "Renders that failed, timed out or were refused",
            rt.renderer.failures + rt.renderer.timeouts + rt.renderer.overloaded,
        )
        sites = rt.sites.items()
        yield _gauge(
            "fixative_clients_tracked",
            "Clients with behaviour state in memory (every site's)",
            len(rt.clients) + sum(len(site.clients) for _, site in sites),
        )
        yield _counter(
            "fixative_events_written", "Events written to the event log", rt.events.written
        )
        yield _counter(
            "fixative_events_dropped",
            "Events dropped (queue full or write error)",
            rt.events.dropped,
        )
        yield _gauge(
            "fixative_enforcing",
            "1 in enforce mode, 0 in observe mode (the whole proxy's; see fixative_site_enforcing)",
            1.0 if rt.enforcing else 0.0,
        )
        yield _gauge("fixative_rules_loaded", "Rules in force", len(rt.rules.rules))
        yield _gauge(
            "fixative_uptime_seconds",
            "Seconds since the runtime was built",
            time.time() - rt.started,
        )
        if rt.sharing is not None:
            yield from _shared(rt.sharing.link.status())
        if sites:
            yield _per_site("fixative_site_clients_tracked", "Clients with behaviour state in memory, by site",
                            {name: len(site.clients) for name, site in sites})
            yield _per_site("fixative_site_enforcing", "1 where the site is in enforce mode, 0 in observe mode",
                            {name: 1.0 if site.enforcing else 0.0 for name, site in sites})
            yield _per_site("fixative_site_rules_loaded", "Rules in force, by site",
                            {name: len(site.rules.rules) for name, site in sites})


def _shared(link: dict[str, Any]) -> Iterator[Metric]:
    """With `shared:`: is Redis answering, and what waits or was lost while it was not."""
    yield _gauge("fixative_shared_state_up", "1 while Redis answers, 0 while this instance judges on local state",
                 1.0 if link["up"] else 0.0)
    yield _counter("fixative_shared_state_outages", "Times Redis stopped answering", float(link["outages"]))
    yield _gauge("fixative_shared_state_pending_clients", "Clients whose changes wait to be written to Redis",
                 float(link["pending_clients"]))
    yield _counter("fixative_shared_state_lost_clients",
                   "Clients whose waiting changes were dropped (the backlog's cap) during an outage",
                   float(link["lost_clients"]))


def _counter(name: str, doc: str, value: float) -> Metric:
    family = CounterMetricFamily(name, doc)
    family.add_metric([], value)
    return family


def _per_site(name: str, doc: str, values: dict[str, float]) -> Metric:
    family = GaugeMetricFamily(name, doc, labels=["site"])
    for site, value in values.items():
        family.add_metric([site], value)
    return family


def _gauge(name: str, doc: str, value: float) -> Metric:
    family = GaugeMetricFamily(name, doc)
    family.add_metric([], value)
    return family
