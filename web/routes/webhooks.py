"""/api/v2/webhooks: outbound webhook endpoints, their delivery log and replays."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from core.events import EventType
from core.text import Text
from core.webhooks.models import WebhookDelivery, WebhookEndpoint
from web.auth import require_actor
from web.bodies import (
    Body,
    confirmed,
    iso,
    page_params,
    paginated,
    paging,
    parse_body,
    path_id,
    read_json,
)
from web.keys import SERVICES
from web.openapi import operation
from web.render import respond

routes = web.RouteTableDef()

_EVENTS = ", ".join(e.value for e in EventType)
_SIGNING = ("Each delivery is a JSON POST `{id, type, timestamp, data}` signed the Standard "
            "Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature`) and with "
            "`X-Trackly-Signature`: the hex HMAC-SHA256 of the raw body keyed with the "
            "secret as shown. A non-2xx answer is retried after 1m, 5m, 15m, 1h and 2h; "
            "then the endpoint is paused (its events wait) and the owner alerted. "
            "Replaying a delivery resumes a paused endpoint.")


class WebhookIn(Body):
    url: Text = Field(description="http(s) URL that receives the events")
    events: list[Text] = Field(description=f"Any of: {_EVENTS}")


def endpoint_out(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {"id": endpoint.id, "url": endpoint.url, "events": endpoint.events,
            "status": endpoint.status, "consecutive_failures": endpoint.consecutive_failures,
            "last_success_at": iso(endpoint.last_success_at),
            "last_failure_at": iso(endpoint.last_failure_at),
            "paused_at": iso(endpoint.paused_at), "created_at": iso(endpoint.created_at)}


def delivery_out(delivery: WebhookDelivery) -> dict[str, Any]:
    return {"id": delivery.id, "event_id": delivery.event_id, "event": delivery.event,
            "status": delivery.status, "attempts": delivery.attempts,
            "next_attempt_at": iso(delivery.next_attempt_at),
            "last_attempt_at": iso(delivery.last_attempt_at),
            "last_status_code": delivery.last_status_code, "last_error": delivery.last_error,
            "delivered_at": iso(delivery.delivered_at), "created_at": iso(delivery.created_at),
            "payload": delivery.payload}


@routes.get("/api/v2/webhooks")
@operation("List webhook endpoints", tag="webhooks", query=paging())
async def list_webhooks(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    found = await request.app[SERVICES].webhooks.list(actor, page=page, per_page=per_page)
    return respond(paginated([endpoint_out(e) for e in found.items], page=page,
                             per_page=per_page, total=found.total))


@routes.post("/api/v2/webhooks")
@operation("Add a webhook endpoint; its signing secret is shown once", tag="webhooks",
           request=WebhookIn, status=201, description=_SIGNING,
           errors={400: "missing_url, invalid_url, missing_events, invalid_events, "
                        "too_many_endpoints"})
async def create_webhook(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, WebhookIn)
    created = await request.app[SERVICES].webhooks.create(actor, url=body.url,
                                                          events=body.events)
    return respond({**endpoint_out(created.endpoint), "secret": created.secret}, status=201)


@routes.get("/api/v2/webhooks/{endpoint_id:\\d+}")
@operation("One webhook endpoint", tag="webhooks", errors={404: "webhook_not_found"})
async def get_webhook(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    endpoint = await request.app[SERVICES].webhooks.get(
        actor, path_id(request, "endpoint_id", "webhook"))
    return respond(endpoint_out(endpoint))


@routes.delete("/api/v2/webhooks/{endpoint_id:\\d+}")
@operation("Delete a webhook endpoint and its log (needs confirm)", tag="webhooks",
           request={"type": "object", "properties": {"confirm": {"type": "boolean"}}},
           errors={400: "confirm_required", 404: "webhook_not_found"})
async def delete_webhook(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await read_json(request)
    confirmed(request, body if isinstance(body, dict) else None)
    await request.app[SERVICES].webhooks.delete(actor,
                                                path_id(request, "endpoint_id", "webhook"))
    return respond({"success": True})


@routes.get("/api/v2/webhooks/{endpoint_id:\\d+}/deliveries")
@operation("The delivery log of an endpoint, newest first", tag="webhooks",
           query=[*paging(), ("status", "string", "pending, succeeded or failed")],
           errors={404: "webhook_not_found"})
async def list_deliveries(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    found = await request.app[SERVICES].webhooks.deliveries(
        actor, path_id(request, "endpoint_id", "webhook"), page=page, per_page=per_page,
        status=request.query.get("status"))
    return respond(paginated([delivery_out(d) for d in found.items], page=page,
                             per_page=per_page, total=found.total))


@routes.post("/api/v2/webhooks/{endpoint_id:\\d+}/deliveries/{delivery_id:\\d+}/replay")
@operation("Deliver an event again (resumes a paused endpoint)", tag="webhooks",
           errors={404: "webhook_not_found, delivery_not_found"})
async def replay_delivery(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    delivery = await request.app[SERVICES].webhooks.replay(
        actor, path_id(request, "endpoint_id", "webhook"),
        path_id(request, "delivery_id", "delivery"))
    return respond(delivery_out(delivery))
