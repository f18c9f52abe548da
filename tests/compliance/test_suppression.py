"""The question the sender asks before each message, and the blocks it honours."""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

import pytest

from core.accounts.models import Account
from core.compliance.suppression import Decision, Verdict
from core.contacts.lists import ListChanges
from core.contacts.models import Block, Contact, ListContact
from core.contacts.phones import PhoneInfo, parse_phone
from core.errors import Conflict, NotFound, PermissionDenied
from core.messaging.models import MessageSent, MessageStatus
from core.permissions import Actor, ActorKind, Role
from tests.contacts.helpers import LIST_NUMBER, make_list, queue_message, subscribe
from tests.factories import make_tenant

NY = ZoneInfo("America/New_York")


def at_new_york(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY).astimezone(dt.UTC)


async def test_every_reason(services, clock):
    clock.set(at_new_york(2026, 3, 3, 12, 0))
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    other_list = await make_list(services, tenant, "+14155550009")
    ids = {}
    for name, phone in [("ok", "+12125550101"), ("unsub", "+12125550102"),
                        ("list_block", "+12125550103"), ("account_block", "+12125550104"),
                        ("other_list_block", "+12125550105"), ("invalid", "+12125550106"),
                        ("florida", "+13055550107"), ("hawaii", "+18085550108")]:
        ids[name] = (await subscribe(services, tenant, phone)).contact.id
    ids["stranger"] = (await subscribe(services, tenant, "+12125550109",
                                       "+14155550009")).contact.id
    await ListContact.filter(contact_id=ids["unsub"]).update(status="unsubscribed",
                                                             unsubscribe_reason="message")
    await services.compliance.add_block(tenant.owner, "212-555-0103", list_id=sending_list.id)
    await services.compliance.add_block(tenant.owner, "212-555-0104")
    await services.compliance.add_block(tenant.owner, "212-555-0105", list_id=other_list.id)
    await Contact.filter(id=ids["invalid"]).update(is_valid=False)

    now = at_new_york(2026, 3, 3, 20, 30)  # allowed in New York, not in Florida
    verdicts = await services.compliance.check_batch(
        sending_list=sending_list, contact_ids=[*ids.values(), 999_999], now=now)
    assert {name: (verdicts[i].decision, verdicts[i].reason) for name, i in ids.items()} == {
        "ok": (Decision.ALLOW, None),
        "unsub": (Decision.DROP, "unsubscribed"),
        "list_block": (Decision.DROP, "contact_blocked"),
        "account_block": (Decision.DROP, "contact_blocked"),
        "other_list_block": (Decision.ALLOW, None),
        "invalid": (Decision.DROP, "invalid_contact"),
        "florida": (Decision.DEFER, "quiet_hours"),
        "hawaii": (Decision.ALLOW, None),
        "stranger": (Decision.DROP, "not_subscribed"),
    }
    assert verdicts[999_999].reason == "invalid_contact"
    assert verdicts[ids["florida"]].until == at_new_york(2026, 3, 4, 8, 0)
    assert verdicts[ids["ok"]].allowed

    await services.lists.update_list(tenant.owner, sending_list.id,
                                     ListChanges(status="inactive"))
    await sending_list.refresh_from_db()
    inactive = await services.compliance.check_batch(sending_list=sending_list,
                                                     contact_ids=[ids["ok"]], now=now)
    assert inactive[ids["ok"]] == Verdict(Decision.DROP, "inactive_list")


async def test_quiet_hours_defer_and_transactional_exemption(services, clock):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    contact_id = (await subscribe(services, tenant, "+12125550110")).contact.id
    night = at_new_york(2026, 3, 7, 22, 15)  # Saturday night before DST starts
    verdict = await services.compliance.check(sending_list=sending_list,
                                              contact_id=contact_id, now=night)
    assert verdict.decision == Decision.DEFER
    assert verdict.until == dt.datetime(2026, 3, 8, 12, 0, tzinfo=dt.UTC)  # 08:00 EDT
    exempt = await services.compliance.check(sending_list=sending_list,
                                             contact_id=contact_id, now=night,
                                             transactional=True)
    assert exempt.allowed


