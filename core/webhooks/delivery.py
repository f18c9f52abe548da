"""Delivering queued webhook events: claimed from the database outbox, posted outside
any transaction, retried at 1m, 5m, 15m, 1h and 2h after a failure; when the last retry
fails too, the delivery is failed, its endpoint paused (its later events wait) and the
account's owner alerted. A replay (core.webhooks.service) starts an event over and
resumes its endpoint.

Claiming moves ``next_attempt_at`` a lease ahead: two workers never post the same
delivery at once, and one that dies mid-post leaves it due again when the lease ends."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import time
from dataclasses import dataclass

import aiohttp

from core.clock import Clock
from core.crypto import SecretBox
from core.notifications.models import Severity
from core.notifications.service import NotificationService
from core.sql import Params, fetch, ts
from core.tally import Histogram
from core.webhooks import signing
from core.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)

RETRIES = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=15),
           dt.timedelta(hours=1), dt.timedelta(hours=2))
LEASE = dt.timedelta(seconds=60)
TIMEOUT = 10.0  # seconds for one post
CONCURRENCY = 16
BATCH = 200


def paused_alert_key(endpoint_id: int) -> str:
    return f"webhook_paused:{endpoint_id}"


@dataclass(frozen=True)
class Outcome:
    delivery_id: int
    status_code: int | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookDispatcher:
    def __init__(self, *, clock: Clock, box: SecretBox,
                 notifications: NotificationService) -> None:
        self.clock = clock
        self.latency = Histogram()  # seconds per POST to a receiver, this process
        self.box = box
        self.notifications = notifications

    async def deliver_due(self, *, limit: int = BATCH) -> int:
        """Post every due delivery of an active endpoint (up to ``limit``); returns how
        many were tried."""
        claimed = await self._claim(limit)
        if not claimed:
            return 0
        endpoints = {e.id: e for e in await WebhookEndpoint.filter(
            id__in={d.endpoint_id for d in claimed})}
        secrets = {e.id: self.box.open(e.secret_sealed)["secret"] for e in endpoints.values()}
        gate = asyncio.Semaphore(CONCURRENCY)
        timeout = aiohttp.ClientTimeout(total=TIMEOUT)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            async def post(delivery: WebhookDelivery) -> Outcome:
                async with gate:
                    endpoint = endpoints[delivery.endpoint_id]
                    return await self._post(session, endpoint.url,
                                            secrets[endpoint.id], delivery)

            outcomes = await asyncio.gather(*(post(d) for d in claimed))
        await self._record(claimed, list(outcomes), endpoints)
        return len(claimed)

    async def _claim(self, limit: int) -> list[WebhookDelivery]:
        now = self.clock.now()
        p = Params()
        lock = " FOR UPDATE OF d SKIP LOCKED" if p.pg else ""
        rows = await fetch(
            f"UPDATE webhook_delivery SET next_attempt_at = {p(ts(now + LEASE))} "
            "WHERE id IN (SELECT d.id FROM webhook_delivery d JOIN webhook_endpoint e "
            f"ON e.id = d.endpoint_id WHERE d.status = {p(DeliveryStatus.PENDING.value)} "
            f"AND d.next_attempt_at <= {p(ts(now))} "
            f"AND e.status = {p(EndpointStatus.ACTIVE.value)} "
            f"ORDER BY d.next_attempt_at, d.id LIMIT {p(limit)}{lock}) RETURNING id", p)
        if not rows:
            return []
        return await WebhookDelivery.filter(id__in=[r["id"] for r in rows]).order_by("id")

    async def _post(self, session: aiohttp.ClientSession, url: str, secret: str,
                    delivery: WebhookDelivery) -> Outcome:
        body = json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False)
        headers = signing.headers(secret, event_id=delivery.event_id, at=self.clock.now(),
                                  body=body)
        started = time.perf_counter()
        try:
            async with session.post(url, data=body.encode("utf-8"), headers=headers,
                                    allow_redirects=False) as resp:
                await resp.read()
                error = None if 200 <= resp.status < 300 else f"HTTP {resp.status}"
                return Outcome(delivery.id, resp.status, error)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return Outcome(delivery.id, None, f"{type(exc).__name__}: {exc}"[:300])
        finally:
            self.latency.observe(time.perf_counter() - started)

    async def _record(self, claimed: list[WebhookDelivery], outcomes: list[Outcome],
                      endpoints: dict[int, WebhookEndpoint]) -> None:
        now = self.clock.now()
        by_id = {d.id: d for d in claimed}
        exhausted: set[int] = set()
        succeeded: set[int] = set()
        failed: set[int] = set()
        for outcome in outcomes:
            delivery = by_id[outcome.delivery_id]
            delivery.attempts += 1
            delivery.last_attempt_at = now
            delivery.last_status_code = outcome.status_code
            delivery.last_error = outcome.error
            if outcome.ok:
                delivery.status = DeliveryStatus.SUCCEEDED
                delivery.delivered_at = now
                delivery.next_attempt_at = None
                succeeded.add(delivery.endpoint_id)
            elif delivery.attempts <= len(RETRIES):
                delivery.next_attempt_at = now + RETRIES[delivery.attempts - 1]
                failed.add(delivery.endpoint_id)
            else:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                failed.add(delivery.endpoint_id)
                exhausted.add(delivery.endpoint_id)
            await delivery.save(update_fields=[
                "attempts", "last_attempt_at", "last_status_code", "last_error", "status",
                "delivered_at", "next_attempt_at"])
        for endpoint_id in succeeded - failed:
            await WebhookEndpoint.filter(id=endpoint_id).update(
                consecutive_failures=0, last_success_at=now)
        for endpoint_id in failed:
            endpoint = endpoints[endpoint_id]
            endpoint.consecutive_failures += 1
            endpoint.last_failure_at = now
            fields = ["consecutive_failures", "last_failure_at"]
            if endpoint_id in exhausted and endpoint.status == EndpointStatus.ACTIVE:
                endpoint.status = EndpointStatus.PAUSED
                endpoint.paused_at = now
                fields += ["status", "paused_at"]
            await endpoint.save(update_fields=fields)
            if endpoint_id in exhausted:
                await self._alert(endpoint)

    async def _alert(self, endpoint: WebhookEndpoint) -> None:
        log.warning("webhook endpoint %s paused after repeated failures", endpoint.id)
        await self.notifications.raise_alert(
            endpoint.account_id, dedup_key=paused_alert_key(endpoint.id),
            kind="webhook_paused", severity=Severity.HIGH,
            title=f"Webhook endpoint {endpoint.id} paused",
            body=f"Deliveries to {endpoint.url[:200]} failed six times over about 3.5 "
                 "hours. New events wait; replay a delivery to resume the endpoint.",
            data={"endpoint_id": endpoint.id})
