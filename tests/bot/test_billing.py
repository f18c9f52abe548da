"""/sms usage and /sms balance through the fake Discord (issue 16, item 1 for these
commands): what the user sees, and that it is what the database holds. Usage is seeded as
tests/billing does: usage records as the send pipeline writes them, and real sends through
the executor whose provider receipts count segments differently from us."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest

from bot.cogs.sms import UsagePeriod
from bot.render import COLOUR, DANGER, WARNING
from bot.render.billing import usd
from core.accounts.models import Account, AccountStatus, BillingStatus
from core.billing.gate import AccountBillingGate
from core.billing.models import BillingProfile, Invoice, InvoiceStatus, UsageRecord
from core.billing.service import PERIODS
from core.messaging.executor import Executor, ExecutorConfig
from core.messaging.models import MessageSent
from core.messaging.receipts import apply_receipts
from core.permissions import Role
from core.providers.base import DeliveryState, Receipt
from tests.billing.helpers import at, start_cycle, use
from tests.discord_fake.fixtures import link_user
from tests.factories import make_tenant
from tests.messaging.helpers import make_list, make_subscribers, queue_to
from tests.messaging.scripted import ScriptedProvider

NOW = at(2026, 3, 2, 16)  # 11:00 in New York: inside sending hours
LINK_FIRST = ("You are not linked to a Trackly account. To link one, use "
              "`/sms link <api_key>` (the reply is private).")


def fields(reply) -> dict[str, str]:
    [embed] = reply.embeds
    return {f["name"]: f["value"] for f in embed["fields"]}


def stamp(at_: dt.datetime, style: str = "f") -> str:
    return f"<t:{int(at_.timestamp())}:{style}>"


def sender(services, clock, provider) -> Executor:
    return Executor(clock=clock, providers=provider, policy=services.compliance,
                    billing=AccountBillingGate(clock=clock, cache_seconds=0),
                    callback_url=lambda lst, mid: None, config=ExecutorConfig(batch_size=50))


async def viewer_of(services, discord_fake, tenant):
    user = discord_fake.add_user("vera")
    await link_user(services, user, tenant.keys[Role.VIEWER])
    return user


# -- /sms usage --------------------------------------------------------------------------

async def usage_seeded(services, clock):
    """Usage in February, in the last week, this month, and two real sends today that the
    provider bills as 2 + 1 segments where we counted 1 + 1."""
    clock.set(NOW)
    tenant = await make_tenant(services)
    account = tenant.account.id
    await start_cycle(account, at(2026, 2, 1, 0))
    await use(account, 1_000, at(2026, 2, 10))
    await use(account, 2_000, at(2026, 2, 25))
    await use(account, 12_000, at(2026, 3, 1, 8))
    lst = await make_list(account)
    subs = await make_subscribers(lst, 2, when=clock.now())
    await queue_to(subs, lst, now=clock.now())
    await sender(services, clock, ScriptedProvider()).drain()
    first, second = await MessageSent.filter(account_id=account).order_by("id")
    await apply_receipts(account, [
        Receipt(provider="simulator", provider_message_id=first.provider_message_id,
                state=DeliveryState.DELIVERED, segments=2),
        Receipt(provider="simulator", provider_message_id=second.provider_message_id,
                state=DeliveryState.DELIVERED, segments=1)], source="test", now=clock.now())
    return tenant


async def from_rows(account_id: int, since: dt.datetime | None) -> dict[str, str]:
    """The usage fields as the stored rows say, computed here in Python: a record is
    billed on its message's provider count where the provider gave one."""
    rows = await UsageRecord.filter(account_id=account_id).prefetch_related("message")
    rows = [r for r in rows if since is None or r.occurred_at >= since]
    billed = [(r.message.provider_segments or r.segments) if r.message else r.segments
              for r in rows]
    list_cost = sum((Decimal(r.price) for r in rows), Decimal(0))
    return {"Messages": f"{len(rows):,}", "Segments": f"{sum(billed):,}",
            "At list price": f"${list_cost.quantize(Decimal('0.01'), ROUND_HALF_UP):,}"}


