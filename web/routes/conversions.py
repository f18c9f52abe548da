"""Conversions coming in: the public postback and pixel URLs networks and advertisers
call, and ``POST /api/v2/revenue[/bulk]`` for the account's own server.

Each handler reads its query or body into a ``ConversionIn`` and makes one core call
(core.tracking.conversions); a repeat answers 200 with ``"duplicate": true``."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Annotated, Any

from aiohttp import web
from pydantic import Field

from core.errors import PermissionDenied, TracklyError, ValidationError
from core.text import Text, clean_text
from core.tracking.conversions import ConversionIn, Recorded, event_type_of, revenue_of
from core.validation import MAX_BULK
from web.auth import require_actor
from web.bodies import Body, BulkItems, Lenient, ObjectId, parse_body, validate_items
from web.errors import error_for
from web.idempotency import idempotent
from web.keys import SERVICES
from web.openapi import operation
from web.query import parse_time, query_text
from web.render import amount, respond

routes = web.RouteTableDef()

_EVENT = ("event_type", "string", "lead, sale, rebill, signup, install, refund or "
          "chargeback (the last two negative); sale when absent")
_SECRET = ("secret", "string", "Optional: when given, it must be the offer's postback "
           "secret (invalid_secret otherwise)")
_ERRORS = {403: "invalid_secret", 404: "click_not_found"}
_DESCRIPTION = ("A repeat of the same conversion (same offer, event type and transaction "
                "id) answers 200 with `duplicate: true` and changes nothing. A conversion "
                "later than the offer's attribution window after the click is kept but "
                "not attributed (`attributed: false`).")
# A transparent 1x1 GIF.
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def recorded_out(result: Recorded) -> dict[str, Any]:
    return {"success": True, "conversion_id": result.conversion_id,
            "duplicate": result.duplicate, "attributed": result.attributed,
            "unattributed_reason": result.reason, "event_type": result.event_type,
            "revenue": amount(result.revenue)}


def _answer(result: Recorded) -> web.Response:
    return respond(recorded_out(result), status=200 if result.duplicate else 201)


def _from_query(request: web.Request, source: str, *, revenue: tuple[str, ...],
                txn: tuple[str, ...]) -> ConversionIn:
    return ConversionIn(
        source=source, event_type=event_type_of(query_text(request, "event_type", "event")),
        revenue=revenue_of(query_text(request, *revenue, max_length=32), field=revenue[0]),
        txn_id=query_text(request, *txn, max_length=128),
        # The postback as received, for support; never the secret.
        payload={clean_text(k)[:64]: clean_text(v)[:200]
                 for k, v in list(request.query.items())[:30] if k != "secret"})


def _click_id(request: web.Request) -> str:
    click_id = query_text(request, "click_id", max_length=64)
    if click_id is None:
        raise ValidationError("click_id is required.", code="missing_click_id",
                              field="click_id")
    return click_id


@routes.get("/conv")
@operation("Conversion postback by click id", tag="conversions", public=True,
           query=[("click_id", "string", "The click id the offer URL received"),
                  ("revenue", "string", "Decimal amount; the offer's payout when absent"),
                  ("txn_id", "string", "The network's transaction id"), _EVENT, _SECRET],
           status=201, description=_DESCRIPTION, errors=_ERRORS)
async def conv(request: web.Request) -> web.Response:
    conversion = _from_query(request, "conv", revenue=("revenue", "payout"),
                             txn=("txn_id", "transaction_id"))
    result = await request.app[SERVICES].conversions.by_click(
        _click_id(request), conversion, secret=query_text(request, "secret"))
    return _answer(result)


@routes.get("/conv/offer")
@operation("Conversion postback by offer and message id, with the offer's secret",
           tag="conversions", public=True,
           query=[("offer_id", "integer", "Our offer id"),
                  ("message_id", "string", "Our message id ({message_id} in the offer URL)"),
                  ("revenue", "string", "Decimal amount; the offer's payout when absent"),
                  ("txn_id", "string", "The network's transaction id"), _EVENT,
                  ("secret", "string", "The offer's postback secret")],
           status=201, description=_DESCRIPTION,
           errors={403: "invalid_secret", 404: "message_not_found"})
async def conv_offer(request: web.Request) -> web.Response:
    conversion = _from_query(request, "conv_offer", revenue=("revenue", "payout"),
                             txn=("txn_id", "transaction_id"))
    raw_offer = query_text(request, "offer_id", max_length=12)
    if raw_offer is None or not raw_offer.isdigit() or not 1 <= int(raw_offer) < 2**31:
        raise ValidationError("offer_id must be an offer id.", code="invalid_offer_id",
                              field="offer_id")
    message_id = query_text(request, "message_id", max_length=20)
    if message_id is None:
        raise ValidationError("message_id is required.", code="missing_message_id",
                              field="message_id")
    result = await request.app[SERVICES].conversions.by_offer(
        int(raw_offer), message_id, query_text(request, "secret") or "", conversion)
    return _answer(result)


@routes.get("/pixel/{click_id}.gif")
@operation("Conversion pixel", tag="conversions", public=True, status=200,
           response_content_type="image/gif",
           query=[("revenue", "string", "Decimal amount; the offer's payout when absent"),
                  ("txn_id", "string", "Order id; one conversion per click when absent"),
                  _EVENT],
           description="Always answers a 1x1 GIF; the status says what happened (201 "
                       "recorded, 200 a repeat, 404 unknown click) and "
                       "`X-Trackly-Error` names an error's code.")
async def pixel(request: web.Request) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    try:
        conversion = _from_query(request, "pixel", revenue=("revenue", "payout"),
                                 txn=("txn_id", "order_id"))
        result = await request.app[SERVICES].conversions.by_click(
            request.match_info["click_id"], conversion)
    except TracklyError as exc:
        # An image tag shows nothing either way; the code is for whoever debugs it.
        status = error_for(exc).status
        return web.Response(body=PIXEL, status=status, content_type="image/gif",
                            headers={**headers, "X-Trackly-Error": exc.code})
    return web.Response(body=PIXEL, status=200 if result.duplicate else 201,
                        content_type="image/gif", headers=headers)


@routes.get("/api/postbacks/tune")
@operation("TUNE (HasOffers) postback", tag="conversions", public=True, status=201,
           query=[("click_id", "string", "{aff_sub}: the click id we passed"),
                  ("payout", "string", "{payout}"),
                  ("conversion_id", "string", "{transaction_id}"), _EVENT, _SECRET],
           description=_DESCRIPTION, errors=_ERRORS)
async def tune_postback(request: web.Request) -> web.Response:
    conversion = _from_query(request, "tune", revenue=("payout", "revenue"),
                             txn=("conversion_id", "transaction_id"))
    result = await request.app[SERVICES].conversions.by_click(
        _click_id(request), conversion, secret=query_text(request, "secret"))
    return _answer(result)


@routes.get("/api/postbacks/everflow")
@operation("Everflow postback", tag="conversions", public=True, status=201,
           query=[("click_id", "string", "{sub1}: the click id we passed"),
                  ("payout", "string", "{revenue}"),
                  ("transaction_id", "string", "{transaction_id}"), _EVENT, _SECRET],
           description=_DESCRIPTION, errors=_ERRORS)
async def everflow_postback(request: web.Request) -> web.Response:
    conversion = _from_query(request, "everflow", revenue=("payout", "revenue"),
                             txn=("transaction_id", "conversion_id"))
    result = await request.app[SERVICES].conversions.by_click(
        _click_id(request), conversion, secret=query_text(request, "secret"))
    return _answer(result)


# -- the API -----------------------------------------------------------------------------


class RevenueIn(Body):
    click_id: Text | None = Field(None, description="The click id; or give message_id")
    message_id: Text | None = Field(None, description="Our message id")
    offer_id: ObjectId | None = Field(None, description="The offer (checked against the "
                                                        "click's)")
    revenue: Annotated[Decimal, Lenient] | Text | None = Field(
        None, description='Decimal string ("12.50") or number; the offer\'s payout when '
                          "absent; refunds and chargebacks are stored negative")
    txn_id: Text = Field(description="Your transaction id: a repeat is a duplicate")
    event_type: Text | None = Field(None, description=_EVENT[2])
    occurred_at: Text | None = Field(None, description="ISO 8601; now when absent")


class RevenueBulkIn(Body):
    conversions: Annotated[list[Any], BulkItems.of(RevenueIn)] = Field(
        description=f"Up to {MAX_BULK} conversions, each on its own")


async def _record(request: web.Request, body: RevenueIn) -> Recorded:
    actor = await require_actor(request)
    conversion = ConversionIn(
        source="api", event_type=event_type_of(body.event_type),
        revenue=revenue_of(body.revenue), txn_id=body.txn_id,
        occurred_at=parse_time(body.occurred_at, "occurred_at") if body.occurred_at
        else None, payload={"api": True})
    return await request.app[SERVICES].conversions.by_api(
        actor, conversion, click_id=body.click_id, message_id=body.message_id,
        offer_id=body.offer_id)


@routes.post("/api/v2/revenue")
@operation("Record a conversion", tag="conversions", request=RevenueIn, status=201,
           description=_DESCRIPTION,
           errors={400: "missing_click_id, offer_mismatch, invalid_event_type",
                   404: "click_not_found, message_not_found, offer_not_found"})
@idempotent
async def revenue(request: web.Request) -> web.Response:
    await require_actor(request)
    body = await parse_body(request, RevenueIn)
    return _answer(await _record(request, body))


@routes.post("/api/v2/revenue/bulk")
@operation(f"Record up to {MAX_BULK} conversions, each on its own", tag="conversions",
           request=RevenueBulkIn, status=200)
async def revenue_bulk(request: web.Request) -> web.Response:
    await require_actor(request)
    body = await parse_body(request, RevenueBulkIn)
    items = validate_items(RevenueIn, body.conversions, field="conversions",
                           noun="conversion")
    results: list[dict[str, Any]] = []
    errors = [e.out() for e in items.errors]
    for index, item in items.valid:
        try:
            results.append({"index": index, **recorded_out(await _record(request, item))})
        except PermissionDenied:
            raise
        except TracklyError as exc:
            errors.append({"index": index, "code": exc.code, "error": exc.message})
    errors.sort(key=lambda e: e["index"])
    return respond({
        "success": True,
        "recorded_count": sum(1 for r in results if not r["duplicate"]),
        "duplicate_count": sum(1 for r in results if r["duplicate"]),
        "error_count": len(errors), "conversions": results, "errors": errors})
