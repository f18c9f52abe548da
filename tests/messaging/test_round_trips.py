"""Issue 11: round-trip budgets on the hot paths, counted as statements the database is
sent (not time), on both backends. A regression that adds a query to a receipt, a STOP,
a single send or an executor batch fails here, in CI.

Each budget is the count measured when it was set; the statements are printed when a
test fails, so the new one is easy to find."""

from __future__ import annotations

import asyncio

import pytest

from core.billing.gate import AccountBillingGate
from core.contacts.models import ListContact
from core.messaging.executor import Executor, ExecutorConfig
from core.messaging.models import MessageSent, MessageStatus
from tests.conftest import IS_POSTGRES
from tests.factories import make_tenant
from tests.fakes.base import ReceiptMode
from tests.inbound.helpers import ALICE, subscribe, subscription
from tests.messaging.helpers import make_list, make_subscribers, queue_to
from tests.messaging.scripted import ScriptedProvider
from tests.messaging.stack import LIST_NUMBER, stack
from tests.statements import Statements, count_statements

BOB = "+12125550102"

# Budgets: statements per operation (PostgreSQL, SQLite). SQLite's counts include the
# BEGIN and COMMIT that PostgreSQL's single statements do not need.
# A receipt: the list's secret, the webhook endpoints, and its write: on PostgreSQL one
# statement (update, history and usage together, committed on its own), on SQLite BEGIN,
# UPDATE, history INSERT, COMMIT (was 6 on PostgreSQL too).
RECEIPT = 3 if IS_POSTGRES else 6
# A STOP: the list's secrets, the list with its account (one read), then one transaction:
# contact, opt-out, queued messages dropped, the inbound row (last: a duplicate rolls all
# back, no savepoint), the alert, webhook endpoints, the confirmation. Was 16 and 18.
STOP = 11 if IS_POSTGRES else 12
# A single send: the API key with its account (one read, which the send reuses; was a
# second read of the account), then one transaction: BEGIN, the idempotency claim, the
# list, the contact with its subscription (one statement on PostgreSQL; SQLite reads the
# subscription on its own), the message, the answer, COMMIT. Was 10 on both.
SEND = 8 if IS_POSTGRES else 9
BATCH_OF_500 = 13 if IS_POSTGRES else 15  # one transaction for the outcomes


def within(seen: Statements, budget: int) -> None:
    assert len(seen) <= budget, f"{len(seen)} statements > {budget}:\n{seen.report()}"
    assert not seen.matching("RESET ALL"), "the pool resets connections again"


@pytest.mark.parametrize("provider", ["infobip", "twilio"])
async def test_a_delivery_receipt_stays_within_its_round_trips(db, clock, tmp_path,
                                                                 provider):
    async with stack(provider, clock=clock, tmp_path=tmp_path) as s:
        s.fake.receipt_mode = ReceiptMode.NONE  # the test posts the receipt itself
        sent = await s.send(ALICE)
        await s.executor.drain()
        message = s.fake.accepted[0]
        url = message.callback_url
        if provider == "infobip":
            payload = {"results": [s.fake.report(message, "DELIVERED_TO_HANDSET", None)]}
            async with count_statements() as seen:
                assert await s.fake.post(url, json_body=payload) == 200
        else:
            params = {"AccountSid": s.fake.account_sid, "ApiVersion": "2010-04-01",
                      "From": message.from_, "To": message.to,
                      "MessageSid": message.provider_id, "SmsSid": message.provider_id,
                      "MessageStatus": "delivered", "SmsStatus": "delivered"}
            async with count_statements() as seen:
                assert await s.fake.post(url, data=params,
                                         headers=s.fake.sign(url, params)) == 200
        # Durable before its 200: read back on another statement, after the answer.
        assert (await s.row(sent["message_id"])).status == MessageStatus.DELIVERED
        within(seen, RECEIPT)