@pytest.mark.parametrize(("option", "title", "since", "expected"), [
    (None, "this month (UTC)", at(2026, 3, 1, 0), ("3", "12,003", "$54.01", 12_002)),
    ("month", "this month (UTC)", at(2026, 3, 1, 0), ("3", "12,003", "$54.01", 12_002)),
    ("today", "today (UTC)", at(2026, 3, 2, 0), ("2", "3", "$0.01", 2)),
    ("week", "the last 7 days", NOW - dt.timedelta(days=7), ("4", "14,003", "$63.01", 14_002)),
    ("all", "all time", None, ("5", "15,003", "$67.51", 15_002)),
])
async def test_usage_shows_messages_segments_cost_and_the_providers_difference(
        bot, discord_fake, services, clock, option, title, since, expected):
    tenant = await usage_seeded(services, clock)
    vera = await viewer_of(services, discord_fake, tenant)  # viewers may read usage

    reply = await discord_fake.command(vera, "sms usage",
                                       {"period": option} if option else None)

    assert reply.ephemeral
    [embed] = reply.embeds
    assert embed["title"] == f"Usage · {title}"
    assert embed["description"] == (f"From {stamp(since)} to {stamp(NOW)}." if since
                                    else f"Everything up to {stamp(NOW)}.")
    messages, segments, cost, ours = expected
    shown = fields(reply)
    assert (shown["Messages"], shown["Segments"], shown["At list price"]) == (
        messages, segments, cost)
    assert {k: shown[k] for k in ("Messages", "Segments", "At list price")} == \
        await from_rows(tenant.account.id, since)
    assert shown["Provider count vs ours"] == (
        f"Providers counted {segments} segments where we counted {ours:,} (+1), on "
        "1 message. You are billed on the providers' count.")


async def test_usage_of_a_quiet_period_says_nothing_was_sent_and_shows_no_difference(
        bot, discord_fake, services, clock):
    clock.set(NOW)
    tenant = await make_tenant(services)
    await use(tenant.account.id, 500, at(2026, 2, 10))  # last month only
    vera = await viewer_of(services, discord_fake, tenant)

    reply = await discord_fake.command(vera, "sms usage", {"period": "today"})

    assert reply.embeds[0]["description"] == (f"From {stamp(at(2026, 3, 2, 0))} to "
                                              f"{stamp(NOW)}. Nothing was sent.")
    assert fields(reply) == {"Messages": "0", "Segments": "0", "At list price": "$0.00"}


def test_usage_offers_exactly_the_periods_core_knows():
    assert UsagePeriod.__args__ == PERIODS


@pytest.mark.parametrize(("amount", "shown"), [
    ("1234567.885", "$1,234,567.89"),  # half up, as charges round
    ("0.0049", "$0.00"), ("0.005", "$0.01"), ("-11.745", "-$11.75"), ("0", "$0.00")])
def test_money_is_shown_to_the_cent_with_thousands_separators(amount, shown):
    assert usd(Decimal(amount)) == shown


# -- /sms balance ------------------------------------------------------------------------

async def test_balance_shows_unbilled_usage_the_cap_left_and_then_the_invoice_owed(
        bot, discord_fake, services, clock):
    clock.set(at(2026, 3, 2))
    tenant = await make_tenant(services)
    account = tenant.account.id
    await start_cycle(account, at(2026, 3, 1, 0))
    await use(account, 800, at(2026, 3, 2))
    await services.billing.set_spend_cap(tenant.owner, Decimal("250.5"))
    vera = await viewer_of(services, discord_fake, tenant)  # viewers may read the balance

    reply = await discord_fake.command(vera, "sms balance")

    assert reply.ephemeral
    [embed] = reply.embeds
    assert (embed["title"], embed["description"], embed["color"]) == (
        "Balance", "Billing is in good standing.", COLOUR.value)
    # 800 segments, the first 500 of the month free: 300 x $0.0045.
    assert fields(reply) == {
        "Outstanding": "Nothing",
        "Unbilled usage": "800 segments · $1.35",
        "This month so far": "$1.35",
        "Spend cap": "$250.50 · $249.15 left this month",
        "This billing cycle": "800 segments · next invoice at 10,000 (9,200 to go) or at "
                              "month end",
        "Pays by": "invoice (paid by hand)"}

    # Past the 10,000 threshold: billing issues an invoice for everything so far.
    clock.set(at(2026, 3, 3))
    await use(account, 12_000, at(2026, 3, 3))
    [invoice] = await services.billing.run_billing(account)
    reply = await discord_fake.command(vera, "sms balance")

    stored = await Invoice.get(account_id=account)
    assert (stored.status, stored.total) == (InvoiceStatus.ISSUED, Decimal("55.35"))
    assert reply.embeds[0]["color"] == WARNING.value  # something is owed
    assert fields(reply) == {
        "Outstanding": "$55.35 · 1 invoice",  # (12,800 - 500 free) x $0.0045
        "Unbilled usage": "0 segments · $0.00",
        "This month so far": "$55.35",
        "Spend cap": "$250.50 · $195.15 left this month",
        "This billing cycle": "12,800 segments · next invoice at 20,000 (7,200 to go) or "
                              "at month end",
        "Pays by": "invoice (paid by hand)",
        "Unpaid invoices": f"`{stored.number}` · $55.35 · due {stamp(stored.due_at, 'D')}"}
    assert await UsageRecord.filter(account_id=account, invoice_id=invoice.id).count() == 2


