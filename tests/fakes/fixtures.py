"""pytest fixtures for the provider fakes (loaded by tests/conftest.py).

- ``twilio_fake``, ``infobip_fake``, ``cm_fake``: a started fake on an ephemeral port with
  default credentials (``fake.account_sid`` / ``fake.auth_token``, ``fake.api_key``,
  ``fake.product_token``). Set ``fake.inbound_url`` / ``fake.receipt_url`` to where the
  fake should call back (your webhook endpoint).
- ``webhook_sink``: a tiny server that records every call as a
  ``core.providers.base.WebhookRequest`` (for tests of parsing without the web app).
- ``client_session``: an aiohttp ClientSession, closed afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TypeVar

import aiohttp
import pytest
from aiohttp import web

from core.providers.base import WebhookRequest
from tests.fakes.base import FakeServer
from tests.fakes.cm_fake import CmFake
from tests.fakes.infobip_fake import InfobipFake
from tests.fakes.twilio_fake import TwilioFake

F = TypeVar("F", bound=FakeServer)


async def _started(fake: F) -> AsyncIterator[F]:
    await fake.start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
async def twilio_fake() -> AsyncIterator[TwilioFake]:
    async for fake in _started(TwilioFake()):
        yield fake


@pytest.fixture
async def infobip_fake() -> AsyncIterator[InfobipFake]:
    async for fake in _started(InfobipFake()):
        yield fake


@pytest.fixture
async def cm_fake() -> AsyncIterator[CmFake]:
    async for fake in _started(CmFake()):
        yield fake


@pytest.fixture
async def client_session() -> AsyncIterator[aiohttp.ClientSession]:
    session = aiohttp.ClientSession()
    try:
        yield session
    finally:
        await session.close()


class WebhookSink:
    """Records webhook calls the way our endpoints will see them."""

    def __init__(self) -> None:
        self.calls: list[WebhookRequest] = []
        self.answer = 200
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> WebhookSink:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        form: dict[str, str] = {}
        if request.content_type == "application/x-www-form-urlencoded":
            form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        self.calls.append(WebhookRequest(
            url=str(request.url), method=request.method, headers=dict(request.headers),
            query=dict(request.query), form=form, body=body,
        ))
        return web.Response(status=self.answer)


@pytest.fixture
async def webhook_sink() -> AsyncIterator[WebhookSink]:
    sink = await WebhookSink().start()
    try:
        yield sink
    finally:
        await sink.close()
