"""Idempotency-Key as API.md promises it: the same request (the same JSON, however it is
written) replays the first answer; a key that is not text is a clear 400; a client that
hangs up mid-body is nobody's error."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from core.accounts.models import ApiKey
from core.contacts.models import ListContact
from core.system.models import IdempotencyRecord
from tests.contacts.helpers import LIST_NUMBER, make_list
from tests.factories import make_tenant
from tests.helpers import eventually
from web.app import create_app
from web.keys import METRICS

BODY = {"phone_number": "4155550150", "list_number": LIST_NUMBER, "first_name": "Ann",
        "custom_fields": {"zip": "94107", "plan": "gold"}}


@pytest.fixture
async def tenant(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    return tenant


async def _post(http, tenant, raw: bytes, key: str = "order-1"):
    resp = await http.post("/api/v2/contacts", data=raw, headers={
        **tenant.headers(), "Idempotency-Key": key, "Content-Type": "application/json"})
    return resp, await resp.json()


async def test_the_same_json_written_differently_is_the_same_request(http, tenant):
    first, created = await _post(http, tenant, json.dumps(BODY).encode())
    assert first.status == 201
    reordered = {"custom_fields": {"plan": "gold", "zip": "94107"}, "first_name": "Ann",
                 "list_number": LIST_NUMBER, "phone_number": "4155550150"}
    for raw in (json.dumps(BODY, indent=4).encode(),
                json.dumps(reordered, separators=(",", ":")).encode(),
                b"\n  " + json.dumps(BODY).encode() + b"\r\n"):
        again, replayed = await _post(http, tenant, raw)
        assert (again.status, again.headers.get("Idempotent-Replayed")) == (201, "true"), raw
        assert replayed == created
    other, conflict = await _post(http, tenant, json.dumps({**BODY, "first_name": "Bo"})
                                  .encode())
    assert (other.status, conflict["code"]) == (409, "idempotency_conflict")
    assert (await ListContact.get()).first_name == "Ann"
    # The same body to another endpoint is another request.
    resp = await http.post("/api/v2/send", headers={**tenant.headers(),
                                                    "Idempotency-Key": "order-1"},
                           json=BODY)
    assert (resp.status, (await resp.json())["code"]) == (409, "idempotency_conflict")


async def _raw(host: str, port: int, head: bytes, body: bytes = b"") -> bytes:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(head + body)
    await writer.drain()
    try:
        return await reader.read()
    finally:
        writer.close()


@pytest.mark.parametrize("key", [b"k\xff\xfe1", b"caf\xe9", b"a\xc2\x85b"])
async def test_a_key_that_is_not_text_is_a_clear_400(http, tenant, key, caplog):
    body = json.dumps(BODY).encode()
    head = (b"POST /api/v2/contacts HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
            b"X-Api-Key: " + tenant.headers()["X-Api-Key"].encode() + b"\r\n"
            b"Idempotency-Key: " + key + b"\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
    answer = await _raw(http.server.host, http.server.port, head, body)
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"400", answer
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["code"] == "invalid_idempotency_key"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await IdempotencyRecord.all().count() == 0
    assert await ListContact.all().count() == 0


@contextlib.asynccontextmanager
async def production_server(services) -> AsyncIterator[tuple[web.Application, int]]:
    """The app served as ``trackly run`` serves it (no handler cancellation when a client
    goes away, unlike aiohttp's test server)."""
    app = create_app(services)
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield app, runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def test_a_client_that_hangs_up_mid_body_is_not_logged_as_an_error(
        services, tenant, caplog):
    async with production_server(services) as (app, port):
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /api/v2/contacts HTTP/1.1\r\nHost: test\r\n"
                     b"X-Api-Key: " + tenant.headers()["X-Api-Key"].encode() + b"\r\n"
                     b"Idempotency-Key: order-9\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 1000\r\n\r\n{\"phone_number\": ")
        await writer.drain()

        async def answered() -> float:
            return sum(app[METRICS].requests.values())

        async def reading_the_body() -> bool:  # authenticated: the handler is waiting
            return await ApiKey.filter(last_used_at__isnull=False).exists()

        await eventually(reading_the_body, what="the server to read the headers")
        writer.close()
        await eventually(answered, what="the server to finish the request")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [
        r.getMessage() for r in caplog.records]
    assert await IdempotencyRecord.all().count() == 0
