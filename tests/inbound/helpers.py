"""Builders for the inbound tests: a second list, subscriptions through the API, signed
Twilio forms."""

from __future__ import annotations

from twilio.request_validator import RequestValidator

from core.contacts.models import ListContact, SendingList
from tests.messaging.stack import LIST_NUMBER, Stack

ALICE = "+12125550101"
OTHER_NUMBER = "+14155550009"
OTHER_TWILIO = {"account_sid": "AC" + "b" * 32, "auth_token": "b" * 32}


async def subscribe(s: Stack, phone: str, list_number: str = LIST_NUMBER) -> None:
    resp = await s.client.post("/api/v2/contacts", headers=s.tenant.headers(),
                               json={"phone_number": phone, "list_number": list_number})
    assert resp.status in (200, 201), await resp.text()


async def second_list(s: Stack, **extra: object) -> SendingList:
    resp = await s.client.post("/api/v2/lists", headers=s.tenant.headers(), json={
        "phone_number": OTHER_NUMBER, "provider": s.provider, "name": "Other", **extra})
    assert resp.status == 201, await resp.text()
    return await SendingList.get(id=(await resp.json())["id"])


def confirmations(s: Stack, to: str) -> list[str]:
    return [m.body for m in s.fake.accepted if m.to == to and "unsubscribed" in m.body]


async def subscription(phone: str, list_number: str = LIST_NUMBER) -> str:
    found = await ListContact.get(contact__phone_number=phone,
                                  sending_list__phone_number=list_number)
    return found.status


def signed_twilio_form(url: str, token: str, **form: str) -> tuple[dict[str, str],
                                                                     dict[str, str]]:
    params = {"AccountSid": "AC" + "0" * 32, "ApiVersion": "2010-04-01", **form}
    return params, {"X-Twilio-Signature": RequestValidator(token).compute_signature(url,
                                                                                 params)}
