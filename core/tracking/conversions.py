"""Conversions: what an affiliate network (or the advertiser's pixel, or the account's own
server) tells us a click earned, recorded once and attributed.

Every road (``/conv``, ``/conv/offer``, the pixel, the TUNE and Everflow postbacks,
``POST /revenue``, the TUNE sync) ends in :meth:`ConversionService.record`:

- The same conversion twice is one: the account, the offer, the event type and the
  network's transaction id make a unique key (``Conversion.dedup_key``). A repeat inserts
  nothing, moves no counter and answers ``duplicate``.
- Attribution goes to the click that counts (``MessageClick``: the first human click of a
  contact on a message), if the conversion happened inside the offer's attribution window
  after it, and through that click to the message, contact, creative, offer, schedule,
  journey and list. Outside the window the conversion is kept (so a repeat is still a
  duplicate) but counted nowhere (``attributed`` false).
- ``refund`` and ``chargeback`` are negative revenue whatever sign they arrive with, and
  are not conversions in the counts; every other event type is one conversion.
- An attributed conversion moves the denormalised counters in the same transaction: the
  subscription's (``ListContact``: revenue_total, conversion_count, last_revenue_at), the
  creative's and the offer's (conversion_count, revenue_total).
"""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.clock import Clock
from core.errors import NotFound, PermissionDenied, ValidationError
from core.events import EventSink, EventType, NoEvents
from core.ids import looks_like_message_id
from core.money import AMOUNT, at_scale, parse_money
from core.permissions import Action, Actor
from core.sql import Params, execute, fetch, read_ts, ts
from core.text import text_problem
from core.tracking.models import Conversion, ConversionType

log = logging.getLogger(__name__)

NEGATIVE = frozenset({ConversionType.REFUND, ConversionType.CHARGEBACK})
# Where a conversion came from (Conversion.source).
SOURCES = ("conv", "conv_offer", "pixel", "tune", "everflow", "api", "tune_sync")


@dataclass(frozen=True)
class ConversionIn:
    """A conversion as a face read it. ``revenue`` None: the offer's payout. ``txn_id``
    None: one conversion per click (or message) and event type, as a pixel reloaded on
    a thank-you page must count once."""

    source: str
    event_type: ConversionType = ConversionType.SALE
    revenue: Decimal | None = None
    txn_id: str | None = None
    occurred_at: dt.datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    # What identifies the conversion across roads when it is not ``txn_id``: the TUNE
    # sync stores TUNE's event id but matches postbacks on the transaction id.
    dedup_txn: str | None = None


@dataclass(frozen=True)
class Recorded:
    conversion_id: int
    duplicate: bool
    attributed: bool
    revenue: Decimal
    event_type: str
    reason: str | None = None  # why not attributed: outside_window


@dataclass(frozen=True)
class _Target:
    """What a conversion is attributed to."""

    account_id: int
    click_row_id: int | None
    click_public_id: str | None
    clicked_at: dt.datetime | None
    message_id: int | None
    message_public_id: str | None
    sent_at: dt.datetime | None
    contact_id: int | None
    offer_id: int | None
    creative_id: int | None
    schedule_id: int | None
    journey_id: int | None
    sending_list_id: int | None
    window_days: int
    payout: Decimal
    secret: str | None


def event_type_of(raw: str | None) -> ConversionType:
    """``event_type`` from a request (any case); ``sale`` when absent."""
    if raw is None or not raw.strip():
        return ConversionType.SALE
    try:
        return ConversionType(raw.strip().lower())
    except ValueError:
        raise ValidationError(
            f"event_type must be one of {', '.join(t.value for t in ConversionType)}.",
            code="invalid_event_type", field="event_type") from None