async def test_concurrent_receipts_share_their_commits(db, clock, tmp_path):
    """Twenty providers' requests at once: each answered 200 only once its row is
    durable, and written in a few transactions, not twenty."""
    async with stack("infobip", clock=clock, tmp_path=tmp_path) as s:
        s.fake.receipt_mode = ReceiptMode.NONE
        sent = [await s.send(f"+1212555{i:04d}") for i in range(20)]
        await s.executor.drain()
        posts = [(m.callback_url, {"results": [
            s.fake.report(m, "DELIVERED_TO_HANDSET", None)]}) for m in s.fake.accepted]
        await s.fake.post(posts[0][0], json_body={"results": []})  # secrets cache warm
        async with count_statements() as seen:
            statuses = await asyncio.gather(*(s.fake.post(url, json_body=body)
                                              for url, body in posts))
        assert statuses == [200] * 20
        for answer in sent:
            assert (await s.row(answer["message_id"])).status == MessageStatus.DELIVERED
        # PostgreSQL: a flush is one statement committed on its own (no BEGIN/COMMIT);
        # SQLite: one transaction a flush.
        commits = len(seen.matching("UPDATE message_sent" if IS_POSTGRES else "COMMIT"))
        assert 1 <= commits <= 10, seen.report()  # twenty, one a request, before
        assert not seen.matching("BEGIN") or not IS_POSTGRES, seen.report()


async def test_a_stop_stays_within_its_round_trips(db, clock, tmp_path):
    async with stack("infobip", clock=clock, tmp_path=tmp_path) as s:
        await subscribe(s, ALICE)
        await subscribe(s, BOB)  # a neighbour the STOP must not touch
        async with count_statements() as seen:
            assert await s.fake.send_inbound(ALICE, LIST_NUMBER, "STOP") == 200
        assert await subscription(ALICE) == "unsubscribed"
        assert await subscription(BOB) == "active"
        within(seen, STOP)


async def test_a_single_send_stays_within_its_round_trips(db, clock, tmp_path):
    async with stack("infobip", clock=clock, tmp_path=tmp_path) as s:
        await s.send(BOB)  # the list and key are warm, as they are in production
        headers = {**s.tenant.headers(), "Idempotency-Key": "send-alice-1"}
        async with count_statements() as seen:
            resp = await s.client.post("/api/v2/send", headers=headers, json={
                "to": ALICE, "body": "Deals today", "list_number": LIST_NUMBER})
            assert resp.status == 201, await resp.text()
        answer = await resp.json()
        row = await s.row(answer["message_id"])
        assert (row.status, row.to_number) == (MessageStatus.QUEUED, ALICE)
        within(seen, SEND)
        # The same request again answers the first answer and queues nothing.
        again = await s.client.post("/api/v2/send", headers=headers, json={
            "to": ALICE, "body": "Deals today", "list_number": LIST_NUMBER})
        assert again.headers.get("Idempotent-Replayed") == "true"
        assert (await again.json())["message_id"] == answer["message_id"]
        assert await MessageSent.filter(to_number=ALICE).count() == 1


async def test_an_executor_batch_of_500_stays_within_its_round_trips(services, clock):
    tenant = await make_tenant(services)
    lst = await make_list(tenant.account.id)
    subs = await make_subscribers(lst, 500, when=clock.now())
    await queue_to(subs, lst, now=clock.now())
    provider = ScriptedProvider()
    ex = Executor(clock=clock, providers=provider, policy=services.compliance,
                  billing=AccountBillingGate(clock=clock), callback_url=lambda *_: None,
                  config=ExecutorConfig(batch_size=500))
    async with count_statements() as seen:
        report = await ex.drain_once()
    assert (report.claimed, report.sent) == (500, 500)
    assert await MessageSent.filter(status=MessageStatus.SENT).count() == 500
    assert len(provider.requests) == 500
    assert await ListContact.filter(sending_list_id=lst.id, send_count=1).count() == 500
    within(seen, BATCH_OF_500)
