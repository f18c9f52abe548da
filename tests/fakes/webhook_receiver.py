"""A customer's webhook receiver: an aiohttp server on a loopback port that checks every
request's signatures the way a receiver would (the ``standardwebhooks`` package for
``webhook-signature``, a plain HMAC for ``X-Trackly-Signature``), records it, and answers
with the status the test asks for."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    standard_ok: bool  # webhook-signature verified
    simple_ok: bool  # X-Trackly-Signature verified
    answered: int

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)


class WebhookReceiver:
    def __init__(self) -> None:
        self.secret = ""
        self.received: list[Received] = []
        self.status = 200  # what to answer
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hook", self._hook)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = dict(request.headers)
        self.received.append(Received(headers, body, self._standard(headers, body),
                                      self._simple(headers, body), self.status))
        return web.Response(status=self.status, text="ok")

    def _standard(self, headers: dict[str, str], body: bytes) -> bool:
        # Webhook.verify() also checks the timestamp against the real clock; the tests
        # run on a FakeClock, so the signature is checked for the timestamp sent.
        try:
            at = dt.datetime.fromtimestamp(int(headers["webhook-timestamp"]), dt.UTC)
            expected = Webhook(self.secret).sign(headers["webhook-id"], at, body.decode())
        except (KeyError, ValueError):
            return False
        return expected in headers.get("webhook-signature", "").split(" ")

    def _simple(self, headers: dict[str, str], body: bytes) -> bool:
        expected = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, headers.get("X-Trackly-Signature", ""))
