"""Outbound webhook endpoints of an account: create (the signing secret shown once),
list, delete, the delivery log, and replaying a delivery."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from core.clock import Clock
from core.crypto import SecretBox
from core.errors import NotFound, ValidationError
from core.events import EventType
from core.notifications.models import Severity
from core.notifications.service import NotificationService
from core.pagination import Page
from core.permissions import Action, Actor
from core.webhooks import signing
from core.webhooks.delivery import paused_alert_key
from core.webhooks.emitter import WebhookEmitter
from core.webhooks.models import (
    DeliveryStatus,
    EndpointStatus,
    WebhookDelivery,
    WebhookEndpoint,
)

MAX_ENDPOINTS = 20  # per account


@dataclass(frozen=True)
class CreatedEndpoint:
    endpoint: WebhookEndpoint
    secret: str  # shown once


def clean_url(url: str) -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationError("url is required.", code="missing_url", field="url")
    try:
        parts = urlsplit(url)
        scheme, host = parts.scheme, parts.hostname
    except ValueError:  # "http://[::1" and the like
        scheme, host = "", None
    if len(url) > 2048 or scheme not in ("http", "https") or not host:
        raise ValidationError("url must be an http(s) URL with a host, up to 2048 "
                              "characters.", code="invalid_url", field="url")
    return url


def clean_events(events: Sequence[str] | None) -> list[str]:
    if not events:
        raise ValidationError("events must name at least one of: "
                              + ", ".join(e.value for e in EventType) + ".",
                              code="missing_events", field="events")
    out: list[str] = []
    for name in events:
        try:
            value = EventType(name).value
        except ValueError:
            raise ValidationError(f"Unknown event {name[:40]!r}; the events are: "
                                  + ", ".join(e.value for e in EventType) + ".",
                                  code="invalid_events", field="events") from None
        if value not in out:
            out.append(value)
    return out


class WebhookService:
    def __init__(self, *, clock: Clock, box: SecretBox, emitter: WebhookEmitter,
                 notifications: NotificationService) -> None:
        self.clock = clock
        self.box = box
        self.emitter = emitter
        self.notifications = notifications

    async def create(self, actor: Actor, *, url: str, events: Sequence[str] | None
                     ) -> CreatedEndpoint:
        actor.require(Action.MANAGE_KEYS)
        url, names = clean_url(url), clean_events(events)
        if await WebhookEndpoint.filter(account_id=actor.account_id).count() >= MAX_ENDPOINTS:
            raise ValidationError(f"An account has at most {MAX_ENDPOINTS} webhook "
                                  "endpoints.", code="too_many_endpoints")
        secret = signing.new_secret()
        endpoint = await WebhookEndpoint.create(
            account_id=actor.account_id, url=url, events=names,
            secret_sealed=self.box.seal({"secret": secret}))
        self.emitter.invalidate(actor.account_id)
        return CreatedEndpoint(endpoint, secret)

    async def list(self, actor: Actor, *, page: int, per_page: int) -> Page[WebhookEndpoint]:
        actor.require(Action.READ)
        query = WebhookEndpoint.filter(account_id=actor.account_id)
        total = await query.count()
        return Page(await query.order_by("id").offset((page - 1) * per_page).limit(per_page),
                    total)

    async def get(self, actor: Actor, endpoint_id: int) -> WebhookEndpoint:
        actor.require(Action.READ)
        endpoint = await WebhookEndpoint.get_or_none(id=endpoint_id,
                                                     account_id=actor.account_id)
        if endpoint is None:
            raise NotFound(f"No webhook endpoint {endpoint_id}.", code="webhook_not_found")
        return endpoint

    async def delete(self, actor: Actor, endpoint_id: int) -> None:
        """The endpoint and its log; its queued events are not sent."""
        actor.require(Action.MANAGE_KEYS)
        endpoint = await self.get(actor, endpoint_id)
        await endpoint.delete()
        self.emitter.invalidate(actor.account_id)

    async def deliveries(self, actor: Actor, endpoint_id: int, *, page: int, per_page: int,
                         status: str | None = None) -> Page[WebhookDelivery]:
        endpoint = await self.get(actor, endpoint_id)
        query = WebhookDelivery.filter(endpoint_id=endpoint.id)
        if status:
            try:
                query = query.filter(status=DeliveryStatus(status))
            except ValueError:
                raise ValidationError("status must be pending, succeeded or failed.",
                                      code="invalid_status", field="status") from None
        total = await query.count()
        rows = await query.order_by("-created_at", "-id").offset(
            (page - 1) * per_page).limit(per_page)
        return Page(rows, total)

    async def replay(self, actor: Actor, endpoint_id: int, delivery_id: int
                     ) -> WebhookDelivery:
        """Send the event again, from the start of the retry schedule, with the same
        ``webhook-id`` (a receiver that kept it knows it is a repeat). A paused endpoint
        is resumed: the owner has asked to try it again."""
        actor.require(Action.SEND)
        endpoint = await self.get(actor, endpoint_id)
        delivery = await WebhookDelivery.get_or_none(id=delivery_id, endpoint_id=endpoint.id)
        if delivery is None:
            raise NotFound(f"No delivery {delivery_id} on this endpoint.",
                           code="delivery_not_found")
        now = self.clock.now()
        async with in_transaction():
            delivery.status = DeliveryStatus.PENDING
            delivery.attempts = 0
            delivery.next_attempt_at = now
            await delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
            if endpoint.status == EndpointStatus.PAUSED:
                await self._resume(endpoint, now)
        return delivery

    async def _resume(self, endpoint: WebhookEndpoint, now: dt.datetime) -> None:
        endpoint.status = EndpointStatus.ACTIVE
        endpoint.consecutive_failures = 0
        endpoint.paused_at = None
        await endpoint.save(update_fields=["status", "consecutive_failures", "paused_at"])
        await self.notifications.clear_alert(
            endpoint.account_id, dedup_key=paused_alert_key(endpoint.id),
            kind="webhook_paused", severity=Severity.HIGH,
            title=f"Webhook endpoint {endpoint.id} resumed",
            body="A replay resumed it; waiting events are being delivered.",
            data={"endpoint_id": endpoint.id})
