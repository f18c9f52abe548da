"""Alerts through the fake Discord: posted once to the account's alert channel, most
severe first, after the bot comes back, never twice across a crash; /alerts configure,
mute, unmute and status; a failure spike is one alert and one recovery message."""

from __future__ import annotations

import asyncio

import pytest

from core.accounts.discord_servers import ServerChannels
from core.billing.gate import AccountBillingGate
from core.messaging.executor import Executor, ExecutorConfig
from core.notifications.models import Notification, NotificationStatus, Severity
from core.permissions import Actor, ActorKind, Role
from core.providers.base import Outcome, SendOutcome
from tests.discord_fake import FakeDiscord
from tests.discord_fake.fixtures import link_user, running_bot
from tests.factories import make_tenant
from tests.messaging.helpers import make_list, make_subscribers, queue_to
from tests.messaging.scripted import ScriptedProvider, accept

ALERTS = FakeDiscord.GENERAL_CHANNEL_ID
QUIET = 0.3  # seconds of notifier rounds (polling every 0.02 s) in which nothing may happen


@pytest.fixture
def settings(settings):
    return settings.model_copy(update={"discord_alert_poll_seconds": 0.02})


async def linked_server(services, account_id: int, owner_discord_id: int = 77) -> None:
    owner = Actor(account_id=account_id, role=Role.OWNER, kind=ActorKind.DISCORD,
                  discord_user_id=owner_discord_id)
    await services.discord_servers.link(owner, FakeDiscord.GUILD_ID,
                                        ServerChannels(alert_channel_id=ALERTS))


def footers(fake: FakeDiscord, channel: int = ALERTS) -> list[str]:
    return [m["embeds"][0]["footer"]["text"] for m in fake.bot_messages(channel)]


def titles(fake: FakeDiscord, channel: int = ALERTS) -> list[str]:
    return [m["embeds"][0]["title"] for m in fake.bot_messages(channel)]


