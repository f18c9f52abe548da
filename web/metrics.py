"""Prometheus exposition for ``GET /metrics``: this process's HTTP traffic (labelled by
route template so ids never multiply the series) and redirect latency, its click
recorder's lag, its webhook deliveries' latency and its sends by provider, outcome and
provider error code; its own process figures; and the system-wide state of
:mod:`core.operations` read at scrape time (queue, heartbeats, scheduler lag and leader).
Aggregates only: the endpoint is public, so no label names an account or a number.

The per-request figures are kept in :mod:`core.tally` (plain counters on the event
loop's thread: no lock, no allocation per request, which matters on the redirect) and
become Prometheus families only when scraped."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator

from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from core.operations import Snapshot
from core.services import Services
from core.tally import Histogram

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
REDIRECT_ROUTE = ("GET", "/{code}")


class HttpMetrics:
    """One per application (not the process-wide default registry), so several apps in
    one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests: dict[tuple[str, str, str], int] = {}  # (method, route, status)
        self.latency: dict[tuple[str, str], Histogram] = {}  # (method, route)
        self.services: Services | None = None  # set by the app: the process's figures
        self.registry.register(_Collector(self))

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        started = time.perf_counter()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            self.observe((request.method, _route_of(request)), status,
                         time.perf_counter() - started)

    def observe(self, route: tuple[str, str], status: int, seconds: float) -> None:
        """One answer on ``route`` (method, template): the middleware's, and the redirect
        front door's (web.routes.redirect), which answers without the middlewares."""
        key = (*route, _STATUS.get(status) or str(status))
        requests = self.requests
        requests[key] = requests.get(key, 0) + 1
        histogram = self.latency.get(route)
        if histogram is None:
            histogram = self.latency[route] = Histogram()
        histogram.observe(seconds)

    def exposition(self, snapshot: Snapshot | None) -> web.Response:
        """``snapshot`` None: the database did not answer (``trackly_database_up 0``)."""
        body = generate_latest(self.registry) + generate_latest(_system_registry(snapshot))
        # The classic text format, which every Prometheus version reads (plain names).
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


_STATUS = {code: str(code) for code in range(100, 600)}  # no str() per request


def _histogram(name: str, text: str, labels: list[str],
               series: Iterator[tuple[list[str], Histogram]]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, text, labels=labels)
    for values, h in series:
        family.add_metric(values, list(h.cumulative()), h.sum)
    return family


class _Collector(Collector):
    def __init__(self, metrics: HttpMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        requests = CounterMetricFamily("trackly_http_requests",
                                       "HTTP requests answered, by route and status",
                                       labels=["method", "route", "status"])
        for key, n in sorted(m.requests.items()):
            requests.add_metric(list(key), n)
        yield requests
        yield _histogram("trackly_http_request_duration_seconds", "Time to answer, by route",
                         ["method", "route"],
                         ((list(k), h) for k, h in sorted(m.latency.items())))
        redirect = m.latency.get(REDIRECT_ROUTE)
        yield _histogram("trackly_redirect_duration_seconds",
                         "Time to answer a short-link click (GET /{code}), this process",
                         [], iter([([], redirect)] if redirect else []))
        services = m.services
        if services is None:
            return
        recorder = services.redirects.recorder
        yield GaugeMetricFamily(
            "trackly_click_flush_lag_seconds",
            "Age of the oldest click this process has not written yet (0 when none)",
            value=recorder.lag(services.clock.now()))
        yield GaugeMetricFamily("trackly_click_buffer_pending",
                                "Clicks waiting in this process's buffer",
                                value=recorder.pending)
        yield CounterMetricFamily("trackly_clicks_written", "Click rows this process wrote",
                                  value=recorder.written)
        yield CounterMetricFamily("trackly_clicks_dropped",
                                  "Clicks refused because the buffer was full",
                                  value=recorder.dropped)
        yield _histogram("trackly_webhook_delivery_duration_seconds",
                         "Time of one webhook POST to a receiver, this process", [],
                         iter([([], services.webhook_dispatcher.latency)]))
        sends = CounterMetricFamily(
            "trackly_provider_sends",
            "Messages handed to a provider by this process, by provider, outcome "
            "(accepted, rejected, retry, unknown) and the provider's error code",
            labels=["provider", "outcome", "code"])
        for labels, count in sorted(services.providers.sends.counts.items()):
            sends.add_metric(list(labels), count)
        yield sends


def _route_of(request: web.Request) -> str:
    """The route template (``/api/v2/lists/{list_id}``), or ``unmatched`` for a 404."""
    info = request.match_info
    resource = info.route.resource if info.http_exception is None else None
    return resource.canonical if resource is not None else "unmatched"


def _system_registry(s: Snapshot | None) -> CollectorRegistry:
    registry = CollectorRegistry()

    def gauge(name: str, text: str, value: float) -> None:
        Gauge(name, text, registry=registry).set(value)

    gauge("trackly_database_up", "1 when the database answered this scrape", s is not None)
    if s is None:
        return registry
    gauge("trackly_outbox_queued_messages", "Messages waiting in the outbox", s.queued)
    gauge("trackly_outbox_sending_messages", "Messages claimed, outcome not yet known",
          s.sending)
    gauge("trackly_outbox_oldest_queued_age_seconds",
          "Age of the oldest queued message (0 when none)", s.oldest_queued_age or 0.0)
    gauge("trackly_live_workers", "Send workers that beat within the last 15 seconds",
          s.live_workers)
    gauge("trackly_imports_running", "CSV imports running now", s.imports_running)
    gauge("trackly_alerts_open", "Alert conditions open now", s.open_alerts)
    gauge("trackly_scheduler_lag_seconds",
          "How long the oldest due schedule has waited for its run (0 when none)",
          s.scheduler_lag)
    gauge("trackly_scheduler_leaders",
          "Processes leading the scheduler (1 is right; 0: no tick runs)",
          s.scheduler_leaders)
    ages = Gauge("trackly_heartbeat_age_seconds", "Seconds since a component last beat",
                 ["component"], registry=registry)
    for component, age in sorted(s.heartbeat_ages.items()):
        ages.labels(component).set(age)
    return registry
