"""A fake TUNE (HasOffers) network API: ``GET /Apiv3/json`` with ``Target=Report`` and
``Method=getConversions``, answering in TUNE's envelope
(``{"request": ..., "response": {"status", "httpStatus", "data", "errors",
"errorMessage"}}``), with report pages (``page``, ``current``, ``count``,
``pageCount``, ``data: [{"Stat": {...}}]``), string values, and datetimes in the
network's timezone. It honours the Stat.date BETWEEN and Stat.status filters and the
``limit``/``page`` paging, and refuses a wrong NetworkToken the way TUNE does.

    fake = await TuneFake(network_id="acme", token="secret", timezone="America/Chicago").start()
    fake.add(click_id, payout="10.00", at=<aware datetime>, ad_id="102abc", event_id="...")
    fake.requests   # the query of every call, as a list of (key, value) pairs
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from aiohttp import web


@dataclass
class FakeConversion:
    stat_id: str  # the deprecated Stat.id
    tune_event_id: str
    ad_id: str  # the transaction id
    affiliate_info1: str  # aff_sub: our click id
    payout: str
    at: dt.datetime  # aware
    offer_id: str = "12"
    status: str = "approved"


@dataclass
class TuneFake:
    network_id: str = "acme"
    token: str = field(default_factory=lambda: secrets.token_hex(16))
    timezone: str = "America/Chicago"
    conversions: list[FakeConversion] = field(default_factory=list)
    requests: list[list[tuple[str, str]]] = field(default_factory=list)
    send_event_ids: bool = True  # an old network sends only the deprecated Stat.id
    url: str = ""

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None

    def add(self, click_id: str, *, payout: str, at: dt.datetime, ad_id: str | None = None,
            status: str = "approved") -> FakeConversion:
        number = len(self.conversions) + 1
        conversion = FakeConversion(
            stat_id=str(1000 + number), tune_event_id=f"{secrets.token_hex(8)}-{number}",
            ad_id=ad_id or f"102{secrets.token_hex(8)}", affiliate_info1=click_id,
            payout=payout, at=at, status=status)
        self.conversions.append(conversion)
        return conversion

    async def start(self) -> TuneFake:
        app = web.Application()
        app.router.add_get("/Apiv3/json", self._api)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _api(self, request: web.Request) -> web.Response:
        query = list(request.query.items())
        self.requests.append(query)
        q = request.query
        envelope = {"Target": q.get("Target"), "Format": "json", "Service": "HasOffers",
                    "Version": "2", "NetworkId": q.get("NetworkId"),
                    "Method": q.get("Method")}
        if q.get("NetworkToken") != self.token or q.get("NetworkId") != self.network_id:
            return self._error(envelope, "Invalid NetworkToken")
        if (q.get("Target"), q.get("Method")) != ("Report", "getConversions"):
            return self._error(envelope, "Method not found")
        zone = ZoneInfo(self.timezone)
        days = q.getall("filters[Stat.date][values][]", [])
        first, last = (dt.date.fromisoformat(days[0]), dt.date.fromisoformat(days[1])) \
            if len(days) == 2 else (dt.date.min, dt.date.max)
        wanted_status = q.get("filters[Stat.status][values]")
        fields = [f.removeprefix("Stat.") for f in q.getall("fields[]", [])]
        rows = []
        for c in sorted(self.conversions, key=lambda c: c.at):
            local = c.at.astimezone(zone)
            if not first <= local.date() <= last:
                continue
            if wanted_status and c.status != wanted_status:
                continue
            stat = {"id": c.stat_id, "tune_event_id": c.tune_event_id, "ad_id": c.ad_id,
                    "affiliate_info1": c.affiliate_info1, "payout": c.payout,
                    "datetime": local.strftime("%Y-%m-%d %H:%M:%S"),
                    "offer_id": c.offer_id, "status": c.status}
            if not self.send_event_ids:
                stat.pop("tune_event_id")
            rows.append({"Stat": {k: v for k, v in stat.items() if not fields or k in fields}})
        limit = int(q.get("limit") or 0) or max(len(rows), 1)
        page = int(q.get("page") or 1)
        page_count = max(1, -(-len(rows) // limit))
        chunk = rows[(page - 1) * limit: page * limit]
        data = {"page": page, "current": len(chunk), "count": len(rows),
                "pageCount": page_count, "data": chunk, "dbSource": "branddb"}
        return web.json_response({"request": envelope, "response": {
            "status": 1, "httpStatus": 200, "data": data, "errors": [],
            "errorMessage": None}})

    @staticmethod
    def _error(envelope: dict, message: str) -> web.Response:
        return web.json_response({"request": envelope, "response": {
            "status": -1, "httpStatus": 200, "data": "",
            "errors": [{"publicMessage": message}], "errorMessage": message}})
