"""/api/v2/send and /api/v2/send/bulk"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from core.errors import ValidationError
from core.messaging.send import SendRequest, SendResult
from core.validation import MAX_BULK
from web.auth import require_actor
from web.bodies import ObjectId, parse_body
from web.idempotency import idempotency_key, idempotent
from web.keys import SERVICES
from web.openapi import operation
from web.render import price, respond

routes = web.RouteTableDef()


class SendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to: str | int | None = Field(None, description="Any common form; E.164 in responses")
    body: str | None = Field(None, description="Up to 1600 characters; {{first_name}}, "
                             "{{brand_name}}, {{custom.key|default}} allowed")
    creative_id: ObjectId | None = Field(None, description="Send a creative instead of a body")
    list_number: str | int | None = Field(None, description="The sending list's number")
    transactional: bool = Field(False, description="Exempt from quiet hours")


class SendOut(BaseModel):
    success: bool
    message_id: str
    status: str
    segments: int
    encoding: str
    price: str
    to: str


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    list_number: str | int | None = None
    messages: list[Any] | None = Field(None, description=f"Up to {MAX_BULK} {{to, body}}")


def result_out(result: SendResult) -> dict[str, Any]:
    return {"success": True, "message_id": result.message_id, "status": result.status,
            "segments": result.segments, "encoding": result.encoding,
            "price": price(result.price),
            "to": result.to}


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
        idempotency_key=idempotency_key(request)))
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
    if body.messages is None:
        raise ValidationError("messages is required.", code="missing_messages",
                              field="messages")
    outcome = await request.app[SERVICES].sending.send_bulk(
        actor, list_number=body.list_number, messages=body.messages)
    return respond({
        "success": True, "queued_count": len(outcome.queued),
        "error_count": len(outcome.errors),
        "messages": [{"index": i, **result_out(r)} for i, r in outcome.queued],
        "errors": [{"index": i, "code": code, "error": error}
                   for i, code, error in outcome.errors],
    }, status=201)
