"""A STOP with account scope covers every list of the account, those created after it
included: at subscribe time (API, import) and at send time (the executor's check)."""

from __future__ import annotations

import importlib
from pathlib import Path

from tortoise import connections

from core.accounts.models import Account, StopScope
from core.compliance.suppression import Decision
from core.contacts.models import AccountOptOut, ListContact, SubscriptionStatus
from core.providers.base import InboundSms
from tests.contacts.helpers import LIST_NUMBER, make_list, subscribe
from tests.factories import make_tenant

PHONE = "+14155550100"
LATER = "+14155550009"
_ids = iter(range(1, 10_000))


def sms(body: str, *, to: str = LIST_NUMBER) -> InboundSms:
    return InboundSms(provider="infobip", provider_message_id=f"ib-{next(_ids)}",
                      from_number=PHONE, to_number=to, body=body)


async def account_wide_stop(services) -> tuple:
    tenant = await make_tenant(services)
    await Account.filter(id=tenant.account.id).update(stop_scope=StopScope.ACCOUNT)
    await make_list(services, tenant)
    await subscribe(services, tenant, PHONE)
    outcome = await services.inbound.receive(sms("STOP"))
    assert outcome.action == "unsubscribed"
    return tenant, outcome


async def test_a_list_created_after_an_account_wide_stop_never_sends_to_the_sender(
        services, clock):
    tenant, _ = await account_wide_stop(services)
    later = await make_list(services, tenant, LATER)
    contact_id = (await ListContact.get(sending_list__phone_number=LIST_NUMBER)).contact_id
    # A one-off API send (no subscription to the new list): the executor's check drops it.
    verdict = await services.compliance.check(sending_list=later, contact_id=contact_id,
                                              now=clock.now(), transactional=True,
                                              subscription_optional=True)
    assert (verdict.decision, verdict.reason) == (Decision.DROP, "unsubscribed")
    # Subscribing them through the API records the STOP instead.
    result = await subscribe(services, tenant, PHONE, LATER)
    assert result.list_contact.status == SubscriptionStatus.UNSUBSCRIBED
    assert result.list_contact.unsubscribe_reason == "message"
    verdict = await services.compliance.check(sending_list=later, contact_id=contact_id,
                                              now=clock.now())
    assert (verdict.decision, verdict.reason) == (Decision.DROP, "unsubscribed")


async def test_an_import_into_a_later_list_keeps_the_account_wide_stop(services, tmp_path):
    tenant, _ = await account_wide_stop(services)
    await make_list(services, tenant, LATER)
    csv = Path(tmp_path) / "later.csv"
    csv.write_text("phone,first_name\n4155550100,Al\n4155550101,Bo\n")
    job = await services.imports.create_job(tenant.owner, list_number=LATER, path=csv,
                                            dry_run=False)
    await services.imports.run(job.id)
    statuses = dict(await ListContact.filter(sending_list__phone_number=LATER)
                    .values_list("contact__phone_number", "status"))
    assert statuses == {PHONE: "unsubscribed", "+14155550101": "active"}


async def test_opting_back_in_lifts_the_account_wide_stop(services, clock):
    tenant, _ = await account_wide_stop(services)
    back = await services.inbound.receive(sms("START"))
    assert back.action == "resubscribed"
    later = await make_list(services, tenant, LATER)
    result = await subscribe(services, tenant, PHONE, LATER)
    assert result.list_contact.status == SubscriptionStatus.ACTIVE
    verdict = await services.compliance.check(sending_list=later,
                                              contact_id=result.contact.id, now=clock.now(),
                                              transactional=True)
    assert verdict.allowed


async def test_a_list_scoped_stop_leaves_later_lists_alone(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await subscribe(services, tenant, PHONE)
    await services.inbound.receive(sms("STOP"))
    await make_list(services, tenant, LATER)
    result = await subscribe(services, tenant, PHONE, LATER)
    assert result.list_contact.status == SubscriptionStatus.ACTIVE


async def test_the_migration_records_account_wide_stops_received_before_it(services):
    """Migration 0005 turns the STOPs an account-scoped account received before the
    table existed into account-wide opt-outs (not those undone by a later START)."""
    tenant, _ = await account_wide_stop(services)
    kept = (await ListContact.get(sending_list__phone_number=LIST_NUMBER)).contact_id
    other = "+14155550102"
    await subscribe(services, tenant, other)
    await services.inbound.receive(InboundSms(
        provider="infobip", provider_message_id="ib-undone-1", from_number=other,
        to_number=LIST_NUMBER, body="STOP"))
    await services.inbound.receive(InboundSms(
        provider="infobip", provider_message_id="ib-undone-2", from_number=other,
        to_number=LIST_NUMBER, body="START"))
    list_scoped = await make_tenant(services, "Listy", "l@l.test")
    await make_list(services, list_scoped, "+14155550077")
    await services.inbound.receive(InboundSms(
        provider="infobip", provider_message_id="ib-list-1", from_number="+14155550103",
        to_number="+14155550077", body="STOP"))
    await AccountOptOut.all().delete()  # the data as it was before the migration

    migration = importlib.import_module("core.migrations.0005_account_opt_outs")
    await connections.get("default").execute_script(migration.BACKFILL)
    found = await AccountOptOut.all().values_list("account_id", "contact_id", "reason")
    assert found == [(tenant.account.id, kept, "message")]
