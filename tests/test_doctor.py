"""``trackly doctor`` says what is wrong, in words an operator can act on: credentials a
provider refuses or that no key can open, a Discord token refused, a tracking domain that
does not resolve, migrations pending; and exits 1 when anything fails."""

from __future__ import annotations

from pydantic import SecretStr

from core.accounts.models import Account
from core.contacts.lists import ListChanges
from core.contacts.models import SendingList
from core.crypto import SecretBox
from core.system.doctor import Verdict
from tests.discord_fake.server import FakeDiscord
from tests.factories import make_tenant
from tests.helpers import free_port
from trackly.doctor import inspect as diagnose
from trackly.doctor import render


def by_check(findings):
    return {f.check: f for f in findings}


async def test_a_healthy_installation_and_each_thing_that_can_be_wrong(
        services, twilio_fake):
    services.settings.twilio_base_url = twilio_fake.url
    tenant = await make_tenant(services)
    good = await services.lists.create_list(tenant.owner, ListChanges(
        phone_number="+14155550100", provider="twilio", credentials={
            "account_sid": twilio_fake.account_sid, "auth_token": twilio_fake.auth_token}))
    refused = await services.lists.create_list(tenant.owner, ListChanges(
        phone_number="+14155550101", provider="twilio", credentials={
            "account_sid": twilio_fake.account_sid, "auth_token": "0" * 32}))
    other_key = await services.lists.create_list(tenant.owner, ListChanges(
        phone_number="+14155550102", provider="twilio", credentials={
            "account_sid": twilio_fake.account_sid, "auth_token": twilio_fake.auth_token}))
    sealed_elsewhere = SecretBox("another-installation-key-0123456789").seal(
        {"account_sid": twilio_fake.account_sid, "auth_token": twilio_fake.auth_token})
    await SendingList.filter(id=other_key.id).update(credentials_sealed=sealed_elsewhere)
    await Account.filter(id=tenant.account.id).update(tracking_domain="localhost")
    services.settings.discord_token = None

    found = by_check(await diagnose(services, online=True, per_check=3))
    assert found["database"].verdict is Verdict.OK
    assert found["migrations"].verdict is Verdict.OK
    assert found["schema"].verdict is Verdict.OK, render(list(found.values()))
    shown = render(list(found.values()))
    assert found[f"list {good.id} (twilio) online"].verdict is Verdict.OK, shown
    bad = found[f"list {refused.id} (twilio) online"]
    assert bad.verdict is Verdict.FAIL and "refused" in bad.detail and "401" in bad.detail
    unreadable = found[f"list {other_key.id} (twilio, +14155550102)"]
    assert unreadable.verdict is Verdict.FAIL and "TRACKLY_SECRET_KEY" in unreadable.detail
    assert f"list {other_key.id} (twilio) online" not in found  # nothing to ask with
    assert found["tracking domain localhost"].verdict is Verdict.OK
    assert found["discord bot"].verdict is Verdict.WARN
    # secrets never appear in what doctor prints
    printed = render(list(found.values()))
    assert twilio_fake.auth_token not in printed

    twilio_fake.account_status = "suspended"
    found = by_check(await diagnose(services, online=True, per_check=3))
    assert found[f"list {good.id} (twilio) online"].detail == "the Twilio account is suspended"


async def test_an_unreachable_provider_is_a_warning_not_a_failure(services, twilio_fake):
    tenant = await make_tenant(services)
    made = await services.lists.create_list(tenant.owner, ListChanges(
        phone_number="+14155550100", provider="twilio", credentials={
            "account_sid": twilio_fake.account_sid, "auth_token": twilio_fake.auth_token}))
    services.settings.twilio_base_url = f"http://127.0.0.1:{free_port()}"  # nobody listens
    found = by_check(await diagnose(services, online=True, per_check=2))
    finding = found[f"list {made.id} (twilio) online"]
    assert finding.verdict is Verdict.WARN and "could not be reached" in finding.detail
    offline = by_check(await diagnose(services, online=False))
    assert f"list {made.id} (twilio) online" not in offline
    assert offline["online checks"].verdict is Verdict.WARN


async def test_the_bot_token_is_checked_against_discord(services, clock):
    discord = FakeDiscord(now=clock.now)
    await discord.start()
    try:
        await _bot_token_checks(services, discord)
    finally:
        await discord.stop()


async def _bot_token_checks(services, discord):
    services.settings.discord_token = SecretStr(discord.token)
    found = by_check(await diagnose(services, online=True, per_check=3,
                                    discord_api=lambda: discord.api_base))
    assert found["discord bot"].verdict is Verdict.OK
    services.settings.discord_token = SecretStr("not-the-token.at-all")
    found = by_check(await diagnose(services, online=True, per_check=3,
                                    discord_api=lambda: discord.api_base))
    assert found["discord bot"].verdict is Verdict.FAIL
    assert "DISCORD_TOKEN" in found["discord bot"].detail
