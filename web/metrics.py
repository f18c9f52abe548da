"""Prometheus exposition for ``GET /metrics``: this process's HTTP traffic (counted by a
middleware, labelled by route template so ids never multiply the series), its own
process figures, and the system-wide state of :mod:`core.operations` read at scrape time.
Aggregates only: the endpoint is public, so no label names an account or a number."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from core.operations import Snapshot

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class HttpMetrics:
    """One per application (not the process-wide default registry), so several apps in
    one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        self.requests = Counter(
            "trackly_http_requests", "HTTP requests answered, by route and status",
            ["method", "route", "status"], registry=self.registry)
        self.latency = Histogram(
            "trackly_http_request_duration_seconds", "Time to answer, by route",
            ["method", "route"], registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
        # The labelled children, looked up once per label set: labels() takes a lock
        # and builds tuples on every call, a cost the redirect pays per request. Bounded:
        # routes are templates, methods and statuses few.
        self._counts: dict[tuple[str, str, int], Any] = {}
        self._times: dict[tuple[str, str], Any] = {}

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
            elapsed = time.perf_counter() - started
            route = _route_of(request)
            method = request.method
            count = self._counts.get((method, route, status))
            if count is None:
                count = self._counts[(method, route, status)] = self.requests.labels(
                    method, route, str(status))
            count.inc()
            timer = self._times.get((method, route))
            if timer is None:
                timer = self._times[(method, route)] = self.latency.labels(method, route)
            timer.observe(elapsed)

    def exposition(self, snapshot: Snapshot | None) -> web.Response:
        """``snapshot`` None: the database did not answer (``trackly_database_up 0``)."""
        body = generate_latest(self.registry) + generate_latest(_system_registry(snapshot))
        # The classic text format, which every Prometheus version reads (plain names).
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_PLAIN_0_0_4})


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
    ages = Gauge("trackly_heartbeat_age_seconds", "Seconds since a component last beat",
                 ["component"], registry=registry)
    for component, age in sorted(s.heartbeat_ages.items()):
        ages.labels(component).set(age)
    return registry
