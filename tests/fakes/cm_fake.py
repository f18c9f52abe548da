"""A CM.com Business Messaging (JSON gateway) fake.

``POST /v1.0/message`` with ``{"messages": {"authentication": {"producttoken": ...},
"msg": [{"from", "to": [{"number"}], "body": {"type", "content"}, "reference"}]}}``.
Answers like the gateway: a bad token or malformed request is refused whole (400,
``errorCode`` 101/202/203, ``messages: []``); otherwise one detail per recipient
(``to``, ``status`` Accepted/Rejected, ``reference``, ``parts``, ``messageDetails``,
``messageErrorCode``) with ``errorCode`` 0 when all were accepted, 201 when some were not
(HTTP 200 if any was accepted, 400 if none).

Status reports go to the account's report URL (``receipt_url``), one JSON document per
report: ``{"messages": {"msg": {"received", "to", "reference", "status": {"code",
"errorCode", "errorDescription"}, "operator"}}}`` with code 0 (accepted by operator),
1 (rejected), 2 (delivered), 3 (failed). Inbound messages go to ``inbound_url``.

Standalone: ``python -m tests.fakes.cm_fake --port 0 --product-token TOKEN``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import json
import re
import uuid
from typing import Any

from aiohttp import web

from tests.fakes.base import (
    Accepted,
    FakeServer,
    Fault,
    ReceiptJob,
    json_error,
    run_standalone,
)
from tests.fakes.segments import arithmetic

PRODUCT_TOKEN = "00000000-0000-4000-8000-00000000c0de"
NUMBER = re.compile(r"^(\+|00)[1-9]\d{6,14}$")


def cm_error(status: int, code: int, details: str,
             headers: dict[str, str] | None = None) -> web.Response:
    return json_error(status, {"details": details, "errorCode": code, "messages": []}, headers)


def to_e164(number: str) -> str:
    return "+" + number[2:] if number.startswith("00") else number


class CmFake(FakeServer):
    name = "cm"

    def __init__(self, *, product_token: str = PRODUCT_TOKEN, **kw: Any) -> None:
        super().__init__(**kw)
        self.product_token = product_token

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1.0/message", self._send)

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        response = await self._send_inner(request)
        self.statuses[response.status] += 1
        return response

    async def _send_inner(self, request: web.Request) -> web.Response:
        try:
            payload = await request.json()
            envelope = payload["messages"]
            token = str(envelope["authentication"]["producttoken"])
        except (ValueError, KeyError, TypeError):
            return cm_error(400, 202, "Malformed request")
        if not hmac.compare_digest(token.encode(), self.product_token.encode()):
            return cm_error(400, 101, "No account found for the given authentication")
        msgs = envelope.get("msg")
        if not isinstance(msgs, list) or not msgs:
            return cm_error(400, 203, "A MESSAGES node requires at least one MSG node")
        recipients = [to_e164(str(r.get("number", ""))) for m in msgs if isinstance(m, dict)
                      for r in (m.get("to") or []) if isinstance(r, dict)]
        rule = self.take_fault(recipients)
        if rule is not None and rule.kind is Fault.RATE_LIMIT:
            headers = {"Retry-After": rule.retry_after} if rule.retry_after else None
            return cm_error(429, 999, "Too many requests", headers)
        if rule is not None and rule.kind is Fault.SERVER_ERROR:
            return cm_error(500, 500, "Internal server error")
        details = [d for m in msgs for d in self._accept(m)]
        accepted = sum(1 for d in details if d["status"] == "Accepted")
        body = {"details": f"Created {accepted} message(s)",
                "errorCode": 0 if accepted == len(details) else 201, "messages": details}
        status = 200 if accepted else 400
        if rule is not None and rule.kind is Fault.ACCEPT_THEN_ERROR:
            return cm_error(500, 500, "Internal server error")
        if rule is not None and rule.kind is Fault.TIMEOUT:
            return await self.hold_then(rule, lambda: self._answer(status, body))
        return await self._answer(status, body)

    async def _answer(self, status: int, body: dict[str, Any]) -> web.Response:
        return web.Response(status=status, text=json.dumps(body),
                            content_type="application/json")

    def _accept(self, msg: Any) -> list[dict[str, Any]]:
        if not isinstance(msg, dict):
            return [_rejected("", None, 203, "The MSG array is incorrect")]
        reference = msg.get("reference")
        content = (msg.get("body") or {}).get("content") if isinstance(msg.get("body"),
                                                                       dict) else None
        out = []
        for recipient in msg.get("to") or [{"number": ""}]:
            number = str(recipient.get("number", "")) if isinstance(recipient, dict) else ""
            if not msg.get("from"):
                out.append(_rejected(number, reference, 301, "No FROM field found"))
            elif not NUMBER.match(number):
                out.append(_rejected(number, reference, 303, f"Gsm '{number}' is not a number."))
            elif not content:
                out.append(_rejected(number, reference, 304, "A body without content was found"))
            elif to_e164(number) in self.stop_numbers:
                out.append(_rejected(number, reference, 402, "Recipient is blacklisted"))
            else:
                parts = arithmetic(content)
                self.record(Accepted(provider_id=str(uuid.uuid4()), to=to_e164(number),
                                     from_=str(msg["from"]), body=content,
                                     reference=reference, callback_url=None, segments=parts))
                out.append({"to": number, "status": "Accepted", "reference": reference,
                            "parts": parts, "messageDetails": None, "messageErrorCode": 0})
        return out

    # --- webhooks --------------------------------------------------------------------------

    def sent_status(self) -> str:
        return "0"

    def final_status(self, message: Accepted) -> tuple[str, str | None]:
        code = self.undeliverable.get(message.to)
        return ("3", code) if code else ("2", None)

    def report(self, message: Accepted, status: str, error_code: str | None,
               reference: str | None) -> dict[str, Any]:
        received = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")
        return {"messages": {"msg": {
            "received": received, "to": "00" + message.to.lstrip("+"),
            "reference": reference or "",
            "status": {"code": status, "errorCode": error_code or "",
                       "errorDescription": "Message not delivered" if error_code else ""},
            "operator": "310260",
        }}}

    async def post_receipts(self, jobs: list[ReceiptJob]) -> None:
        for job in jobs:
            assert job.url is not None
            await self.post(job.url, json_body=self.report(job.message, job.status,
                                                           job.error_code,
                                                           job.message.reference))

    async def send_unknown_receipt(self, url: str | None = None) -> int:
        target = url or self.receipt_url
        assert target, "no URL to post the receipt to"
        ghost = Accepted(provider_id="", to="+15005550007", from_="", body="",
                         reference=None, callback_url=None, segments=1)
        return await self.post(target, json_body=self.report(ghost, "2", None, "NOSUCHREF1"))

    async def send_inbound(self, from_: str, to: str, body: str) -> int:
        assert self.inbound_url, "CmFake(inbound_url=...) is needed for inbound"
        now = dt.datetime.now(dt.UTC)
        payload = {
            "reference": str(uuid.uuid4()),
            "from": {"number": from_, "name": from_},
            "to": {"number": to},
            "message": {"text": body, "media": {"mediaUri": "", "contentType": "",
                                                "title": ""}, "custom": {}},
            "groupings": ["", "", ""],
            "time": now.strftime("%Y-%m-%d %H:%M:%S"),
            "timeUtc": now.strftime("%Y-%m-%dT%H:%M:%S"),
            "channel": "SMS",
        }
        return await self.post(self.inbound_url, json_body=payload)


def _rejected(number: str, reference: Any, code: int, details: str) -> dict[str, Any]:
    return {"to": number, "status": "Rejected", "reference": reference, "parts": 0,
            "messageDetails": details, "messageErrorCode": code}


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--product-token", default=PRODUCT_TOKEN)


def _build(args: argparse.Namespace) -> CmFake:
    return CmFake(product_token=args.product_token, inbound_url=args.inbound_url,
                  receipt_url=args.receipt_url)


if __name__ == "__main__":
    run_standalone(_build, _arguments)
