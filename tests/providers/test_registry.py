"""The registry builds each list's adapter from its provider and sealed credentials."""

from __future__ import annotations

import pytest

from core.contacts.models import Provider, SendingList
from core.errors import ValidationError
from core.providers.base import OutboundSms, Outcome, Receipt
from core.providers.cm import CmProvider
from core.providers.credentials import open_credentials, validate_credentials
from core.providers.infobip import InfobipProvider
from core.providers.registry import CountedProvider, ProviderRegistry
from core.providers.simulator import SimulatorProvider
from core.providers.twilio import TwilioProvider
from core.services import Services
from tests.factories import make_tenant

SID = "AC" + "0" * 31 + "1"


async def make_list(services: Services, provider: Provider, creds: dict | None,
                    number: str = "+15550001111") -> SendingList:
    tenant = await make_tenant(services)
    return await SendingList.create(
        account=tenant.account, phone_number=number, provider=provider,
        credentials_sealed=services.box.seal(creds) if creds is not None else None,
        webhook_token="tok-" + number[-4:],
    )


def registry(services: Services, **settings_changes) -> ProviderRegistry:
    settings = services.settings.model_copy(update=settings_changes)
    return ProviderRegistry(settings=settings, box=services.box, clock=services.clock)


@pytest.mark.parametrize(("provider", "creds", "kind"), [
    (Provider.TWILIO, {"account_sid": SID, "auth_token": "ab" * 16}, TwilioProvider),
    (Provider.INFOBIP, {"api_key": "k" * 20}, InfobipProvider),
    (Provider.CM, {"product_token": "00000000-0000-4000-8000-000000000001"}, CmProvider),
    (Provider.SIMULATOR, None, SimulatorProvider),
])
async def test_builds_the_right_adapter_once(services, provider, creds, kind) -> None:
    sending_list = await make_list(services, provider, creds)
    providers = registry(services)
    try:
        adapter = providers.get(sending_list)
        assert isinstance(adapter, CountedProvider)  # its sends counted for /metrics
        assert isinstance(adapter.inner, kind) and adapter.name == provider.value
        assert providers.get(sending_list) is adapter
    finally:
        await providers.close()


async def test_sends_through_the_fake_with_the_opened_credentials(
        services, twilio_fake) -> None:
    sending_list = await make_list(services, Provider.TWILIO, {
        "account_sid": twilio_fake.account_sid, "auth_token": twilio_fake.auth_token})
    providers = registry(services, twilio_base_url=twilio_fake.url)
    try:
        [outcome] = await providers.get(sending_list).send(
            [OutboundSms("abcd1234", "+15557770000", sending_list.phone_number, "Hi")])
        assert outcome.outcome is Outcome.ACCEPTED
        assert [m.to for m in twilio_fake.accepted] == ["+15557770000"]
        assert open_credentials(services.box, sending_list)["auth_token"] == twilio_fake.auth_token
    finally:
        await providers.close()


async def test_changed_credentials_rebuild_the_adapter(services, infobip_fake) -> None:
    sending_list = await make_list(services, Provider.INFOBIP, {"api_key": "wrong-key-0123456789"})
    providers = registry(services, infobip_base_url=infobip_fake.url)
    sms = OutboundSms("abcd1234", "+15557770000", sending_list.phone_number, "Hi")
    try:
        [refused] = await providers.get(sending_list).send([sms])
        assert (refused.outcome, refused.error_code) == (Outcome.REJECTED, "E401")
        sending_list.credentials_sealed = services.box.seal({"api_key": infobip_fake.api_key})
        await sending_list.save(update_fields=["credentials_sealed"])
        [accepted] = await providers.get(sending_list).send([sms])
        assert accepted.outcome is Outcome.ACCEPTED
    finally:
        await providers.close()


async def test_simulator_receipts_reach_the_bound_sink(services) -> None:
    sending_list = await make_list(services, Provider.SIMULATOR, None)
    providers = registry(services, simulator_latency_ms=0)
    seen: list[Receipt] = []

    async def on_receipt(receipt: Receipt) -> None:
        seen.append(receipt)

    providers.bind(on_receipt=on_receipt)
    try:
        counted = providers.get(sending_list)
        await counted.send([OutboundSms("abcd1234", "+15557770000", "+15550001111", "Hi")])
        assert isinstance(counted, CountedProvider)
        simulator = counted.inner
        assert isinstance(simulator, SimulatorProvider)
        await simulator.drain()
        assert [r.message_id for r in seen] == ["abcd1234"]
    finally:
        await providers.close()


@pytest.mark.parametrize(("provider", "creds", "field"), [
    (Provider.TWILIO, {"account_sid": SID}, "credentials"),
    (Provider.TWILIO, {"account_sid": "nope", "auth_token": "ab" * 16},
     "credentials.account_sid"),
    (Provider.INFOBIP, {"api_key": " "}, "credentials.api_key"),
    (Provider.CM, {}, "credentials"),
])
async def test_bad_credentials_are_a_clear_error(services, provider, creds, field) -> None:
    sending_list = await make_list(services, provider, creds)
    providers = registry(services)
    with pytest.raises(ValidationError) as caught:
        providers.get(sending_list)
    assert (caught.value.code, caught.value.field) == ("invalid_credentials", field)


async def test_missing_credentials(services) -> None:
    sending_list = await make_list(services, Provider.CM, None)
    with pytest.raises(ValidationError, match="no cm credentials"):
        registry(services).get(sending_list)


def test_validate_credentials_trims_and_refuses_unknown_providers() -> None:
    key = "infobip-key-0123456789abcdef"
    assert validate_credentials("infobip", {"api_key": f" {key} "}) == {"api_key": key}
    with pytest.raises(ValidationError):
        validate_credentials("carrier-pigeon", {})
