"""/api/v2/inbound: the replies people sent, what each was taken to mean and by which
rule, and the review list (replies not read as an opt-out that hold an opt-out word)."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import BaseModel, Field

from core.inbound.models import InboundMessage
from web.auth import require_actor
from web.bodies import (
    Body,
    flag,
    iso,
    page_params,
    paginated,
    paging,
    parse_body,
    path_id,
    time_param,
)
from web.keys import SERVICES
from web.openapi import operation
from web.render import respond

routes = web.RouteTableDef()


class ReplyOut(BaseModel):
    id: int
    from_: str = Field(alias="from")
    to: str
    body: str
    intent: str = Field(description="opt_out, opt_in, help, complaint or none")
    rule: str = Field(description="The rule that decided the intent, e.g. exact:stop, "
                                  "phrase:take_me_off, negation:stop, reaction:tapback")
    set_aside: str = Field(description="The rule that set an opt-out word aside, if one did")
    action: str = Field(description="What was done: unsubscribed, already_unsubscribed, "
                                    "resubscribed, help_reply, none, ...")
    needs_review: bool = Field(description="Not read as an opt-out, yet holds an opt-out word")
    reviewed_at: str | None
    reviewed_by: str | None
    review_decision: str | None = Field(description="opt_out or keep, once reviewed")
    provider: str
    received_at: str


class ReplyPage(BaseModel):
    data: list[ReplyOut]
    pagination: dict[str, int]


class ReviewIn(Body):
    decision: Literal["opt_out", "keep"] = Field(
        description="opt_out: it was a revocation, unsubscribe the sender as STOP would; "
                    "keep: it was not")


def reply_out(m: InboundMessage) -> dict[str, Any]:
    return {"id": m.id, "from": m.from_number, "to": m.to_number, "body": m.body,
            "intent": m.intent, "rule": m.matched_rule, "set_aside": m.set_aside,
            "action": m.action_taken, "needs_review": m.needs_review,
            "reviewed_at": iso(m.reviewed_at), "reviewed_by": m.reviewed_by,
            "review_decision": m.review_decision, "provider": m.provider,
            "received_at": iso(m.received_at)}


@routes.get("/api/v2/inbound")
@operation("Replies people sent, newest first", tag="inbound", response=ReplyPage,
           query=[("needs_review", "boolean", "true: the review list (flagged, not yet "
                                              "reviewed)"),
                  ("intent", "string", "opt_out, opt_in, help, complaint, none"),
                  ("list_number", "string", "The sending list's number"),
                  ("since", "string", "ISO 8601, received at or after"),
                  ("until", "string", "ISO 8601, received before"),
                  *paging()])
async def list_replies(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    found = await request.app[SERVICES].replies.list(
        actor, page=page, per_page=per_page,
        needs_review=flag(request.query.get("needs_review"), "needs_review"),
        intent=request.query.get("intent"), list_number=request.query.get("list_number"),
        since=time_param(request, "since"), until=time_param(request, "until"))
    return respond(paginated([reply_out(m) for m in found.items], page=page,
                             per_page=per_page, total=found.total))


@routes.get("/api/v2/inbound/{inbound_id:\\d+}")
@operation("One reply: what it was taken to mean and why", tag="inbound", response=ReplyOut,
           errors={404: "reply_not_found"})
async def get_reply(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    reply = await request.app[SERVICES].replies.get(
        actor, path_id(request, "inbound_id", "reply"))
    return respond(reply_out(reply))


@routes.post("/api/v2/inbound/{inbound_id:\\d+}/review")
@operation("Decide a reply on the review list", tag="inbound", request=ReviewIn,
           response=ReplyOut, errors={404: "reply_not_found", 409: "already_reviewed"})
async def review_reply(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, ReviewIn)
    reply = await request.app[SERVICES].replies.review(
        actor, path_id(request, "inbound_id", "reply"), body.decision)
    return respond(reply_out(reply))
