"""/api/v2/creatives"""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from core.creatives.models import MessageCreative
from core.creatives.service import CreativeCost
from core.text import Text
from web.auth import require_actor
from web.bodies import Body, ObjectId, iso, page_params, paginated, paging, parse_body, path_id
from web.keys import SERVICES
from web.openapi import operation
from web.render import amount, price, respond

routes = web.RouteTableDef()


class LinkBinding(Body):
    offer_id: ObjectId
    params: dict[Text, Text | int | float] = Field(default_factory=dict)


class CreativeIn(Body):
    name: Text | None = None
    body: Text | None = Field(None, description="Up to 1600 characters. Placeholders: "
                             "{{link1}}..{{link10}}, {{first_name}}, {{last_name}}, "
                             "{{brand_name}}, {{custom.<key>|default}}")
    link_bindings: dict[Text, LinkBinding] | None = Field(
        None, description='{"link1": {"offer_id": 3, "params": {"sub1": "spring"}}}')
    type: Literal["one_time", "automated", "welcome"] | None = None
    status: Literal["active", "paused", "archived"] | None = None


def creative_out(creative: MessageCreative, cost: CreativeCost) -> dict[str, Any]:
    return {
        "id": creative.id, "name": creative.name, "body": creative.body,
        "link_bindings": creative.link_bindings, "type": creative.type,
        "status": creative.status,
        "character_count": cost.standard.character_count,
        "segment_count": cost.standard.segment_count,
        "encoding": cost.standard.encoding,
        "cost": price(cost.standard.cost),
        "smart_encoding": {
            "enabled": cost.smart_encoding_enabled,
            "character_count": cost.smart.character_count,
            "segment_count": cost.smart.segment_count,
            "encoding": cost.smart.encoding,
            "cost": price(cost.smart.cost),
        },
        "preview": cost.preview,
        "performance": {"sends": creative.send_count, "clicks": creative.click_count,
                        "conversions": creative.conversion_count,
                        "revenue": amount(creative.revenue_total)},
        "created_at": iso(creative.created_at), "updated_at": iso(creative.updated_at),
    }


async def _out(request: web.Request, creative: MessageCreative) -> dict[str, Any]:
    actor = await require_actor(request)
    return creative_out(creative, await request.app[SERVICES].creatives.cost(actor, creative))


@routes.get("/api/v2/creatives")
@operation("List creatives with their cost per send", tag="creatives",
           query=[*paging(), ("status", "string", "active, paused or archived")])
async def list_creatives(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    found = await request.app[SERVICES].creatives.list(actor, page=page, per_page=per_page,
                                                       status=request.query.get("status"))
    costs = await request.app[SERVICES].creatives.costs(actor, found.items)
    return respond(paginated([creative_out(c, cost) for c, cost in zip(found.items, costs,
                                                                        strict=True)],
                             page=page, per_page=per_page, total=found.total))


@routes.post("/api/v2/creatives")
@operation("Create a creative", tag="creatives", request=CreativeIn, status=201,
           description="Answers character_count, segment_count, encoding and the cost per "
                       "send, with and without smart encoding.",
           errors={400: "missing_name, missing_body, invalid_body (unknown placeholder or "
                        "over 1600 characters), blocked_content, missing_link_offer, "
                        "offer_not_found, offer_inactive (an active creative's offer is "
                        "paused, expired or archived)"})
async def create_creative(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, CreativeIn)
    data = body.model_dump(exclude_unset=True)
    creative = await request.app[SERVICES].creatives.create(
        actor, name=data.get("name") or "", body=data.get("body") or "",
        link_bindings=data.get("link_bindings"), type=data.get("type") or "one_time",
        status=data.get("status") or "active")
    return respond(await _out(request, creative), status=201)


@routes.get("/api/v2/creatives/{creative_id:\\d+}")
@operation("One creative", tag="creatives", errors={404: "creative_not_found"})
async def get_creative(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    creative = await request.app[SERVICES].creatives.get(
        actor, path_id(request, "creative_id", "creative"))
    return respond(await _out(request, creative))


@routes.patch("/api/v2/creatives/{creative_id:\\d+}")
@operation("Edit a creative", tag="creatives", request=CreativeIn,
           errors={400: "as for POST /creatives", 404: "creative_not_found"})
async def update_creative(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, CreativeIn)
    creative = await request.app[SERVICES].creatives.update(
        actor, path_id(request, "creative_id", "creative"), **body.model_dump(exclude_unset=True))
    return respond(await _out(request, creative))
