"""The hourly TUNE (HasOffers) conversion sync: ``Report::getConversions`` over the last
seven days, for accounts that connected their network.

- Dates: TUNE answers in the network's own timezone (``TuneConnection.timezone``) unless
  asked otherwise; the date filter is in that zone too, and each ``Stat.datetime`` is
  read in it and stored in UTC.
- Identity: ``Stat.tune_event_id``, TUNE's replacement for the deprecated ``Stat.id``
  (used only when an old network sends no event id), is the conversion's id. It is
  matched against postbacks by TUNE's transaction id (``Stat.ad_id``, the postback's
  ``{transaction_id}``), so a conversion that came by postback is not counted again.
- Only approved conversions whose ``aff_sub`` (``Stat.affiliate_info1``) is one of the
  account's click ids are recorded; the rest are someone else's traffic.

Seven days of lookback every hour means each conversion is seen about 168 times; all
but the first are duplicates, which insert nothing (core.tracking.conversions)."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp

from core.clock import Clock
from core.crypto import SecretBox
from core.errors import NotFound, ValidationError
from core.offers.models import NetworkStatus, TuneConnection
from core.permissions import Action, Actor
from core.text import check_text, clean_text
from core.tracking.conversions import ConversionIn, ConversionService
from core.tracking.models import ConversionType

log = logging.getLogger(__name__)

LOOKBACK = dt.timedelta(days=7)
PAGE_SIZE = 1000
MAX_PAGES = 100
TIMEOUT = 30.0
FIELDS = ("Stat.tune_event_id", "Stat.id", "Stat.ad_id", "Stat.affiliate_info1",
          "Stat.payout", "Stat.datetime", "Stat.offer_id", "Stat.status")


class TuneError(Exception):
    """TUNE refused the request or answered something we cannot read."""


@dataclass
class SyncResult:
    account_id: int
    fetched: int = 0
    recorded: int = 0
    duplicates: int = 0
    not_ours: int = 0  # aff_sub is not a click of this account
    error: str | None = None


def network_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a directory name
        raise ValidationError(f"Unknown timezone {name[:64]!r}.", code="invalid_timezone",
                              field="timezone") from None


class TuneSync:
    def __init__(self, *, clock: Clock, box: SecretBox, conversions: ConversionService,
                 api_url: str, page_size: int = PAGE_SIZE) -> None:
        self.clock = clock
        self.box = box
        self.conversions = conversions
        self.api_url = api_url
        self.page_size = page_size

    # -- the connection ----------------------------------------------------------------

    async def connect(self, actor: Actor, *, network_id: str, api_key: str,
                      timezone: str = "America/New_York") -> TuneConnection:
        """Connect (or reconnect) the account's TUNE network; the key is sealed."""
        actor.require(Action.MANAGE_CREDENTIALS)
        network_id = check_text(network_id.strip(), field="network_id")
        if not network_id or not network_id.replace("-", "").isalnum() or \
                len(network_id) > 64:
            raise ValidationError("network_id is your TUNE network id (letters, digits).",
                                  code="invalid_network_id", field="network_id")
        if not api_key.strip():
            raise ValidationError("api_key is required.", code="missing_api_key_value",
                                  field="api_key")
        network_zone(timezone)
        sealed = self.box.seal({"api_key": check_text(api_key.strip(), field="api_key")})
        found = await TuneConnection.get_or_none(account_id=actor.account_id)
        if found is None:
            return await TuneConnection.create(
                account_id=actor.account_id, network_id=network_id, api_key_sealed=sealed,
                timezone=timezone)
        found.network_id, found.api_key_sealed, found.timezone = network_id, sealed, timezone
        found.status, found.last_error = NetworkStatus.ACTIVE, None
        await found.save(update_fields=["network_id", "api_key_sealed", "timezone",
                                        "status", "last_error"])
        return found

    async def get(self, actor: Actor) -> TuneConnection:
        actor.require(Action.READ)
        found = await TuneConnection.get_or_none(account_id=actor.account_id)
        if found is None:
            raise NotFound("No TUNE network is connected.", code="tune_not_connected")
        return found

    async def sync_now(self, actor: Actor) -> SyncResult:
        actor.require(Action.SEND)
        return await self.sync(await self.get(actor))

    # -- the sync ----------------------------------------------------------------------

    async def sync_all(self) -> list[SyncResult]:
        """Every active connection, one after the other (the scheduler's hourly tick)."""
        results = []
        for connection in await TuneConnection.filter(status=NetworkStatus.ACTIVE):
            results.append(await self.sync(connection))
        return results

    async def sync(self, connection: TuneConnection) -> SyncResult:
        result = SyncResult(connection.account_id)
        try:
            async for row in self._conversions(connection):
                result.fetched += 1
                await self._record(connection, row, result)
        except TuneError as exc:
            result.error = str(exc)[:300]
            log.warning("TUNE sync for account %s failed: %s", connection.account_id,
                        result.error)
        connection.last_error = result.error
        fields = ["last_error"]
        if result.error is None:
            connection.last_synced_at = self.clock.now()
            fields.append("last_synced_at")
        await connection.save(update_fields=fields)
        return result

    async def _conversions(self, connection: TuneConnection) -> Any:
        """Each ``Stat`` of the lookback window, page after page."""
        zone = network_zone(connection.timezone)
        today = self.clock.now().astimezone(zone).date()
        first = today - dt.timedelta(days=LOOKBACK.days)
        key = self.box.open(connection.api_key_sealed)["api_key"]
        url = self.api_url.format(network_id=connection.network_id).rstrip("/") + \
            "/Apiv3/json"
        async with aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
            page = 1
            while page <= MAX_PAGES:
                params: list[tuple[str, str]] = [
                    ("NetworkId", connection.network_id), ("NetworkToken", key),
                    ("Target", "Report"), ("Method", "getConversions"),
                    *(("fields[]", f) for f in FIELDS),
                    ("filters[Stat.date][conditional]", "BETWEEN"),
                    ("filters[Stat.date][values][]", first.isoformat()),
                    ("filters[Stat.date][values][]", today.isoformat()),
                    ("filters[Stat.status][conditional]", "EQUAL_TO"),
                    ("filters[Stat.status][values]", "approved"),
                    ("sort[Stat.datetime]", "asc"),
                    ("limit", str(self.page_size)), ("page", str(page))]
                data = await _call(session, url, params)
                for item in data.get("data") or []:
                    stat = item.get("Stat") if isinstance(item, dict) else None
                    if isinstance(stat, dict):
                        yield stat
                if page >= int(data.get("pageCount") or 1):
                    return
                page += 1

    async def _record(self, connection: TuneConnection, stat: dict[str, Any],
                      result: SyncResult) -> None:
        click_id = clean_text(str(stat.get("affiliate_info1") or "")).strip()
        event_id = clean_text(str(stat.get("tune_event_id") or stat.get("id") or "")).strip()
        if not click_id or not event_id:
            result.not_ours += 1
            return
        try:
            revenue = Decimal(str(stat.get("payout") or "0")).quantize(Decimal("0.0001"))
            # A wall time in the network's zone (TUNE gives no offset).
            occurred = dt.datetime.strptime(str(stat.get("datetime")), "%Y-%m-%d %H:%M:%S"
                                            ).replace(tzinfo=network_zone(connection.timezone)
                                                      ).astimezone(dt.UTC)
        except (InvalidOperation, ValueError):
            log.warning("TUNE conversion %s unreadable; skipped", event_id[:40])
            result.not_ours += 1
            return
        transaction = clean_text(str(stat.get("ad_id") or "")).strip() or None
        conversion = ConversionIn(
            source="tune_sync", event_type=ConversionType.SALE, revenue=abs(revenue),
            txn_id=event_id[:128], dedup_txn=transaction, occurred_at=occurred,
            payload={k: clean_text(str(v))[:200] for k, v in stat.items()})
        try:
            recorded = await self.conversions.by_click(
                click_id, conversion, account_id=connection.account_id)
        except NotFound:
            result.not_ours += 1
            return
        if recorded.duplicate:
            result.duplicates += 1
        else:
            result.recorded += 1


async def _call(session: aiohttp.ClientSession, url: str, params: list[tuple[str, str]]
                ) -> dict[str, Any]:
    try:
        async with session.get(url, params=params) as resp:
            body = await resp.json(content_type=None)
    except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
        raise TuneError(f"TUNE did not answer: {type(exc).__name__}") from None
    response = body.get("response") if isinstance(body, dict) else None
    if not isinstance(response, dict):
        raise TuneError("TUNE answered something that is not its API's JSON")
    if response.get("status") != 1:
        errors = response.get("errors") or []
        message = response.get("errorMessage") or (
            errors[0].get("publicMessage") if errors and isinstance(errors[0], dict) else None)
        raise TuneError(f"TUNE refused the request: {message or 'no reason given'}")
    data = response.get("data")
    if not isinstance(data, dict):
        raise TuneError("TUNE's answer has no data")
    return data
