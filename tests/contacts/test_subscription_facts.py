"""A subscription carries its contact's state and area code (migration 0020), which
audiences filter on without joining contact: every path that subscribes someone writes
them, equal to the contact's."""

from __future__ import annotations

from pathlib import Path

from core.contacts.models import ListContact
from core.providers.base import InboundSms
from tests.contacts.helpers import LIST_NUMBER, make_list, subscribe
from tests.factories import make_tenant

OTHER_LIST = "+14155550009"
_ids = iter(range(1, 10_000))


def sms(sender: str, body: str, to: str = LIST_NUMBER) -> InboundSms:
    return InboundSms(provider="infobip", provider_message_id=f"facts-{next(_ids)}",
                      from_number=sender, to_number=to, body=body)


async def facts() -> dict[tuple[str, str], tuple[str | None, str | None, str | None,
                                               str | None]]:
    """(list number, phone) -> (subscription's state, area code, contact's state, area
    code)."""
    rows = await ListContact.all().values_list(
        "sending_list__phone_number", "contact__phone_number", "state", "area_code",
        "contact__state", "contact__area_code")
    return {(r[0], r[1]): tuple(r[2:]) for r in rows}  # type: ignore[misc]


async def test_every_way_of_subscribing_copies_the_contacts_state_and_area_code(
        services, tmp_path):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await make_list(services, tenant, OTHER_LIST)
    # The API (ORM create).
    await subscribe(services, tenant, "+14155550100")
    # A CSV import: a contact that exists already (PostgreSQL: INSERT ... SELECT from the
    # staging table) and a new one (PostgreSQL: COPY straight into list_contact).
    csv = Path(tmp_path) / "people.csv"
    csv.write_text("phone,first_name\n4155550100,Al\n2125550101,Bo\n")
    job = await services.imports.create_job(tenant.owner, list_number=OTHER_LIST, path=csv,
                                            dry_run=False)
    job = await services.imports.run(job.id)
    assert job.created_count == 2, job.failure
    # A keyword from someone on no list: START subscribes them, STOP records the STOP
    # on a subscription made for it.
    assert (await services.inbound.receive(sms("+13035550102", "START"))).action \
        == "subscribed"
    assert (await services.inbound.receive(sms("+17135550103", "STOP"))).action \
        == "unsubscribed"

    found = await facts()
    assert found == {
        (LIST_NUMBER, "+14155550100"): ("CA", "415", "CA", "415"),
        (OTHER_LIST, "+14155550100"): ("CA", "415", "CA", "415"),
        (OTHER_LIST, "+12125550101"): ("NY", "212", "NY", "212"),
        (LIST_NUMBER, "+13035550102"): ("CO", "303", "CO", "303"),
        (LIST_NUMBER, "+17135550103"): ("TX", "713", "TX", "713"),
    }

