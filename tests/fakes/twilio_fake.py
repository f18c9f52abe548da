"""A Twilio Programmable Messaging fake that speaks the 2010-04-01 REST API.

``POST /2010-04-01/Accounts/{AccountSid}/Messages.json`` with HTTP Basic auth (account
SID + auth token) and a form-encoded body, answered with Twilio's message resource
(``SM`` + 32 hex sid) or its error document (``code``, ``message``, ``more_info``,
``status``). Status callbacks and inbound messages are posted form-encoded and signed with
``X-Twilio-Signature`` exactly as Twilio does (the SDK's RequestValidator scheme).

``GET .../Messages/{sid}.json`` fetches one message and ``GET .../Messages.json``
(``To``, ``From``, ``PageSize``) lists them newest first in Twilio's page shape
(``messages``, ``page``, ``page_size``, ``next_page_uri``, ...), each in the state it
ends in (a lookup comes long after the send).

Standalone: ``python -m tests.fakes.twilio_fake --port 0 --account-sid AC... --auth-token
... [--inbound-url URL]`` prints ``{"port": N, "url": ...}``; see tests.fakes.base for the
control API.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import email.utils
import hmac
import json
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from twilio.request_validator import RequestValidator

from tests.fakes.base import (
    Accepted,
    FakeServer,
    Fault,
    ReceiptJob,
    json_error,
    run_standalone,
)
from tests.fakes.segments import packed

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# Twilio's default opt-out and opt-in keywords (Advanced Opt-Out off).
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT",
                     "REVOKE", "STOP ALL", "OPT OUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})
ACCOUNT_SID = "AC" + "0" * 31 + "1"
AUTH_TOKEN = "f4ce" + "0123456789abcdef" + "0123456789ab"  # 32 hex, like a real one


def twilio_error(status: int, code: int, message: str,
                 headers: dict[str, str] | None = None) -> web.Response:
    return json_error(status, {
        "code": code, "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status,
    }, headers)


class TwilioFake(FakeServer):
    name = "twilio"

    def __init__(self, *, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN,
                 numbers: set[str] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.numbers = numbers  # From numbers the account owns; None accepts any
        self.account_status = "active"  # or "suspended", "closed"
        self._validator = RequestValidator(auth_token)
        raw = base64.b64encode(f"{account_sid}:{auth_token}".encode()).decode()
        self._expected_auth = f"Basic {raw}"
        self.by_sid: dict[str, Accepted] = {}
        # Any other Twilio error for a recipient: to -> (HTTP status, code, message),
        # e.g. {"+1555...": (400, 21408, "Permission to send an SMS has not been enabled")}
        self.errors_for: dict[str, tuple[int, int, str]] = {}
        self.forge_with: str | None = None
        self._date_second = -1
        self._date_text = ""
        self.lookups = 0  # GET requests for messages (fetch and list)
        self.created: dict[str, str] = {}  # sid -> date_created as Twilio writes it

    def routes(self, app: web.Application) -> None:
        base = "/2010-04-01/Accounts/{account_sid}/Messages"
        app.router.add_post(base + ".json", self._create)
        app.router.add_get(base + ".json", self._list)
        app.router.add_get(base + "/{sid}.json", self._fetch)
        app.router.add_get("/2010-04-01/Accounts/{account_sid}.json", self._account)

    # --- REST ------------------------------------------------------------------------------

    def _authorised(self, request: web.Request) -> bool:
        given = request.headers.get("Authorization", "")
        return (request.match_info["account_sid"] == self.account_sid
                and hmac.compare_digest(given.encode(), self._expected_auth.encode()))

    async def _account(self, request: web.Request) -> web.Response:
        """The Account resource, as Twilio answers the account's own credentials."""
        if not self._authorised(request):
            return twilio_error(401, 20003, "Authenticate")
        return web.json_response({
            "sid": self.account_sid, "owner_account_sid": self.account_sid,
            "friendly_name": "Fake Twilio account", "status": self.account_status,
            "type": "Full", "date_created": "Mon, 02 Feb 2026 10:00:00 +0000",
            "uri": f"/2010-04-01/Accounts/{self.account_sid}.json"})

    async def _create(self, request: web.Request) -> web.Response:
        self.requests += 1
        response = await self._create_inner(request)
        self.statuses[response.status] += 1
        return response

    async def _create_inner(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return twilio_error(401, 20003, "Authenticate")
        if request.content_type != "application/x-www-form-urlencoded":
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        form = await request.post()
        to, from_, body = form.get("To"), form.get("From"), form.get("Body")
        callback = form.get("StatusCallback")
        if not isinstance(to, str) or not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        rule = self.take_fault([to])
        if rule is not None and rule.kind is Fault.RATE_LIMIT:
            headers = {"Retry-After": rule.retry_after} if rule.retry_after else None
            return twilio_error(429, 20429, "Too Many Requests", headers)
        if rule is not None and rule.kind is Fault.SERVER_ERROR:
            return twilio_error(500, 20500, "Internal Server Error")
        if not E164.match(to):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not isinstance(from_, str) or not from_:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if self.numbers is not None and from_ not in self.numbers:
            return twilio_error(400, 21606, f"The 'From' phone number provided ({from_}) is "
                                "not a valid message-capable Twilio phone number for this "
                                "destination/account.")
        if not isinstance(body, str) or not body:
            return twilio_error(400, 21602, "Message body is required.")
        if len(body) > 1600:
            return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 "
                                "character limit.")
        if callback is not None and not (isinstance(callback, str)
                                         and callback.startswith(("http://", "https://"))):
            return twilio_error(400, 21609, "Invalid StatusCallback url")
        if to in self.stop_numbers:
            return twilio_error(400, 21610, "Attempt to send to unsubscribed recipient")
        if to in self.errors_for:
            return twilio_error(*self.errors_for[to])
        if rule is not None and rule.kind is Fault.TIMEOUT and not rule.accept:
            return await self.hold_then(rule, lambda: self._created(None, to, from_, body))
        callback_url = callback if isinstance(callback, str) else None
        message = Accepted(
            provider_id="SM" + self.new_hex(32), to=to, from_=from_, body=body,
            reference=_message_id(callback_url), callback_url=callback_url,
            segments=packed(body),
        )
        self.by_sid[message.provider_id] = message
        self.created[message.provider_id] = self._date()
        self.record(message)
        if rule is not None and rule.kind is Fault.ACCEPT_THEN_ERROR:
            return twilio_error(500, 20500, "Internal Server Error")
        if rule is not None and rule.kind is Fault.TIMEOUT:
            return await self.hold_then(rule, lambda: self._created(message, to, from_, body))
        return await self._created(message, to, from_, body)

    async def _created(self, message: Accepted | None, to: str, from_: str,
                       body: str) -> web.Response:
        sid = message.provider_id if message else "SM" + self.new_hex(32)
        return web.Response(status=201, content_type="application/json",
                            text=json.dumps(self._resource(sid, to, from_, body, "queued",
                                                           message.segments if message else 1)))

    def _resource(self, sid: str, to: str, from_: str, body: str, status: str,
                  segments: int, error_code: str | None = None) -> dict[str, Any]:
        now = self._date()
        created = self.created.get(sid, now)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid, "api_version": "2010-04-01", "body": body,
            "date_created": created, "date_updated": now,
            "date_sent": None if status in ("queued", "accepted", "failed") else created,
            "direction": "outbound-api",
            "error_code": int(error_code) if error_code else None,
            "error_message": "Unknown error" if error_code else None,
            "from": from_, "messaging_service_sid": None, "num_media": "0",
            "num_segments": str(segments), "price": None, "price_unit": "USD",
            "sid": sid, "status": status,
            "subresource_uris": {"media": f"{uri}/Media.json"}, "to": to,
            "uri": f"{uri}.json",
        }

    def _date(self) -> str:
        """RFC 2822 date as Twilio writes it, formatted once per second (hot path)."""
        second = int(self.now().timestamp())
        if second != self._date_second:
            moment = dt.datetime.fromtimestamp(second, dt.UTC)
            self._date_text = email.utils.format_datetime(moment, usegmt=True).replace(
                "GMT", "+0000")
            self._date_second = second
        return self._date_text

    async def _fetch(self, request: web.Request) -> web.Response:
        self.lookups += 1
        if not self._authorised(request):
            return twilio_error(401, 20003, "Authenticate")
        message = self.by_sid.get(request.match_info["sid"])
        if message is None:
            return twilio_error(404, 20404, "The requested resource was not found")
        return web.json_response(self._ended(message))

    async def _list(self, request: web.Request) -> web.Response:
        self.lookups += 1
        if not self._authorised(request):
            return twilio_error(401, 20003, "Authenticate")
        to, from_ = request.query.get("To"), request.query.get("From")
        try:
            size = max(1, min(int(request.query.get("PageSize", "50")), 1000))
        except ValueError:
            return twilio_error(400, 20001, "Invalid PageSize")
        found = [m for m in reversed(self.accepted)  # newest first
                 if (to is None or m.to == to) and (from_ is None or m.from_ == from_)]
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages.json?PageSize={size}"
        page = found[:size]
        return web.json_response({
            "messages": [self._ended(m) for m in page], "end": max(len(page) - 1, 0),
            "first_page_uri": uri + "&Page=0",
            "next_page_uri": uri + "&Page=1&PageToken=PAnext" if len(found) > size else None,
            "page": 0, "page_size": size, "previous_page_uri": None, "start": 0, "uri": uri})

    def _ended(self, message: Accepted) -> dict[str, Any]:
        """The message resource in the state it ends in."""
        status, code = self.final_status(message)
        return self._resource(message.provider_id, message.to, message.from_, message.body,
                              status, message.segments, code)

    # --- webhooks --------------------------------------------------------------------------

    def sent_status(self) -> str:
        return "sent"

    def final_status(self, message: Accepted) -> tuple[str, str | None]:
        code = self.undeliverable.get(message.to)
        return ("undelivered", code) if code else ("delivered", None)

    def sign(self, url: str, params: dict[str, str]) -> dict[str, str]:
        """X-Twilio-Signature for this call. Set ``forge_with`` to sign with another
        token, as a forger would (our endpoint must answer 403 and store nothing)."""
        validator = RequestValidator(self.forge_with) if self.forge_with else self._validator
        return {"X-Twilio-Signature": validator.compute_signature(url, params)}

    async def post_receipts(self, jobs: list[ReceiptJob]) -> None:
        for job in jobs:
            assert job.url is not None
            message = job.message
            params = {
                "AccountSid": self.account_sid, "ApiVersion": "2010-04-01",
                "From": message.from_, "To": message.to,
                "MessageSid": message.provider_id, "SmsSid": message.provider_id,
                "MessageStatus": job.status, "SmsStatus": job.status,
            }
            if job.error_code:
                params["ErrorCode"] = job.error_code
            await self.post(job.url, data=params, headers=self.sign(job.url, params))

    async def send_unknown_receipt(self, url: str | None = None) -> int:
        target = url or self.receipt_url or self.inbound_url
        assert target, "no URL to post the receipt to"
        sid = "SM" + self.new_hex(32)
        params = {"AccountSid": self.account_sid, "ApiVersion": "2010-04-01",
                  "From": "+15005550006", "To": "+15005550007", "MessageSid": sid,
                  "SmsSid": sid, "MessageStatus": "delivered", "SmsStatus": "delivered"}
        return await self.post(target, data=params, headers=self.sign(target, params))

    async def send_inbound(self, from_: str, to: str, body: str) -> int:
        """Post an inbound SMS to ``inbound_url``. Like Twilio's default opt-out handling,
        a STOP keyword blocks the sender (21610 from then on) and START unblocks it."""
        assert self.inbound_url, "TwilioFake(inbound_url=...) is needed for inbound"
        keyword = body.strip().upper()
        if keyword in OPT_OUT:
            self.stop_numbers.add(from_)
        elif keyword in OPT_IN:
            self.stop_numbers.discard(from_)
        sid = "SM" + self.new_hex(32)
        params = {
            "ToCountry": "US", "ToState": "", "SmsMessageSid": sid, "NumMedia": "0",
            "ToCity": "", "FromZip": "", "SmsSid": sid, "FromState": "", "SmsStatus":
            "received", "FromCity": "", "Body": body, "FromCountry": "US", "To": to,
            "ToZip": "", "NumSegments": str(packed(body) or 1), "MessageSid": sid,
            "AccountSid": self.account_sid, "From": from_, "ApiVersion": "2010-04-01",
        }
        return await self.post(self.inbound_url, data=params,
                               headers=self.sign(self.inbound_url, params))


def _message_id(callback_url: str | None) -> str | None:
    """Our message id, which the adapter puts in the StatusCallback query string."""
    if not callback_url:
        return None
    values = parse_qs(urlsplit(callback_url).query).get("message_id")
    return values[0] if values else None


def _arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--account-sid", default=ACCOUNT_SID)
    parser.add_argument("--auth-token", default=AUTH_TOKEN)


def _build(args: argparse.Namespace) -> TwilioFake:
    return TwilioFake(account_sid=args.account_sid, auth_token=args.auth_token,
                      inbound_url=args.inbound_url, receipt_url=args.receipt_url)


if __name__ == "__main__":
    run_standalone(_build, _arguments)