async def test_a_billing_hold_is_shown_first_with_when_messages_start_dropping(
        bot, discord_fake, services, clock):
    clock.set(NOW)
    tenant = await make_tenant(services)
    account = tenant.account.id
    await start_cycle(account, at(2026, 3, 1, 0))
    await use(account, 12_000, clock.now())
    [invoice] = await services.billing.run_billing(account)
    await services.billing.set_spend_cap(tenant.owner, Decimal("40"))
    clock.advance(days=7)  # the manual invoice falls due unpaid: the account is held
    await services.billing.run_billing(account)
    held = await Account.get(id=account)
    assert held.billing_status == BillingStatus.PAYMENT_FAILED
    began = held.billing_status_since
    drops = began + dt.timedelta(minutes=60)
    vera = await viewer_of(services, discord_fake, tenant)

    reply = await discord_fake.command(vera, "sms balance")

    [embed] = reply.embeds
    assert embed["color"] == DANGER.value
    assert embed["description"] == (
        f"🚨 **Billing hold** since {stamp(began)}: a payment failed or an invoice is "
        f"overdue. Messages are not being sent. They wait until {stamp(drops)} "
        f"({stamp(drops, 'R')}), then are **dropped** (billing_expired). Pay what is "
        "outstanding to release them.")
    shown = fields(reply)
    assert shown["Outstanding"] == "$51.75 · 1 invoice"
    assert shown["Spend cap"] == "$40.00 · **over by $11.75** this month"
    assert shown["Unpaid invoices"] == (f"`{invoice.number}` · $51.75 · due "
                                        f"{stamp(invoice.due_at, 'D')}")

    # The time shown is when the pipeline really starts dropping: a message queued now
    # waits until a minute before it, and is dropped at it.
    shown_drop = dt.datetime.fromtimestamp(
        int(re.search(r"wait until <t:(\d+):f>", embed["description"]).group(1)), dt.UTC)
    lst = await make_list(account)
    subs = await make_subscribers(lst, 1, when=clock.now())
    await queue_to(subs, lst, now=clock.now())
    provider = ScriptedProvider()
    ex = sender(services, clock, provider)
    for minutes in (0, 20, 40, 59):  # (the executor drains steadily: it is never stale)
        clock.set(began + dt.timedelta(minutes=minutes))
        await ex.drain()
        assert [(m.status, m.status_detail) for m in await MessageSent.all()] == [
            ("queued", "billing_hold")], minutes
    clock.set(shown_drop)
    await ex.drain()
    assert [(m.status, m.status_detail) for m in await MessageSent.all()] == [
        ("dropped", "billing_expired")]
    assert provider.requests == []

    reply = await discord_fake.command(vera, "sms balance")
    assert reply.embeds[0]["description"] == (
        f"🚨 **Billing hold** since {stamp(began)}: a payment failed or an invoice is "
        f"overdue. Messages are not being sent. Since {stamp(drops)}, waiting messages are "
        "**dropped** (billing_expired) instead of sent. Pay what is outstanding to send "
        "again.")

    await services.billing.mark_paid(tenant.owner, invoice.id)  # paid: the hold ends
    reply = await discord_fake.command(vera, "sms balance")
    assert (reply.embeds[0]["description"], reply.embeds[0]["color"]) == (
        "Billing is in good standing.", WARNING.value)  # still over the spend cap
    assert fields(reply)["Outstanding"] == "Nothing"
    assert "Unpaid invoices" not in fields(reply)


async def test_no_payment_method_hold_is_worded_as_such(bot, discord_fake, services, clock):
    clock.set(NOW)
    tenant = await make_tenant(services)
    await services.billing.hold(tenant.account.id, BillingStatus.NO_PAYMENT_METHOD,
                                "no card on file")
    vera = await viewer_of(services, discord_fake, tenant)
    reply = await discord_fake.command(vera, "sms balance")
    assert reply.embeds[0]["description"].startswith(
        f"🚨 **Billing hold** since {stamp(NOW)}: no payment method on file. ")
    assert await BillingProfile.filter(account_id=tenant.account.id).count() == 0  # read only


# -- who may ask -------------------------------------------------------------------------

@pytest.mark.parametrize("command", ["sms usage", "sms balance"])
async def test_an_unlinked_user_is_told_how_to_link(bot, discord_fake, command):
    reply = await discord_fake.command(discord_fake.add_user("alice"), command)
    assert reply.ephemeral and not reply.deferred  # refused before the command ran
    assert reply.content == LINK_FIRST


@pytest.mark.parametrize("command", ["sms usage", "sms balance"])
async def test_a_suspended_account_is_told_so(bot, discord_fake, services, command):
    tenant = await make_tenant(services)
    alice = discord_fake.add_user("alice")
    await link_user(services, alice, tenant.keys[Role.OWNER])
    await services.accounts.set_status(tenant.account.id, AccountStatus.SUSPENDED)
    reply = await discord_fake.command(alice, command)
    assert reply.ephemeral and reply.content == (
        "This account is suspended. Nothing is sent while it is; to ask why, open a ticket "
        "with `/support new`.")
