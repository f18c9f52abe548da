"""Affiliate offers: create, edit, list."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from core.clock import Clock
from core.errors import NotFound, ValidationError
from core.money import parse_money
from core.offers.macros import validate_tracking_url
from core.offers.models import Offer, OfferSource, OfferStatus, PayoutType
from core.pagination import Page
from core.permissions import Action, Actor
from core.validation import choice, clean_name

EDITABLE = ("name", "tracking_url", "payout", "payout_type", "advertiser", "status",
            "attribution_window_days", "bot_filter_mode")


def clean_offer_fields(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if value is None and key not in ("bot_filter_mode",):
            continue
        match key:
            case "name":
                out[key] = clean_name(value)
            case "tracking_url":
                out[key] = validate_tracking_url(value)
            case "payout":
                out[key] = parse_money(value, field="payout")
            case "payout_type":
                out[key] = choice(PayoutType, value, "payout_type")
            case "status":
                out[key] = choice(OfferStatus, value, "status")
            case "advertiser":
                out[key] = " ".join(str(value).split())[:200]
            case "attribution_window_days":
                if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 365:
                    raise ValidationError("attribution_window_days must be 1 to 365.",
                                          code="invalid_attribution_window_days",
                                          field="attribution_window_days")
                out[key] = value
            case "bot_filter_mode":
                if value not in (None, "record", "preview"):
                    raise ValidationError("bot_filter_mode must be record, preview or null.",
                                          code="invalid_bot_filter_mode",
                                          field="bot_filter_mode")
                out[key] = value
            case _:
                raise ValidationError(f"Unknown field {key}.", code="invalid_field", field=key)
    return out


async def bound_offers(account_id: int, bindings: Mapping[str, Mapping[str, Any]], *,
                       sending: bool, field: str | None = None) -> dict[int, str]:
    """The tracking URL of every offer ``bindings`` links to (``{"link1": {"offer_id":
    3}}``), in one query. ``offer_not_found`` for an offer the account does not have;
    when ``sending`` (a send, or a creative that is active), ``offer_inactive`` for one
    that is paused, expired or archived: its link would earn nothing. Errors name
    ``field``, else the binding (``link_bindings.link1``)."""
    offer_ids = {b["offer_id"] for b in bindings.values()}
    if not offer_ids:
        return {}
    found = {ident: (url, status) for ident, url, status in await Offer.filter(
        account_id=account_id, id__in=list(offer_ids)).values_list(
        "id", "tracking_url", "status")}
    for key, binding in bindings.items():
        offer_id = binding["offer_id"]
        where = field or f"link_bindings.{key}"
        if offer_id not in found:
            raise ValidationError(f"{{{{{key}}}}} is bound to offer {offer_id}, which does "
                                  "not exist.", code="offer_not_found", field=where)
        status = found[offer_id][1]
        if sending and status != OfferStatus.ACTIVE:
            raise ValidationError(f"{{{{{key}}}}} is bound to offer {offer_id}, which is "
                                  f"{status}; activate the offer or bind another.",
                                  code="offer_inactive", field=where)
    return {ident: url for ident, (url, _) in found.items()}


class OfferService:
    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    async def create(self, actor: Actor, **data: Any) -> Offer:
        actor.require(Action.BUILD)
        fields = clean_offer_fields(data)
        for required in ("name", "tracking_url"):
            if required not in fields:
                raise ValidationError(f"{required} is required.", code=f"missing_{required}",
                                      field=required)
        # The secret /conv/offer postbacks prove themselves with.
        return await Offer.create(account_id=actor.account_id, source=OfferSource.MANUAL,
                                  postback_secret=secrets.token_urlsafe(24), **fields)

    async def update(self, actor: Actor, offer_id: int, **data: Any) -> Offer:
        actor.require(Action.BUILD)
        offer = await self.get(actor, offer_id)
        fields = clean_offer_fields(data)
        if not fields:
            return offer
        for key, value in fields.items():
            setattr(offer, key, value)
        await offer.save(update_fields=[*fields, "updated_at"])
        return offer

    async def get(self, actor: Actor, offer_id: int) -> Offer:
        actor.require(Action.READ)
        offer = await Offer.get_or_none(id=offer_id, account_id=actor.account_id)
        if offer is None:
            raise NotFound(f"No offer {offer_id}.", code="offer_not_found")
        return offer

    async def list(self, actor: Actor, *, page: int, per_page: int,
                   status: str | None = None) -> Page[Offer]:
        actor.require(Action.READ)
        query = Offer.filter(account_id=actor.account_id)
        if status:
            query = query.filter(status=choice(OfferStatus, status, "status"))
        total = await query.count()
        items = await query.order_by("-id").offset((page - 1) * per_page).limit(per_page)
        return Page(items, total)