def revenue_of(raw: Any, *, field: str = "revenue") -> Decimal | None:
    """An amount from a request; a leading minus is allowed (a refund may arrive signed:
    the event type decides the sign that is stored)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str) and raw.strip().startswith("-"):
        raw = raw.strip()[1:]
    elif isinstance(raw, int | float | Decimal) and not isinstance(raw, bool) and raw < 0:
        raw = -raw
    return parse_money(raw, field=field)


def _signed(event_type: ConversionType, amount: Decimal) -> Decimal:
    return -abs(amount) if event_type in NEGATIVE else abs(amount)


_CLICK_SQL = (
    "SELECT mc.id, mc.click_id, mc.account_id, mc.message_id, mc.contact_id, mc.offer_id, "
    "mc.creative_id, mc.schedule_id, mc.journey_id, mc.sending_list_id, mc.clicked_at, "
    "m.public_id AS message_public_id, m.sent_at, o.attribution_window_days, o.payout, "
    "o.postback_secret "
    "FROM message_click mc JOIN message_sent m ON m.id = mc.message_id "
    "LEFT JOIN offer o ON o.id = mc.offer_id WHERE "
)


def _target(row: dict[str, Any], *, clicked: bool = True) -> _Target:
    return _Target(
        account_id=row["account_id"], click_row_id=row["id"] if clicked else None,
        click_public_id=row.get("click_id") if clicked else None,
        clicked_at=read_ts(row["clicked_at"]) if clicked else None,
        message_id=row["message_id"], message_public_id=row["message_public_id"],
        sent_at=read_ts(row["sent_at"]), contact_id=row["contact_id"],
        offer_id=row["offer_id"], creative_id=row["creative_id"],
        schedule_id=row["schedule_id"], journey_id=row["journey_id"],
        sending_list_id=row["sending_list_id"],
        window_days=row["attribution_window_days"] or 7,
        payout=Decimal(str(row["payout"] if row["payout"] is not None else 0)),
        secret=row["postback_secret"])


class ConversionService:
    def __init__(self, *, clock: Clock, events: EventSink | None = None) -> None:
        self.clock = clock
        self.events: EventSink = events or NoEvents()

    # -- the roads in ------------------------------------------------------------------

    async def by_click(self, click_id: str, conversion: ConversionIn, *,
                       secret: str | None = None, account_id: int | None = None
                       ) -> Recorded:
        """A postback or pixel naming the click (``/conv``, ``/pixel``, TUNE's
        ``{aff_sub}``, Everflow's ``{sub1}``). The click id is unguessable; a ``secret``,
        when the network sends one, must be the offer's. ``account_id``: only that
        account's clicks (the TUNE sync of one account)."""
        target = await self._click_target(click_id, account_id=account_id)
        if secret is not None and not _same(secret, target.secret):
            raise PermissionDenied("The secret does not match the offer's postback secret.",
                                   code="invalid_secret")
        return await self.record(target, conversion)

    async def by_offer(self, offer_id: int, message_public_id: str, secret: str,
                       conversion: ConversionIn) -> Recorded:
        """``/conv/offer``: the advertiser knows the offer and our message id, and proves
        itself with the offer's secret."""
        p = Params()
        rows = await fetch(
            "SELECT id, account_id, postback_secret FROM offer WHERE id = "
            f"{p(offer_id)}", p)
        # One answer for a wrong secret and an offer that is not there: nothing to probe.
        if not rows or not _same(secret, rows[0]["postback_secret"]):
            raise PermissionDenied("The offer id and secret do not match.",
                                   code="invalid_secret")
        target = await self._message_target(rows[0]["account_id"], message_public_id,
                                            offer_id)
        return await self.record(target, conversion)

    async def by_api(self, actor: Actor, conversion: ConversionIn, *,
                     click_id: str | None = None, message_id: str | None = None,
                     offer_id: int | None = None) -> Recorded:
        """``POST /revenue``: the account's own server, by click id or message id."""
        actor.require(Action.SEND)
        if click_id:
            target = await self._click_target(click_id, account_id=actor.account_id)
            if offer_id is not None and target.offer_id != offer_id:
                raise ValidationError("The click is not on that offer.",
                                      code="offer_mismatch", field="offer_id")
        elif message_id:
            target = await self._message_target(actor.account_id, message_id, offer_id)
        else:
            raise ValidationError("click_id or message_id is required.",
                                  code="missing_click_id", field="click_id")
        return await self.record(target, conversion)

    # -- lookups -----------------------------------------------------------------------

    async def _click_target(self, click_id: str, *, account_id: int | None = None
                            ) -> _Target:
        click_id = (click_id or "").strip()
        # A path segment (the pixel's) is not checked at the edge: nothing that cannot
        # be stored can be a click id either.
        if not click_id or len(click_id) > 24 or text_problem(click_id) is not None:
            raise NotFound("No click with that id.", code="click_not_found")
        p = Params()
        sql = _CLICK_SQL + f"mc.click_id = {p(click_id)}"
        if account_id is not None:
            sql += f" AND mc.account_id = {p(account_id)}"
        rows = await fetch(sql, p)
        if not rows:
            raise NotFound("No click with that id.", code="click_not_found")
        return _target(rows[0])

    async def _message_target(self, account_id: int, message_public_id: str,
                              offer_id: int | None) -> _Target:
        """By message: its counted click when it has one (the window runs from it),
        else the message itself (the window runs from its send)."""
        if not looks_like_message_id(message_public_id or ""):
            raise NotFound("No message with that id.", code="message_not_found")
        p = Params()
        msg = await fetch(
            "SELECT m.id AS message_id, m.public_id AS message_public_id, m.sent_at, "
            "m.queued_at, m.account_id, m.contact_id, m.offer_id, m.creative_id, "
            "m.schedule_id, m.journey_id, m.sending_list_id FROM message_sent m "
            f"WHERE m.public_id = {p(message_public_id)} AND m.account_id = {p(account_id)}",
            p)
        if not msg:
            raise NotFound("No message with that id.", code="message_not_found")
        row = msg[0]
        q = Params()
        sql = _CLICK_SQL + f"mc.message_id = {q(row['message_id'])}"
        if offer_id is not None:
            sql += f" AND mc.offer_id = {q(offer_id)}"
        clicks = await fetch(sql, q)
        if clicks:
            return _target(clicks[0])
        offer = offer_id if offer_id is not None else row["offer_id"]
        o = Params()
        found = await fetch(
            "SELECT attribution_window_days, payout, postback_secret FROM offer "
            f"WHERE id = {o(offer)} AND account_id = {o(account_id)}", o) \
            if offer is not None else []
        if offer is not None and not found:
            raise NotFound(f"No offer {offer}.", code="offer_not_found")
        info = found[0] if found else {"attribution_window_days": 7, "payout": 0,
                                       "postback_secret": None}
        return _target({**row, **info, "offer_id": offer, "id": None,
                        "sent_at": row["sent_at"] or row["queued_at"], "clicked_at": None},
                       clicked=False)

    # -- recording ---------------------------------------------------------------------

    async def record(self, target: _Target, conversion: ConversionIn) -> Recorded:
        now = self.clock.now()
        occurred = conversion.occurred_at or now
        amount = conversion.revenue if conversion.revenue is not None else target.payout
        revenue = at_scale(_signed(conversion.event_type, amount), AMOUNT)
        txn = (conversion.txn_id or "").strip()[:128]
        if not txn:
            txn = (f"click:{target.click_public_id}" if target.click_public_id
                   else f"message:{target.message_public_id}")
        same_as = (conversion.dedup_txn or txn).strip()[:128]
        key = f"{target.offer_id or '-'}|{conversion.event_type.value}|{same_as}"
        start = target.clicked_at or target.sent_at
        reason = None
        if start is not None and occurred - start > dt.timedelta(days=target.window_days):
            reason = "outside_window"
        attributed = reason is None
        try:
            async with in_transaction():
                row = await Conversion.create(
                    account_id=target.account_id, click_id=target.click_row_id,
                    message_id=target.message_id, contact_id=target.contact_id,
                    offer_id=target.offer_id, creative_id=target.creative_id,
                    schedule_id=target.schedule_id, journey_id=target.journey_id,
                    sending_list_id=target.sending_list_id,
                    event_type=conversion.event_type, revenue=revenue, txn_id=txn,
                    source=conversion.source, dedup_key=key, attributed=attributed,
                    unattributed_reason=reason, payload=conversion.payload,
                    occurred_at=occurred)
                if attributed:
                    await _count(target, conversion.event_type, revenue, occurred, now)
        except IntegrityError:
            first = await Conversion.get(account_id=target.account_id, dedup_key=key)
            log.info("conversion %s for account %s is a repeat of %s", key,
                     target.account_id, first.id)
            return Recorded(first.id, True, first.attributed, at_scale(first.revenue),
                            first.event_type, first.unattributed_reason)
        if attributed:
            await self.events.emit(EventType.CONVERSION, [(target.account_id, {
                "conversion_id": row.id, "event_type": conversion.event_type.value,
                "revenue": format(revenue, "f"), "txn_id": txn,
                "click_id": target.click_public_id, "message_id": target.message_public_id,
                "offer_id": target.offer_id, "occurred_at": occurred.isoformat()})])
        return Recorded(row.id, False, attributed, revenue, conversion.event_type.value,
                        reason)


async def _count(target: _Target, event_type: ConversionType, revenue: Decimal,
                 occurred: dt.datetime, now: dt.datetime) -> None:
    """The denormalised counters of everything the conversion is attributed to."""
    conversions = 0 if event_type in NEGATIVE else 1
    if target.sending_list_id is not None and target.contact_id is not None:
        # Placeholders are handed out in the order they appear (SQLite's are "?").
        p = Params()
        sql = (f"UPDATE list_contact SET revenue_total = revenue_total + "
               f"{p(revenue if p.pg else str(revenue))}, "
               f"conversion_count = conversion_count + {p(conversions)}, ")
        if conversions:
            stamp = ts(occurred)
            sql += (f"last_revenue_at = CASE WHEN last_revenue_at IS NULL OR "
                    f"last_revenue_at < {p(stamp)} THEN {p(stamp)} ELSE last_revenue_at "
                    "END, ")
        sql += (f"updated_at = {p(ts(now))} WHERE sending_list_id = "
                f"{p(target.sending_list_id)} AND contact_id = {p(target.contact_id)}")
        await execute(sql, p)
    for table, ident in (("message_creative", target.creative_id),
                         ("offer", target.offer_id)):
        if ident is None:
            continue
        q = Params()
        await execute(
            f"UPDATE {table} SET revenue_total = revenue_total + "
            f"{q(revenue if q.pg else str(revenue))}, conversion_count = conversion_count + "
            f"{q(conversions)} WHERE id = {q(ident)}", q)


def _same(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
