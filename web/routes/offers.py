"""/api/v2/offers"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import Field

from core.offers.models import Offer
from core.text import Text
from web.auth import require_actor
from web.bodies import Body, Lenient, iso, page_params, paginated, paging, parse_body, path_id
from web.keys import SERVICES
from web.openapi import operation
from web.render import amount, respond

routes = web.RouteTableDef()


class OfferIn(Body):
    name: Text | None = None
    tracking_url: Text | None = Field(
        None, description="May contain {click_id} {message_id} {contact_id} {offer_id} "
                          "{sub1}..{sub5}")
    # Money is a decimal string or a number in requests, read as a Decimal (core.money).
    payout: Annotated[Decimal, Lenient] | Text | None = Field(
        None, description='A decimal string ("12.50") or a number; answered as "12.5000"')
    payout_type: Literal["cpa", "cpc", "revshare"] | None = None
    advertiser: Text | None = None
    status: Literal["active", "paused", "expired", "archived"] | None = None
    attribution_window_days: int | None = Field(None, ge=1, le=365)
    bot_filter_mode: Literal["record", "preview"] | None = None


def offer_out(offer: Offer, public_url: str) -> dict[str, Any]:
    secret = offer.postback_secret or ""
    return {
        "id": offer.id, "name": offer.name, "tracking_url": offer.tracking_url,
        "payout": amount(offer.payout), "payout_type": offer.payout_type,
        "advertiser": offer.advertiser, "source": offer.source,
        "external_id": offer.external_id, "status": offer.status,
        "attribution_window_days": offer.attribution_window_days,
        "bot_filter_mode": offer.bot_filter_mode,
        # For the advertiser's side: where conversions go (the network fills its macros).
        "postback_secret": offer.postback_secret,
        "postback_urls": {
            "offer": f"{public_url}/conv/offer?offer_id={offer.id}&message_id={{message_id}}"
                     f"&revenue={{payout}}&txn_id={{transaction_id}}&secret={secret}",
            "click": f"{public_url}/conv?click_id={{click_id}}&revenue={{payout}}"
                     "&txn_id={transaction_id}",
            "tune": f"{public_url}/api/postbacks/tune?click_id={{aff_sub}}&payout={{payout}}"
                    "&conversion_id={transaction_id}",
            "everflow": f"{public_url}/api/postbacks/everflow?click_id={{sub1}}"
                        "&payout={revenue}&transaction_id={transaction_id}",
        },
        "performance": {"clicks": offer.click_count, "conversions": offer.conversion_count,
                        "revenue": amount(offer.revenue_total)},
        "created_at": iso(offer.created_at), "updated_at": iso(offer.updated_at),
    }


def _public(request: web.Request) -> str:
    return request.app[SERVICES].settings.public_url


@routes.get("/api/v2/offers")
@operation("List offers", tag="offers",
           query=[*paging(), ("status", "string", "active, paused, expired or archived")])
async def list_offers(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    found = await request.app[SERVICES].offers.list(actor, page=page, per_page=per_page,
                                                    status=request.query.get("status"))
    return respond(paginated([offer_out(o, _public(request)) for o in found.items], page=page,
                             per_page=per_page, total=found.total))


@routes.post("/api/v2/offers")
@operation("Create an offer", tag="offers", request=OfferIn, status=201,
           errors={400: "missing_name, missing_tracking_url, invalid_tracking_url, ..."})
async def create_offer(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, OfferIn)
    offer = await request.app[SERVICES].offers.create(actor, **body.model_dump(
        exclude_unset=True))
    return respond(offer_out(offer, _public(request)), status=201)


@routes.get("/api/v2/offers/{offer_id:\\d+}")
@operation("One offer with its performance", tag="offers",
           errors={404: "offer_not_found"})
async def get_offer(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    offer = await request.app[SERVICES].offers.get(actor, path_id(request, "offer_id", "offer"))
    return respond(offer_out(offer, _public(request)))


@routes.patch("/api/v2/offers/{offer_id:\\d+}")
@operation("Edit an offer", tag="offers", request=OfferIn, errors={404: "offer_not_found"})
async def update_offer(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, OfferIn)
    offer = await request.app[SERVICES].offers.update(
        actor, path_id(request, "offer_id", "offer"), **body.model_dump(exclude_unset=True))
    return respond(offer_out(offer, _public(request)))
