from __future__ import annotations

import datetime as dt

import pytest

from core.billing.gate import AccountBillingGate
from core.billing.models import UsageRecord
from core.messaging.executor import Executor, ExecutorConfig
from core.messaging.models import MessageSent, MessageStatus
from core.messaging.service import MessageService
from core.providers.base import DeliveryState, Outcome, Receipt, SendOutcome
from tests.factories import make_tenant
from tests.fakes.base import ReceiptMode
from tests.messaging.helpers import make_list, make_subscribers, queue_to
from tests.messaging.scripted import ScriptedProvider
from tests.messaging.stack import stack


def receipt(state, *, pid=None, mid=None, code=None):
    return Receipt(provider="simulator", provider_message_id=pid, message_id=mid,
                   state=DeliveryState(state), error_code=code)


async def sent_messages(services, clock, count=2, script=None):
    tenant = await make_tenant(services)
    lst = await make_list(tenant.account.id)
    subs = await make_subscribers(lst, count, when=clock.now())
    await queue_to(subs, lst, now=clock.now())
    provider = ScriptedProvider(script) if script else ScriptedProvider()
    ex = Executor(clock=clock, providers=provider, policy=services.compliance,
                  billing=AccountBillingGate(clock=clock), callback_url=lambda *_: None,
                  config=ExecutorConfig())
    await ex.drain()
    return tenant, ex, await MessageSent.all().order_by("id")


async def test_status_moves_only_forward_and_duplicates_are_harmless(services, clock):
    tenant, _, (a, b) = await sent_messages(services, clock)
    q = MessageService(clock=clock, lists=services.lists)
    acc = tenant.account.id
    clock.advance(5)
    summary = await q.apply_receipts(acc, [receipt("delivered", pid=a.provider_message_id),
                                           receipt("delivered", pid=a.provider_message_id),
                                           receipt("sent", pid=a.provider_message_id),
                                           receipt("undelivered", mid=b.public_id,
                                                   code="30003"),
                                           receipt("delivered", pid="SMunknown")],
                                     source="webhook:test")
    assert (summary.applied, summary.ignored) == (2, 3)
    a = await MessageSent.get(id=a.id)
    b = await MessageSent.get(id=b.id)
    assert (a.status, a.delivered_at) == (MessageStatus.DELIVERED, clock.now())
    assert (b.status, b.error_code, b.failed_at) == (MessageStatus.UNDELIVERED, "30003",
                                                     clock.now())
    history = [(h.status, h.source) for h in await q.history(a)]
    assert history == [("queued", "outbox"), ("sent", "executor"),
                       ("delivered", "webhook:test")]


async def test_receipts_of_another_account_change_nothing(services, clock):
    _, _, (a, _) = await sent_messages(services, clock)
    other = await make_tenant(services, "Other", "o@o.test")
    q = MessageService(clock=clock, lists=services.lists)
    summary = await q.apply_receipts(other.account.id,
                                     [receipt("delivered", pid=a.provider_message_id)],
                                     source="webhook:test")
    assert summary.applied == 0
    assert (await MessageSent.get(id=a.id)).status == MessageStatus.SENT


async def test_late_receipt_settles_an_unknown_or_orphaned_message(services, clock):
    tenant, ex, (a, b) = await sent_messages(
        services, clock, script=lambda sms, n: SendOutcome(sms.message_id, Outcome.UNKNOWN,
                                                           error_message="timeout"))
    q = MessageService(clock=clock, lists=services.lists)
    await q.apply_receipts(tenant.account.id, [receipt("delivered", mid=a.public_id,
                                                       pid="SMlate")], source="webhook:test")
    clock.advance(minutes=11)
    assert await ex.reconcile() == 1  # b: nothing came back
    await q.apply_receipts(tenant.account.id, [receipt("sent", mid=b.public_id)],
                           source="webhook:test")
    a = await MessageSent.get(id=a.id)
    b = await MessageSent.get(id=b.id)
    assert (a.status, a.provider_message_id) == (MessageStatus.DELIVERED, "SMlate")
    assert b.status == MessageStatus.SENT and b.status_detail is None
    assert a.delivered_at < clock.now() - dt.timedelta(minutes=10)
    # The provider took both after all: both are billed, once.
    assert {u.message_id for u in await UsageRecord.all()} == {a.id, b.id}
    await q.apply_receipts(tenant.account.id, [receipt("delivered", mid=b.public_id)],
                           source="webhook:test")
    assert await UsageRecord.all().count() == 2


@pytest.mark.parametrize("provider", ["twilio", "infobip", "cm"])
@pytest.mark.parametrize("account", ["\u00b2", "\u0661", "99999999999", "9" * 30, "9" * 5000, "0"])
async def test_a_webhook_account_no_table_can_hold_is_refused_not_a_500(
        services, http, provider, account):
    resp = await http.post(f"/api/webhook-feedbacks/{provider}",
                           params={"account": account, "token": "x"},
                           data=b'{"results": []}', headers={"Content-Type": "application/json"})
    assert resp.status in (400, 403), await resp.text()
    assert (await resp.json())["code"] in ("missing_account", "invalid_signature")


async def test_an_oversized_twilio_receipt_is_applied_within_the_columns(db, clock, tmp_path):
    """A signed status callback whose ErrorCode or ErrorMessage is longer than our columns
    was a 500 on PostgreSQL (so Twilio retried it until it gave up: the receipt was lost)."""
    async with stack("twilio", clock=clock, tmp_path=tmp_path) as s:
        s.fake.receipt_mode = ReceiptMode.NONE  # only ours
        sent = await s.send("+12125550101")
        await s.executor.drain()
        row = await s.row(sent["message_id"])
        url = f"{s.fake.receipt_url}&message_id={sent['message_id']}"
        params = {"AccountSid": s.fake.account_sid, "From": "+14155550100",
                  "To": "+12125550101", "MessageSid": row.provider_message_id,
                  "MessageStatus": "undelivered", "ErrorCode": "3" * 40,
                  "ErrorMessage": "y" * 1000}
        assert await s.fake.post(url, data=params, headers=s.fake.sign(url, params)) == 200
        row = await s.row(sent["message_id"])
        assert row.status == MessageStatus.UNDELIVERED
        assert row.error_code is not None and row.error_code.startswith("333")
        assert len(row.error_code) <= 32 and len(row.error_message) <= 300
