"""/api/v2/messages: status and history of sent messages."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field

from core.messaging.models import MessageSent, MessageStatus
from core.messaging.service import HistoryEntry, LinkClicks
from core.reasons import DropReason, StatusDetail
from web.auth import require_actor
from web.bodies import iso, page_params, paginated, paging, positive_int, time_param
from web.keys import SERVICES
from web.openapi import operation
from web.render import price, respond

routes = web.RouteTableDef()


class HistoryOut(BaseModel):
    status: str
    detail: str | None
    source: str = Field(description="outbox, executor, reconciler, webhook:<provider>, ...")
    at: str
    provider_status: str | None = Field(
        description="The provider's own status word, on what a provider told us")


class LinkOut(BaseModel):
    code: str
    url: str = Field(description="The short link as sent")
    destination: str = Field(description="Where it leads (offer macros unfilled)")
    offer_id: int | None
    clicks: int = Field(description="Every request for the link, bots included")
    human_clicks: int = Field(description="Requests judged human (repeats included)")
    first_human_click_at: str | None


class MessageOut(BaseModel):
    message_id: str
    to: str
    from_: str = Field(alias="from")
    list_number: str
    body: str
    segments: int = Field(description="What the message is billed for")
    provider_segments: int | None = Field(
        description="The parts the provider says it billed, when it says")
    encoding: str
    price: str
    status: MessageStatus
    status_detail: DropReason | StatusDetail | None = Field(
        description="Why: a drop reason for dropped messages; for queued ones why they "
                    "wait (quiet_hours, billing_hold, retry) until release_at; for the "
                    "others how they ended.")
    release_at: str | None = Field(
        description="A queued message is not sent before this time (quiet hours, a "
                    "billing hold, a retry's backoff); null when it may leave now.")
    error_code: str | None
    error_message: str | None
    provider: str
    provider_message_id: str | None
    attempts: int
    transactional: bool
    creative_id: int | None
    offer_id: int | None
    schedule_id: int | None
    journey_id: int | None
    queued_at: str
    sent_at: str | None
    delivered_at: str | None
    failed_at: str | None
    dropped_at: str | None
    history: list[HistoryOut] | None = Field(
        None, description="Status history (GET /messages/{message_id} only)")
    links: list[LinkOut] | None = Field(
        None, description="Its short links and their clicks (GET /messages/{message_id} "
                          "only)")


class MessagePage(BaseModel):
    data: list[MessageOut]
    pagination: dict[str, int]


def message_out(m: MessageSent, list_number: str | None = None,
                history: list[HistoryEntry] | None = None,
                links: list[LinkClicks] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "message_id": m.public_id, "to": m.to_number, "from": m.from_number,
        "list_number": list_number or m.from_number, "body": m.body,
        "segments": m.segments, "provider_segments": m.provider_segments,
        "encoding": m.encoding, "price": price(m.price),
        "status": m.status, "status_detail": m.status_detail, "error_code": m.error_code,
        "error_message": m.error_message, "provider": m.provider,
        "provider_message_id": m.provider_message_id, "attempts": m.attempts,
        "transactional": m.transactional, "creative_id": m.creative_id,
        "offer_id": m.offer_id, "schedule_id": m.schedule_id, "journey_id": m.journey_id,
        "queued_at": iso(m.queued_at), "sent_at": iso(m.sent_at),
        "delivered_at": iso(m.delivered_at), "failed_at": iso(m.failed_at),
        "dropped_at": iso(m.dropped_at),
        "release_at": iso(m.not_before) if m.status == MessageStatus.QUEUED else None,
    }
    if history is not None:
        out["history"] = [{"status": h.status, "detail": h.detail, "source": h.source,
                           "at": iso(h.at), "provider_status": h.provider_status}
                          for h in history]
    if links is not None:
        out["links"] = [{"code": k.code, "url": k.url, "destination": k.destination,
                         "offer_id": k.offer_id, "clicks": k.clicks,
                         "human_clicks": k.human_clicks,
                         "first_human_click_at": iso(k.first_human_click_at)}
                        for k in links]
    return out


@routes.get("/api/v2/messages/{message_id}")
@operation("One message with its status history and its links' clicks", tag="messages",
           response=MessageOut,
           errors={404: "message_not_found"})
async def get_message(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    messages = request.app[SERVICES].messages
    message = await messages.get(actor, request.match_info["message_id"])
    return respond(message_out(message, history=await messages.history(message),
                               links=await messages.links(message)))


@routes.get("/api/v2/messages")
@operation("List messages, newest first", tag="messages", response=MessagePage,
           query=[("status", "string", "queued, sending, sent, delivered, undelivered, "
                   "failed, dropped, orphaned"),
                  ("list_number", "string", "The sending list's number"),
                  ("schedule_id", "integer", "Messages of one campaign"),
                  ("since", "string", "ISO 8601, queued at or after"),
                  ("until", "string", "ISO 8601, queued before"),
                  *paging()])
async def list_messages(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    found = await request.app[SERVICES].messages.list(
        actor, page=page, per_page=per_page, status=request.query.get("status"),
        list_number=request.query.get("list_number"),
        schedule_id=positive_int(request, "schedule_id"),
        since=time_param(request, "since"), until=time_param(request, "until"))
    return respond(paginated([message_out(m) for m in found.items], page=page,
                             per_page=per_page, total=found.total))
