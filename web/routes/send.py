"""/api/v2/send and /api/v2/send/bulk"""

from __future__ import annotations

from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, Field

from core.accounts.models import Account
from core.messaging.send import BulkMessage, SendRequest, SendResult
from core.text import Text
from core.validation import MAX_BULK
from web.auth import require_actor
from web.bodies import Body, BulkItems, ObjectId, parse_body, validate_items
from web.idempotency import idempotency_key, idempotent
from web.keys import API_KEY, SERVICES
from web.openapi import operation
from web.render import price, respond

routes = web.RouteTableDef()


class SendIn(Body):
    to: Text | int | None = Field(None, description="Any common form; E.164 in responses")
    body: Text | None = Field(None, description="Up to 1600 characters; {{first_name}}, "
                              "{{brand_name}}, {{custom.key|default}} allowed")
    creative_id: ObjectId | None = Field(None, description="Send a creative instead of a body")
    list_number: Text | int | None = Field(None, description="The sending list's number")
    transactional: bool = Field(False, description="Exempt from quiet hours")


class SendOut(BaseModel):
    success: bool
    message_id: str
    status: str
    segments: int
    encoding: str
    price: str
    to: str


class BulkMessageIn(Body):
    """One record of /send/bulk."""

    to: Text | int = Field(description="Any common form; E.164 in responses")
    body: Text = Field(description="As for POST /send")
    transactional: bool = Field(False, description="Exempt from quiet hours")


class BulkIn(Body):
    list_number: Text | int = Field(description="The sending list's number")
    messages: Annotated[list[Any], BulkItems.of(BulkMessageIn)] = Field(
        description=f"Up to {MAX_BULK} messages, each on its own")


def result_out(result: SendResult) -> dict[str, Any]:
    return {"success": True, "message_id": result.message_id, "status": result.status,
            "segments": result.segments, "encoding": result.encoding,
            "price": price(result.price),
            "to": result.to}


def _key_account(request: web.Request) -> Account | None:
    """The account its API key's lookup read with the key (one query for both), if an
    API key authenticated this request."""
    key = request.get(API_KEY)
    return key.account if key is not None else None


@routes.post("/api/v2/send")
@operation("Send one message", tag="messages", request=SendIn, response=SendOut, status=201,
           description="Queues the message and answers at once; follow it with "
                       "GET /messages/{message_id}. Accepts `Idempotency-Key`.",
           errors={400: "missing_to, missing_body, body_and_creative_id, "
                        "missing_list_number, invalid_phone, contact_unsubscribed, "
                        "landline_not_allowed, blocked_content, missing_link_offer, "
                        "list_inactive, creative_inactive, offer_inactive",
                   404: "list_not_found, creative_not_found",
                   409: "idempotency_conflict"})
@idempotent
async def send(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, SendIn)
    result = await request.app[SERVICES].sending.send(actor, SendRequest(
        to=body.to, list_number=body.list_number, body=body.body,
        creative_id=body.creative_id, transactional=body.transactional,
        idempotency_key=idempotency_key(request), account=_key_account(request)))
    return respond(result_out(result), status=200 if result.replayed else 201)


@routes.post("/api/v2/send/bulk")
@operation(f"Send up to {MAX_BULK} messages from one list, each on its own",
           tag="messages", request=BulkIn, status=201,
           errors={400: "missing_messages, too_many_messages, missing_list_number",
                   404: "list_not_found"})
@idempotent
async def send_bulk(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, BulkIn)
    items = validate_items(BulkMessageIn, body.messages, field="messages", noun="message")
    outcome = await request.app[SERVICES].sending.send_bulk(
        actor, list_number=body.list_number, messages=[
            BulkMessage(m.to, m.body, m.transactional) for m in items.models],
        account=_key_account(request))
    errors = items.all_errors(outcome.errors)
    return respond({
        "success": True, "queued_count": len(outcome.queued), "error_count": len(errors),
        "messages": [{"index": items.index_of(p), **result_out(r)} for p, r in outcome.queued],
        "errors": errors,
    }, status=201)