async def settled(within: float = 5.0) -> None:
    """Until no notification waits (each posted or suppressed)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while await Notification.filter(status=NotificationStatus.PENDING).exists():
        assert loop.time() < deadline, "notifications still pending"
        await asyncio.sleep(0.02)


async def raise_four(services, account_id: int) -> None:
    notes = services.notifications
    await notes.notify(account_id, kind="opt_out", severity=Severity.LOW,
                       title="Opt-out on +14155550100")
    await notes.raise_alert(account_id, dedup_key="failure_rate:list:1", kind="failure_rate",
                            severity=Severity.HIGH, title="Failure rate 40% on +14155550100")
    await notes.notify(account_id, kind="complaint", severity=Severity.CRITICAL,
                       title="Spam complaint on +14155550100")
    await notes.raise_alert(account_id, dedup_key="failure_spike:twilio:30007",
                            kind="failure_spike", severity=Severity.MEDIUM,
                            title="Failure spike: twilio error 30007")


async def test_alerts_raised_while_the_bot_was_stopped_come_once_most_severe_first(
        services, discord_fake):
    tenant = await make_tenant(services)
    await linked_server(services, tenant.account.id)
    await raise_four(services, tenant.account.id)

    async with running_bot(services, discord_fake):
        await discord_fake.wait_until(lambda: len(discord_fake.bot_messages(ALERTS)) == 4,
                                      what="four alerts")
        await settled()
    assert [f.split(" · ")[0] for f in footers(discord_fake)] == [
        "critical", "high", "medium", "low"]
    assert titles(discord_fake)[0] == "🚨 Spam complaint on +14155550100"

    async with running_bot(services, discord_fake):  # a restart posts nothing again
        await asyncio.sleep(QUIET)
    assert len(discord_fake.bot_messages(ALERTS)) == 4
    rows = await Notification.all().order_by("id")
    posted = {int(m["id"]) for m in discord_fake.bot_messages(ALERTS)}
    assert {r.discord_message_id for r in rows} == posted
    assert {(r.status, r.channel_id, r.claim_token) for r in rows} == {
        (NotificationStatus.DELIVERED, ALERTS, None)}


async def test_a_bot_killed_between_post_and_mark_does_not_post_twice(
        services, discord_fake, clock):
    tenant = await make_tenant(services)
    await linked_server(services, tenant.account.id)
    discord_fake.stall_posts = True  # Discord keeps the post; its answer never comes
    await services.notifications.notify(tenant.account.id, kind="complaint",
                                        severity=Severity.CRITICAL, title="Spam complaint")
    async with running_bot(services, discord_fake):
        await discord_fake.wait_until(lambda: discord_fake.stalled_posts, what="the post")
    # The bot is gone: the alert is in the channel, the row claimed and not marked.
    row = await Notification.get()
    assert (row.status, row.attempts, row.discord_message_id) == (
        NotificationStatus.PENDING, 1, None)
    assert len(discord_fake.bot_messages(ALERTS)) == 1

    discord_fake.stall_posts = False
    clock.advance(minutes=10)  # past the claim's lease, and past Discord's nonce memory
    async with running_bot(services, discord_fake):
        await settled()
        await asyncio.sleep(QUIET)
    assert len(discord_fake.bot_messages(ALERTS)) == 1
    row = await Notification.get()
    assert (row.status, row.attempts, row.outcome) == (
        NotificationStatus.DELIVERED, 2, "posted")
    assert row.discord_message_id == int(discord_fake.stalled_posts[0]["id"])
    assert discord_fake.find_requests("GET", f"/channels/{ALERTS}/messages")


async def test_a_failure_spike_is_one_alert_and_one_recovery(bot, services, discord_fake,
                                                              clock):
    tenant = await make_tenant(services)
    await linked_server(services, tenant.account.id)
    await services.alert_preferences.configure(  # only the spike, not the list's rate
        Actor(account_id=tenant.account.id, role=Role.OWNER, kind=ActorKind.SYSTEM),
        FakeDiscord.GUILD_ID, _disable("failure_rate"))
    lst = await make_list(tenant.account.id)
    subs = await make_subscribers(lst, 60, when=clock.now())
    failing = {s.contact.phone_number for s in subs[:30]}

    def filtered(sms, attempt):
        if sms.to in failing:
            return SendOutcome(sms.message_id, Outcome.REJECTED, error_code="30007",
                               error_message="Carrier violation")
        return accept(sms, attempt)

    executor = Executor(clock=clock, providers=ScriptedProvider(filtered),
                        policy=services.compliance, billing=AccountBillingGate(clock=clock),
                        callback_url=lambda *_: None, config=ExecutorConfig(batch_size=10))
    monitor = services.failure_monitor
    await queue_to(subs[:20], lst, now=clock.now())
    await executor.drain()
    await monitor.check()
    await queue_to(subs[20:], lst, now=clock.now())  # more failures of the same spike
    await executor.drain()
    await monitor.check()
    await monitor.check()
    await discord_fake.wait_until(lambda: titles(discord_fake), what="the alert")

    clock.advance(minutes=16)  # the failures slide out of the window
    await monitor.check()
    await monitor.check()
    await discord_fake.wait_until(lambda: len(titles(discord_fake)) == 2, what="recovery")
    await settled()
    await asyncio.sleep(QUIET)
    assert titles(discord_fake) == ["🟠 Failure spike: simulator error 30007",
                                    "✅ Cleared: simulator error 30007 back to normal"]
    first = discord_fake.bot_messages(ALERTS)[0]["embeds"][0]
    assert first["description"].startswith("20 of 20 messages failed with simulator error "
                                           "30007 (Carrier violation)")


def _disable(kind: str):
    from core.notifications.preferences import AlertChanges
    return AlertChanges(disable=(kind,))


async def test_alerts_configure_mute_unmute_and_status(bot, services, discord_fake, clock):
    tenant = await make_tenant(services)
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])
    await discord_fake.command(olivia, "server link")
    replies = discord_fake.add_text_channel("replies")
    notes = services.notifications
    account = tenant.account.id

    reply = await discord_fake.command(olivia, "alerts configure", {
        "min_severity": "high", "disable": "opt_out", "replies": replies})
    fields = {f["name"]: f["value"] for f in reply.embeds[0]["fields"]}
    assert reply.ephemeral
    assert fields == {"Channel": f"<#{ALERTS}>", "Minimum severity": "high",
                      "Kinds off": "opt_out", "Replies relayed to": f"<#{replies}>"}

    await notes.raise_alert(account, dedup_key="failure_spike:cm:5", kind="failure_spike",
                            severity=Severity.MEDIUM, title="below the minimum")
    await notes.notify(account, kind="opt_out", severity=Severity.HIGH, title="kind is off")
    await notes.notify(account, kind="billing", severity=Severity.HIGH, title="Billing hold")
    await notes.notify(account, kind="inbound", severity=Severity.LOW, title="Reply: hi")
    await settled()
    assert titles(discord_fake) == ["🔴 Billing hold"]
    assert titles(discord_fake, replies) == ["🔵 Reply: hi"]

    muted = await discord_fake.command(olivia, "alerts mute", {"duration": "2h"})
    assert muted.content.startswith("Alerts muted until <t:")
    await notes.notify(account, kind="billing", severity=Severity.HIGH, title="while muted")
    await notes.notify(account, kind="complaint", severity=Severity.CRITICAL,
                       title="Spam complaint")
    await settled()
    assert titles(discord_fake)[1:] == ["🚨 Spam complaint"]
    status = await discord_fake.command(olivia, "alerts status")
    shown = {f["name"]: f["value"] for f in status.embeds[0]["fields"]}
    assert shown["Muted"].startswith("until <t:") and shown["Waiting"] == "0"
    assert shown["Open alerts"] == "• `failure_spike:cm:5`"

    unmuted = await discord_fake.command(olivia, "alerts unmute")
    assert unmuted.content == "Alerts unmuted: new alerts are posted again."
    await notes.notify(account, kind="billing", severity=Severity.HIGH, title="after unmute")
    await settled()
    assert titles(discord_fake)[-1] == "🔴 after unmute"
    outcomes = dict(await Notification.filter(status=NotificationStatus.SUPPRESSED)
                    .values_list("title", "outcome"))
    assert outcomes == {"below the minimum": "below_minimum", "kind is off": "kind_off",
                        "while muted": "muted"}


async def test_inbound_replies_are_not_relayed_by_default(bot, services, discord_fake):
    tenant = await make_tenant(services)
    await linked_server(services, tenant.account.id)
    await services.notifications.notify(tenant.account.id, kind="inbound",
                                        severity=Severity.LOW, title="Reply: hello")
    await settled()
    assert discord_fake.bot_messages(ALERTS) == []
    assert (await Notification.get()).outcome == "replies_off"


async def test_alerts_never_cross_accounts(bot, services, discord_fake):
    acme = await make_tenant(services)
    rival = await make_tenant(services, "Rival Media", "owner@rival.test")
    await linked_server(services, acme.account.id)
    for tenant in (acme, rival):
        await services.notifications.notify(tenant.account.id, kind="billing",
                                            severity=Severity.HIGH,
                                            title=f"Billing hold for {tenant.account.name}")
    await discord_fake.wait_until(lambda: titles(discord_fake), what="acme's alert")
    await asyncio.sleep(QUIET)
    assert titles(discord_fake) == ["🔴 Billing hold for Acme Deals"]
    waiting = await Notification.get(account_id=rival.account.id)
    assert waiting.status == NotificationStatus.PENDING and waiting.attempts == 0

    mallory = discord_fake.add_user("mallory")
    await link_user(services, mallory, rival.keys[Role.OWNER])
    for command in ("alerts status", "alerts unmute"):
        reply = await discord_fake.command(mallory, command)
        assert reply.text == "This Discord server belongs to another Trackly account."


async def test_a_viewer_sees_status_but_cannot_change_alerts(bot, services, discord_fake):
    tenant = await make_tenant(services)
    await linked_server(services, tenant.account.id)
    vic = discord_fake.add_user("vic")
    await link_user(services, vic, tenant.keys[Role.VIEWER])
    refused = await discord_fake.command(vic, "alerts mute", {"duration": "30m"})
    assert "does not allow this" in refused.text
    status = await discord_fake.command(vic, "alerts status")
    assert status.embeds[0]["title"] == "Alerts"


async def test_a_repeated_alert_is_posted_once_and_a_flap_is_told_in_full(
        services, discord_fake, clock):
    tenant = await make_tenant(services)
    await linked_server(services, tenant.account.id)
    notes, account = services.notifications, tenant.account.id
    key = {"dedup_key": "failure_spike:cm:5", "kind": "failure_spike",
           "severity": Severity.MEDIUM}
    # Written twice for one condition (two processes saw it at once, say).
    await Notification.create(account_id=account, title="Spike: cm 5", created_at=clock.now(),
                              **key)
    await Notification.create(account_id=account, title="Spike: cm 5 again",
                              created_at=clock.advance(1), **key)
    await notes.raise_alert(account, dedup_key="failure_rate:list:9", kind="failure_rate",
                            severity=Severity.HIGH, title="raised")
    clock.advance(1)
    await notes.clear_alert(account, dedup_key="failure_rate:list:9", kind="failure_rate",
                            severity=Severity.HIGH, title="cleared")
    clock.advance(1)
    await notes.raise_alert(account, dedup_key="failure_rate:list:9", kind="failure_rate",
                            severity=Severity.HIGH, title="raised again")

    async with running_bot(services, discord_fake):
        await settled()
    assert titles(discord_fake) == ["🔴 raised", "✅ cleared", "🔴 raised again",
                                    "🟠 Spike: cm 5"]
    repeat = await Notification.get(title="Spike: cm 5 again")
    assert (repeat.status, repeat.outcome) == (NotificationStatus.SUPPRESSED, "duplicate")


async def test_an_alert_for_a_deleted_channel_is_set_aside_not_retried(
        bot, services, discord_fake):
    tenant = await make_tenant(services)
    owner = Actor(account_id=tenant.account.id, role=Role.OWNER, kind=ActorKind.DISCORD,
                  discord_user_id=77)
    await services.discord_servers.link(owner, FakeDiscord.GUILD_ID,
                                        ServerChannels(alert_channel_id=12345))
    await services.notifications.notify(tenant.account.id, kind="billing",
                                        severity=Severity.HIGH, title="Billing hold")
    await settled()
    note = await Notification.get()
    assert (note.status, note.outcome) == (NotificationStatus.SUPPRESSED,
                                           "channel_unavailable")
    assert len(discord_fake.find_requests("POST", "/channels/12345/messages")) == 1


async def test_inbound_replies_are_relayed_to_the_reply_channel_once_turned_on(
        bot, services, discord_fake):
    from core.providers.base import InboundSms
    from tests.contacts.helpers import LIST_NUMBER, make_list

    tenant = await make_tenant(services)
    await make_list(services, tenant)
    olivia = discord_fake.add_user("olivia")
    await link_user(services, olivia, tenant.keys[Role.OWNER])
    await discord_fake.command(olivia, "server link")

    def reply(body: str, n: int) -> InboundSms:
        return InboundSms(provider="twilio", provider_message_id=f"SM{n:032d}",
                          from_number="+14155550123", to_number=LIST_NUMBER, body=body)

    await services.inbound.receive(reply("Sounds good, thanks", 1))
    await settled()
    assert titles(discord_fake) == [], titles(discord_fake)  # off by default

    replies = discord_fake.add_text_channel("replies")
    await discord_fake.command(olivia, "alerts configure", {"replies": replies})
    await services.inbound.receive(reply("Great deal, see you Friday", 2))
    await settled()
    [relayed] = discord_fake.bot_messages(replies)
    assert relayed["embeds"][0]["description"].endswith("(none): Great deal, see you Friday")
    assert "+14155550123" not in str(relayed)  # the sender's number stays masked
    assert discord_fake.bot_messages(ALERTS) == []

    off = await discord_fake.command(olivia, "alerts configure", {"relay_replies": False})
    assert {f["name"]: f["value"] for f in off.embeds[0]["fields"]}[
        "Replies relayed to"] == "off"


async def test_news_days_old_when_first_seen_is_set_aside(services, discord_fake, clock):
    tenant = await make_tenant(services)
    await services.notifications.notify(tenant.account.id, kind="billing",
                                        severity=Severity.HIGH, title="Old billing hold")
    clock.advance(days=4)  # the account links its server four days later
    await linked_server(services, tenant.account.id)
    await services.notifications.notify(tenant.account.id, kind="billing",
                                        severity=Severity.HIGH, title="Billing hold")
    async with running_bot(services, discord_fake):
        await settled()
    assert titles(discord_fake) == ["🔴 Billing hold"]
    old = await Notification.get(title="Old billing hold")
    assert (old.status, old.outcome) == (NotificationStatus.SUPPRESSED, "stale")


async def test_an_unlinked_user_is_told_to_link_before_touching_alerts(bot, discord_fake):
    stranger = discord_fake.add_user("stranger")
    for command, options in (("alerts status", {}), ("alerts mute", {"duration": "2h"}),
                             ("alerts configure", {"min_severity": "high"})):
        reply = await discord_fake.command(stranger, command, options)
        assert reply.ephemeral and reply.text == (
            "You are not linked to a Trackly account. To link one, use "
            "`/sms link <api_key>` (the reply is private).")


async def test_a_finished_import_is_announced_and_a_dry_run_is_not(bot, services,
                                                                    discord_fake):
    from tests.contacts.helpers import make_list
    from tests.contacts.test_import import AWKWARD, run_import

    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await linked_server(services, tenant.account.id)
    await run_import(services, tenant, AWKWARD, dry_run=True)
    job = await run_import(services, tenant, AWKWARD, dry_run=False)
    await discord_fake.wait_until(lambda: titles(discord_fake), what="the notice")
    await settled()
    await asyncio.sleep(QUIET)
    [posted] = discord_fake.bot_messages(ALERTS)
    assert posted["embeds"][0]["title"] == f"🔵 Import {job.id} finished"
    assert posted["embeds"][0]["description"] == (
        "17 rows: 7 new, 0 updated, 0 unchanged, 10 bad.")
