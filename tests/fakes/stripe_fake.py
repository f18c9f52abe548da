"""A local Stripe: the slice of Stripe's REST API that invoicing uses, on Stripe's wire
format, with webhooks signed Stripe's way.

Wire format: form-encoded requests with bracket keys (``metadata[k]=v``), ``Authorization:
Bearer sk_...``, ``Idempotency-Key`` replays the first answer, JSON objects with ``id``
and ``object``, errors as ``{"error": {"type", "message", ...}}``. Invoices go
draft -> open (finalize; with ``auto_advance`` the fake then attempts the charge at once,
where Stripe waits about an hour) -> paid, or stay open with a failed attempt. Each
outcome queues an event (``invoice.paid`` / ``invoice.payment_failed``) for the endpoint,
posted by :meth:`deliver` with ``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<body>" keyed with the endpoint secret>``, computed here, not by the SDK.

Test API::

    fake = await StripeFake().start(); fake.url; fake.api_key; fake.webhook_secret
    fake.webhook_url = "http://.../api/stripe/webhook"
    fake.decline = True            # charges fail (card_declined) until set back
    await fake.retry(invoice_id)   # Stripe's next attempt (smart retries / a new card)
    await fake.deliver()           # post every queued event; [(status, body), ...]
    fake.invoices, fake.customers, fake.sent_events
    fake.signed(body, secret=..., timestamp=...) -> header value
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

_KEY = re.compile(r"^([^\[]+)((?:\[[^\]]*\])*)$")


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracket form encoding to nested dicts (``a[b][c]=v``; ``a[0]`` indexes)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        m = _KEY.match(key)
        if not m:
            continue
        parts = [m.group(1), *re.findall(r"\[([^\]]*)\]", m.group(2))]
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


@dataclass
class StripeFake:
    api_key: str = "sk_test_trackly_fake_0123456789"
    webhook_secret: str = "whsec_fake_0123456789abcdef"
    webhook_url: str | None = None
    decline: bool = False
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    queued: list[dict[str, Any]] = field(default_factory=list)
    sent_events: list[tuple[dict[str, Any], str, bytes]] = field(default_factory=list)
    requests: list[tuple[str, str]] = field(default_factory=list)
    _replays: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    url: str = ""

    async def start(self) -> StripeFake:
        app = web.Application()
        app.router.add_post("/v1/customers", self._customers)
        app.router.add_post("/v1/invoices", self._invoices)
        app.router.add_post("/v1/invoiceitems", self._invoice_items)
        app.router.add_post("/v1/invoices/{id}/finalize", self._finalize)
        app.router.add_post("/v1/invoices/{id}/pay", self._pay)
        app.router.add_get("/v1/invoices/{id}", self._get_invoice)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # -- what a test does --------------------------------------------------------------

    def signed(self, body: bytes, *, secret: str | None = None,
               timestamp: int | None = None) -> str:
        t = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new((secret or self.webhook_secret).encode(), f"{t}.".encode() + body,
                       hashlib.sha256).hexdigest()
        return f"t={t},v1={mac}"

    async def retry(self, invoice_id: str) -> None:
        """Stripe attempts the charge again (its smart retries, or a card updated)."""
        self._attempt(self.invoices[invoice_id])

    async def deliver(self) -> list[tuple[int, str]]:
        answers = []
        async with aiohttp.ClientSession() as session:
            while self.queued:
                event = self.queued.pop(0)
                body = json.dumps(event).encode()
                header = self.signed(body)
                assert self.webhook_url, "set fake.webhook_url first"
                async with session.post(self.webhook_url, data=body, headers={
                        "Content-Type": "application/json; charset=utf-8",
                        "Stripe-Signature": header}) as resp:
                    answers.append((resp.status, await resp.text()))
                self.sent_events.append((event, header, body))
        return answers

    # -- the API -----------------------------------------------------------------------

    async def _read(self, request: web.Request) -> dict[str, Any] | web.Response:
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._error(401, "invalid_request_error",
                               "Invalid API Key provided: check your key.")
        form = await request.post()
        return decode_form([(k, str(v)) for k, v in form.items()])

    @staticmethod
    def _error(status: int, kind: str, message: str, **extra: Any) -> web.Response:
        return web.json_response({"error": {"type": kind, "message": message, **extra}},
                                 status=status)

    async def _idempotent(self, request: web.Request, make: Any) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if key and key in self._replays:
            status, body = self._replays[key]
            return web.json_response(body, status=status,
                                     headers={"Idempotent-Replayed": "true"})
        params = await self._read(request)
        if isinstance(params, web.Response):
            return params
        result = make(params)
        if isinstance(result, web.Response):
            return result
        if key:
            self._replays[key] = (200, result)
        return web.json_response(result, headers={"Request-Id": _id("req")})

    async def _customers(self, request: web.Request) -> web.Response:
        def make(p: dict[str, Any]) -> dict[str, Any]:
            customer = {"id": _id("cus"), "object": "customer", "email": p.get("email"),
                        "name": p.get("name"), "metadata": p.get("metadata", {}),
                        "created": int(time.time()), "livemode": False, "currency": None}
            self.customers[customer["id"]] = customer
            return customer
        return await self._idempotent(request, make)

    async def _invoices(self, request: web.Request) -> web.Response:
        def make(p: dict[str, Any]) -> dict[str, Any] | web.Response:
            if p.get("customer") not in self.customers:
                return self._error(400, "invalid_request_error",
                                   f"No such customer: '{p.get('customer')}'",
                                   param="customer", code="resource_missing")
            invoice = {
                "id": _id("in"), "object": "invoice", "customer": p["customer"],
                "status": "draft", "collection_method": p.get("collection_method",
                                                              "charge_automatically"),
                "auto_advance": p.get("auto_advance") == "true",
                "currency": p.get("currency", "usd"), "amount_due": 0, "amount_paid": 0,
                "amount_remaining": 0, "attempt_count": 0, "attempted": False,
                "metadata": p.get("metadata", {}), "number": None, "paid": False,
                "lines": {"object": "list", "data": [], "has_more": False,
                          "url": "/v1/invoices/lines"},
                "created": int(time.time()), "livemode": False}
            self.invoices[invoice["id"]] = invoice
            return invoice
        return await self._idempotent(request, make)

    async def _invoice_items(self, request: web.Request) -> web.Response:
        def make(p: dict[str, Any]) -> dict[str, Any] | web.Response:
            invoice = self.invoices.get(p.get("invoice", ""))
            if invoice is None or invoice["status"] != "draft":
                return self._error(400, "invalid_request_error",
                                   "Invoice items can only be added to a draft invoice.",
                                   param="invoice")
            try:
                amount = int(p["amount"])
            except (KeyError, ValueError):
                return self._error(400, "invalid_request_error", "Invalid integer: amount",
                                   param="amount")
            item = {"id": _id("ii"), "object": "invoiceitem", "amount": amount,
                    "currency": p.get("currency", "usd"), "customer": p.get("customer"),
                    "description": p.get("description"), "invoice": invoice["id"]}
            self.items[item["id"]] = item
            invoice["lines"]["data"].append({"id": _id("il"), "object": "line_item",
                                             "amount": amount,
                                             "description": item["description"]})
            invoice["amount_due"] = invoice["amount_remaining"] = sum(
                line["amount"] for line in invoice["lines"]["data"])
            return item
        return await self._idempotent(request, make)

    async def _finalize(self, request: web.Request) -> web.Response:
        invoice_id = request.match_info["id"]

        def make(p: dict[str, Any]) -> dict[str, Any] | web.Response:
            invoice = self.invoices.get(invoice_id)
            if invoice is None:
                return self._error(404, "invalid_request_error",
                                   f"No such invoice: '{invoice_id}'", code="resource_missing")
            if invoice["status"] != "draft":
                return self._error(400, "invalid_request_error",
                                   "This invoice is already finalized.")
            invoice["status"] = "open"
            invoice["number"] = f"FAKE-{len(self.invoices):04d}"
            if p.get("auto_advance", "true") == "true" and invoice["auto_advance"]:
                self._attempt(invoice)
            return dict(invoice)
        return await self._idempotent(request, make)

    async def _pay(self, request: web.Request) -> web.Response:
        invoice_id = request.match_info["id"]

        def make(p: dict[str, Any]) -> dict[str, Any] | web.Response:
            invoice = self.invoices.get(invoice_id)
            if invoice is None:
                return self._error(404, "invalid_request_error", "No such invoice")
            self._attempt(invoice)
            if invoice["status"] != "paid":
                return self._error(402, "card_error", "Your card was declined.",
                                   code="card_declined", decline_code="generic_decline")
            return dict(invoice)
        return await self._idempotent(request, make)

    async def _get_invoice(self, request: web.Request) -> web.Response:
        params = await self._read(request)
        if isinstance(params, web.Response):
            return params
        invoice = self.invoices.get(request.match_info["id"])
        if invoice is None:
            return self._error(404, "invalid_request_error", "No such invoice")
        return web.json_response(invoice)

    def _attempt(self, invoice: dict[str, Any]) -> None:
        if invoice["status"] != "open":
            return
        invoice["attempt_count"] += 1
        invoice["attempted"] = True
        if self.decline:
            self._queue("invoice.payment_failed", invoice)
            return
        invoice.update(status="paid", paid=True, amount_paid=invoice["amount_due"],
                       amount_remaining=0)
        self._queue("invoice.paid", invoice)

    def _queue(self, kind: str, invoice: dict[str, Any]) -> None:
        self.queued.append({
            "id": _id("evt"), "object": "event", "api_version": "2025-10-29.clover",
            "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": kind,
            "data": {"object": json.loads(json.dumps(invoice))}})
