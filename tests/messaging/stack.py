"""The whole send path for end-to-end tests: our real web app on a real port (its public
URL is what providers sign), the real services and executor, and a provider fake that
calls our webhooks back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from core.clock import FakeClock
from core.contacts.models import SendingList
from core.messaging.executor import Executor
from core.messaging.models import MessageSent
from core.services import Services
from core.settings import Settings
from tests.conftest import TEST_SECRET
from tests.factories import Tenant, make_tenant
from tests.fakes.base import FakeServer
from tests.fakes.cm_fake import CmFake
from tests.fakes.infobip_fake import InfobipFake
from tests.fakes.twilio_fake import TwilioFake
from tests.helpers import AppServer, free_port
from trackly.bootstrap import build_executor, build_services
from web.app import create_app

LIST_NUMBER = "+14155550100"


@dataclass
class Stack:
    provider: str
    services: Services
    client: TestClient
    base_url: str
    fake: FakeServer
    tenant: Tenant
    sending_list: SendingList
    executor: Executor
    clock: FakeClock

    async def send(self, to: str, body: str = "Deals today", **extra: Any) -> dict[str, Any]:
        resp = await self.client.post("/api/v2/send", headers=self.tenant.headers(), json={
            "to": to, "body": body, "list_number": LIST_NUMBER, **extra})
        assert resp.status == 201, await resp.text()
        return await resp.json()

    async def message(self, message_id: str) -> dict[str, Any]:
        resp = await self.client.get(f"/api/v2/messages/{message_id}",
                                     headers=self.tenant.headers())
        assert resp.status == 200, await resp.text()
        return await resp.json()

    async def settle(self) -> None:
        """Let the executor drain and the fake deliver every receipt it owes us."""
        await self.executor.drain()
        await self.fake.drain()
        await asyncio.sleep(0)

    async def row(self, message_id: str) -> MessageSent:
        return await MessageSent.get(public_id=message_id)


def _credentials(fake: FakeServer) -> dict[str, str]:
    if isinstance(fake, TwilioFake):
        return {"account_sid": fake.account_sid, "auth_token": fake.auth_token}
    if isinstance(fake, InfobipFake):
        return {"api_key": fake.api_key}
    assert isinstance(fake, CmFake)
    return {"product_token": fake.product_token}


@asynccontextmanager
async def stack(provider: str, *, clock: FakeClock, tmp_path: Any) -> AsyncIterator[Stack]:
    """Needs the ``db`` fixture to be active (the test's clean database)."""
    fake: FakeServer = {"twilio": TwilioFake, "infobip": InfobipFake, "cm": CmFake}[provider]()
    fake.now = clock.now  # the times its API shows agree with ours
    await fake.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(database_url="sqlite://:memory:", secret_key=TEST_SECRET,
                        public_url=base, twilio_base_url=fake.url, infobip_base_url=fake.url,
                        cm_base_url=fake.url, data_dir=tmp_path)
    services = build_services(settings, clock=clock, secret_key=TEST_SECRET)
    client = TestClient(AppServer(create_app(services), port=port))
    await client.start_server()
    try:
        tenant = await make_tenant(services)
        resp = await client.post("/api/v2/lists", headers=tenant.headers(), json={
            "phone_number": LIST_NUMBER, "provider": provider, "brand_name": "Acme",
            "credentials": _credentials(fake)})
        assert resp.status == 201, await resp.text()
        sending_list = await SendingList.get(id=(await resp.json())["id"])
        hook = f"{base}/api/webhook-feedbacks/{provider}?account={tenant.account.id}"
        if provider != "twilio":
            hook += f"&token={sending_list.webhook_token}"
        fake.inbound_url = hook
        fake.receipt_url = hook
        yield Stack(provider, services, client, base, fake, tenant, sending_list,
                    build_executor(services), clock)
    finally:
        await client.close()
        await services.providers.close()
        await fake.close()