async def test_timezone_falls_back_to_the_account_then_new_york(services):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    contact_id = (await subscribe(services, tenant, "+12125550111")).contact.id
    await Contact.filter(id=contact_id).update(timezone=None, state=None)
    at_nine_ny = at_new_york(2026, 3, 3, 21, 30)  # 18:30 in Los Angeles
    ny_verdict = await services.compliance.check(sending_list=sending_list,
                                                 contact_id=contact_id, now=at_nine_ny)
    assert ny_verdict.decision == Decision.DEFER
    await Account.filter(id=tenant.account.id).update(default_timezone="America/Los_Angeles")
    la_verdict = await services.compliance.check(sending_list=sending_list,
                                                 contact_id=contact_id, now=at_nine_ny)
    assert la_verdict.allowed
    await Contact.filter(id=contact_id).update(timezone="Pacific/Honolulu")
    early = at_new_york(2026, 3, 3, 10, 0)  # 05:00 in Honolulu
    hi_verdict = await services.compliance.check(sending_list=sending_list,
                                                 contact_id=contact_id, now=early)
    assert hi_verdict.decision == Decision.DEFER


async def test_one_off_sends_need_no_subscription_but_respect_opt_outs(services, clock):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    info = parse_phone("+12125550112")
    assert isinstance(info, PhoneInfo)
    contact, _ = await services.contacts.ensure_contact(info)
    now = at_new_york(2026, 3, 3, 12, 0)
    verdict = await services.compliance.check(sending_list=sending_list,
                                              contact_id=contact.id, now=now,
                                              subscription_optional=True)
    assert verdict.allowed
    unsub = (await subscribe(services, tenant, "+12125550113")).contact.id
    await ListContact.filter(contact_id=unsub).update(status="unsubscribed")
    verdict = await services.compliance.check(sending_list=sending_list, contact_id=unsub,
                                              now=now, subscription_optional=True)
    assert verdict.reason == "unsubscribed"


async def test_batch_uses_a_constant_number_of_queries(services, clock):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    small = [(await subscribe(services, tenant, f"+1212555{1000 + i}")).contact.id
             for i in range(3)]
    large = small + [(await subscribe(services, tenant, f"+1212555{2000 + i}")).contact.id
                     for i in range(60)]

    class Counter(logging.Handler):
        count = 0

        def emit(self, record: logging.LogRecord) -> None:
            self.count += 1

    async def queries_for(ids: list[int]) -> int:
        counter = Counter(level=logging.DEBUG)
        logger = logging.getLogger("tortoise.db_client")
        old_level = logger.level
        logger.addHandler(counter)
        logger.setLevel(logging.DEBUG)
        try:
            verdicts = await services.compliance.check_batch(
                sending_list=sending_list, contact_ids=ids, now=clock.now())
        finally:
            logger.removeHandler(counter)
            logger.setLevel(old_level)
        assert len(verdicts) == len(ids)
        return counter.count

    assert 0 < await queries_for(small) == await queries_for(large) <= 4


async def test_blocks_drop_queued_messages_and_are_managed(services, clock):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant)
    contact_id = (await subscribe(services, tenant, "+12125550114")).contact.id
    queued = await queue_message(sending_list, contact_id)
    block = await services.compliance.add_block(tenant.owner, "(212) 555-0114",
                                                reason="asked by phone")
    stored = await MessageSent.get(id=queued.id)
    assert (stored.status, stored.status_detail) == (MessageStatus.DROPPED, "contact_blocked")
    assert block.sending_list_id is None and block.phone_number == "+12125550114"
    assert await services.compliance.is_blocked(tenant.owner, "+12125550114",
                                                list_id=sending_list.id)
    with pytest.raises(Conflict):
        await services.compliance.add_block(tenant.owner, "+12125550114")
    list_block = await services.compliance.add_block(tenant.owner, "+12125550114",
                                                     list_id=sending_list.id)
    blocks, total = await services.compliance.list_blocks(tenant.owner)
    assert total == 2 and {b.id for b in blocks} == {block.id, list_block.id}

    other = await make_tenant(services, "B", "b@b.test")
    with pytest.raises(NotFound):
        await services.compliance.remove_block(other.owner, block.id)
    await services.compliance.remove_block(tenant.owner, block.id)
    await services.compliance.remove_block(tenant.owner, list_block.id)
    assert await Block.all().count() == 0
    viewer = Actor(account_id=tenant.account.id, role=Role.VIEWER, kind=ActorKind.API_KEY)
    with pytest.raises(PermissionDenied):
        await services.compliance.add_block(viewer, "+12125550115")
    verdict = await services.compliance.check(
        sending_list=sending_list, contact_id=contact_id,
        now=at_new_york(2026, 3, 3, 12, 0))
    assert verdict.allowed
    assert LIST_NUMBER == sending_list.phone_number
