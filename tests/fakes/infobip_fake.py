"""An Infobip SMS API v3 fake.

``POST /sms/3/messages`` with ``Authorization: App <api key>`` and the v3 JSON request
(``messages[].sender``, ``destinations[].to`` / ``messageId``, ``content.text``,
``webhooks.delivery.url`` / ``intermediateReport``), answered with ``bulkId`` and
``messages[]`` (``messageId``, ``status`` groupId/groupName/id/name/description,
``destination``, ``details.messageCount``) or the v3 error document (``errorCode``,
``description``, ``action``, ``violations``, ``resources``). Delivery reports go out in
batches (``{"results": [...]}``); inbound messages as ``{"results": [...],
"messageCount", "pendingMessageCount"}``.

``GET /sms/3/logs?messageId=a,b&limit=N`` answers ``{"results": [...]}``: one log entry
per message it accepted with those ids (``destination``, ``bulkId``, ``messageId``,
``sentAt``, ``doneAt``, ``messageCount``, ``price``, ``status``, ``error``, ``content``),
in the state the message ends in (the log is asked about long after the send).

Standalone: ``python -m tests.fakes.infobip_fake --port 0 --api-key KEY``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hmac
import json
import re
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

API_KEY = "fake-infobip-api-key-0123456789"
NUMBER = re.compile(r"^\+?[1-9]\d{6,14}$")

PENDING_ACCEPTED = {"groupId": 1, "groupName": "PENDING", "id": 26,
                    "name": "PENDING_ACCEPTED", "description": "Message sent to next instance"}
PENDING_ENROUTE = {"groupId": 1, "groupName": "PENDING", "id": 7,
                   "name": "PENDING_ENROUTE", "description": "Message sent to next instance"}
DELIVERED = {"groupId": 3, "groupName": "DELIVERED", "id": 5,
             "name": "DELIVERED_TO_HANDSET", "description": "Message delivered to handset"}
UNDELIVERABLE = {"groupId": 2, "groupName": "UNDELIVERABLE", "id": 9,
                 "name": "UNDELIVERABLE_NOT_DELIVERED",
                 "description": "Message sent not delivered"}
REJECTED_DESTINATION = {"groupId": 5, "groupName": "REJECTED", "id": 52,
                        "name": "REJECTED_DESTINATION",
                        "description": "Invalid destination address."}
NO_ERROR = {"groupId": 0, "groupName": "OK", "id": 0, "name": "NO_ERROR",
            "description": "No Error", "permanent": False}


def api_error(status: int, code: str, description: str, action: str = "",
              violations: list[dict[str, str]] | None = None,
              headers: dict[str, str] | None = None) -> web.Response:
    return json_error(status, {"errorCode": code, "description": description,
                               "action": action, "violations": violations or [],
                               "resources": []}, headers)


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


class InfobipFake(FakeServer):
    name = "infobip"
    receipt_batch = 50

    def __init__(self, *, api_key: str = API_KEY, **kw: Any) -> None:
        super().__init__(**kw)
        self.api_key = api_key
        self._expected_auth = f"App {api_key}".encode()
        self.intermediate: set[str] = set()
        self.lookups = 0  # requests to the logs endpoint

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/sms/3/messages", self._send)
        app.router.add_get("/sms/3/logs", self._logs)

    async def _logs(self, request: web.Request) -> web.Response:
        self.lookups += 1
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, self._expected_auth):
            return api_error(401, "E401", "Invalid login details.",
                             "Check the API key and the authorization scheme (App).")
        # Repeated or comma-separated, as Infobip takes them.
        wanted = {i for v in request.query.getall("messageId", []) for i in v.split(",") if i}
        try:
            limit = min(int(request.query.get("limit", "50")), 1000)
        except ValueError:
            return api_error(400, "E400", "Request has invalid fields.", "Fix limit.")
        found = [m for m in self.accepted if not wanted or m.provider_id in wanted]
        return await self._ok({"results": [self.log_entry(m) for m in found[:limit]]})

    def log_entry(self, message: Accepted) -> dict[str, Any]:
        final, code = self.final_status(message)
        report = self.report(message, final, code)
        moment = _iso(self.now())
        return {"destination": report["to"], "bulkId": report["bulkId"],
                "messageId": message.provider_id, "sentAt": moment, "doneAt": moment,
                "messageCount": message.segments, "price": report["price"],
                "status": report["status"], "error": report["error"],
                "content": {"text": message.body}, "mccMnc": "310260"}

    async def _send(self, request: web.Request) -> web.Response:
        self.requests += 1
        response = await self._send_inner(request)
        self.statuses[response.status] += 1
        return response

    async def _send_inner(self, request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, self._expected_auth):
            return api_error(401, "E401", "Invalid login details.",
                             "Check the API key and the authorization scheme (App).")
        if request.content_type != "application/json":
            return api_error(415, "E415", "Unsupported media type.", "Send JSON.")
        try:
            payload = await request.json()
        except ValueError:
            return api_error(400, "E400", "Request cannot be read.", "Send valid JSON.")
        messages = payload.get("messages") if isinstance(payload, dict) else None
        if not isinstance(messages, list) or not messages:
            return api_error(400, "E400", "Request has invalid fields.", "Fix the request.",
                             [{"property": "messages", "violation": "must not be empty"}])
        violations = self._violations(messages)
        if violations:
            return api_error(400, "E400", "Request has invalid fields.",
                             "Check the violations.", violations)
        recipients = [d["to"] for m in messages for d in m["destinations"]]
        rule = self.take_fault(["+" + r.lstrip("+") for r in recipients])
        if rule is not None and rule.kind is Fault.RATE_LIMIT:
            headers = {"Retry-After": rule.retry_after} if rule.retry_after else None
            return api_error(429, "E429", "Too many requests.",
                             "Slow down the request rate.", headers=headers)
        if rule is not None and rule.kind is Fault.SERVER_ERROR:
            return api_error(500, "E500", "Internal server error.", "Try again later.")
        results = [self._accept(m, d) for m in messages for d in m["destinations"]]
        body = {"bulkId": payload.get("bulkId") or self.new_digits(19), "messages": results}
        if rule is not None and rule.kind is Fault.ACCEPT_THEN_ERROR:
            return api_error(500, "E500", "Internal server error.", "Try again later.")
        if rule is not None and rule.kind is Fault.TIMEOUT:
            return await self.hold_then(rule, lambda: self._ok(body))
        return await self._ok(body)

    async def _ok(self, body: dict[str, Any]) -> web.Response:
        return web.Response(status=200, text=json.dumps(body), content_type="application/json")

    def _violations(self, messages: list[Any]) -> list[dict[str, str]]:
        out = []
        for i, message in enumerate(messages):
            if not isinstance(message, dict):
                out.append({"property": f"messages[{i}]", "violation": "must be an object"})
                continue
            destinations = message.get("destinations")
            if not isinstance(destinations, list) or not destinations:
                out.append({"property": f"messages[{i}].destinations",
                            "violation": "must not be empty"})
            else:
                for j, dest in enumerate(destinations):
                    if not isinstance(dest, dict) or not dest.get("to"):
                        out.append({"property": f"messages[{i}].destinations[{j}].to",
                                    "violation": "must not be blank"})
            content = message.get("content")
            if not isinstance(content, dict) or not content.get("text"):
                out.append({"property": f"messages[{i}].content.text",
                            "violation": "must not be blank"})
        return out

    def _accept(self, message: dict[str, Any], dest: dict[str, Any]) -> dict[str, Any]:
        to = str(dest["to"])
        message_id = str(dest.get("messageId") or self.new_hex(32))
        text = message["content"]["text"]
        segments = arithmetic(text)
        e164 = "+" + to.lstrip("+")
        if not NUMBER.match(to) or e164 in self.stop_numbers:
            return {"messageId": message_id, "status": REJECTED_DESTINATION,
                    "destination": to, "details": {"messageCount": 0}}
        delivery = (message.get("webhooks") or {}).get("delivery") or {}
        accepted = Accepted(provider_id=message_id, to=e164,
                            from_=str(message.get("sender", "")), body=text,
                            reference=str(dest["messageId"]) if dest.get("messageId") else None,
                            callback_url=delivery.get("url"), segments=segments)
        if delivery.get("intermediateReport"):
            self.intermediate.add(message_id)
        self.record(accepted)
        return {"messageId": message_id, "status": PENDING_ACCEPTED, "destination": to,
                "details": {"messageCount": segments}}

    # --- webhooks --------------------------------------------------------------------------

    def sent_status(self) -> str:
        return "PENDING_ENROUTE"

    def final_status(self, message: Accepted) -> tuple[str, str | None]:
        code = self.undeliverable.get(message.to)
        return ("UNDELIVERABLE_NOT_DELIVERED", code) if code else ("DELIVERED_TO_HANDSET", None)

    def report(self, message: Accepted, status: str, error_code: str | None) -> dict[str, Any]:
        now = _iso(dt.datetime.now(dt.UTC))
        state = {"PENDING_ENROUTE": PENDING_ENROUTE, "DELIVERED_TO_HANDSET": DELIVERED,
                 "UNDELIVERABLE_NOT_DELIVERED": UNDELIVERABLE}[status]
        error = NO_ERROR if not error_code else {
            "groupId": 1, "groupName": "HANDSET_ERRORS", "id": int(error_code),
            "name": "EC_ABSENT_SUBSCRIBER", "description": "Absent Subscriber",
            "permanent": False}
        return {"bulkId": "", "price": {"pricePerMessage": 0.0075, "currency": "EUR"},
                "status": state, "error": error, "messageId": message.provider_id,
                "to": message.to.lstrip("+"), "sender": message.from_, "sentAt": now,
                "doneAt": now, "messageCount": message.segments}

    async def post_receipts(self, jobs: list[ReceiptJob]) -> None:
        results = [self.report(job.message, job.status, job.error_code) for job in jobs
                   if job.status != "PENDING_ENROUTE"
                   or job.message.provider_id in self.intermediate]
        if results:
            assert jobs[0].url is not None
            await self.post(jobs[0].url, json_body={"results": results})

    async def send_unknown_receipt(self, url: str | None = None) -> int:
        target = url or self.receipt_url
        assert target, "no URL to post the receipt to"
        ghost = Accepted(provider_id=self.new_hex(32), to="+15005550007", from_="InfoSMS",
                         body="", reference=None, callback_url=None, segments=1)
        return await self.post(target, json_body={
            "results": [self.report(ghost, "DELIVERED_TO_HANDSET", None)]})

    async def send_inbound(self, from_: str, to: str, body: str) -> int:
        assert self.inbound_url, "InfobipFake(inbound_url=...) is needed for inbound"
        words = body.split(maxsplit=1)
        payload = {"results": [{
            "messageId": self.new_digits(18), "from": from_.lstrip("+"),
            "to": to.lstrip("+"), "text": body,
            "cleanText": words[1] if len(words) > 1 else "",
            "keyword": words[0].upper() if words else "",
            "receivedAt": _iso(dt.datetime.now(dt.UTC)),
            "smsCount": arithmetic(body) or 1,
            "price": {"pricePerMessage": 0.0, "currency": "EUR"}, "callbackData": None,
        }], "messageCount": 1, "pendingMessageCount": 0}
        return await self.post(self.inbound_url, json_body=payload)


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-key", default=API_KEY)


def _build(args: argparse.Namespace) -> InfobipFake:
    return InfobipFake(api_key=args.api_key, inbound_url=args.inbound_url,
                       receipt_url=args.receipt_url)


if __name__ == "__main__":
    run_standalone(_build, _arguments)
