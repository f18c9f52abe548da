"""Inbound replies: opt-out before the next message leaves, confirmations once."""

from __future__ import annotations

import datetime as dt

from core.accounts.models import Account, StopScope
from core.compliance.keywords import InboundIntent
from core.compliance.suppression import Decision
from core.contacts.models import ListContact, SignupMethod, SubscriptionStatus
from core.inbound.models import InboundMessage
from core.inbound.service import InboundAction
from core.messaging.models import MessageEvent, MessageSent, MessageStatus
from core.notifications.models import Notification, Severity
from core.providers.base import InboundSms
from tests.contacts.helpers import LIST_NUMBER, make_list, queue_message, subscribe
from tests.factories import make_tenant

PHONE = "+14155550100"
_ids = iter(range(1, 10_000))


def sms(body: str, *, frm: str = PHONE, to: str = LIST_NUMBER, ident: str | None = None
        ) -> InboundSms:
    return InboundSms(provider="twilio", provider_message_id=ident or f"SM{next(_ids):032d}",
                      from_number=frm, to_number=to, body=body)


async def test_stop_makes_queued_messages_unsendable_and_confirms_once(services, clock):
    tenant = await make_tenant(services)
    sending_list = await make_list(services, tenant, brand_name="Acme")
    contact_id = (await subscribe(services, tenant, PHONE)).contact.id
    queued = [await queue_message(sending_list, contact_id) for _ in range(3)]
    in_flight = await queue_message(sending_list, contact_id, status=MessageStatus.SENDING)

    outcome = await services.inbound.receive(sms("STOP"))
    assert outcome.intent == InboundIntent.OPT_OUT and outcome.matched_rule == "exact:stop"
    assert outcome.action == InboundAction.UNSUBSCRIBED
    assert outcome.list_contacts_changed == 1 and outcome.cancelled_message_count == 3
    assert outcome.reply_text and "unsubscribed" in outcome.reply_text
    assert outcome.reply_text.startswith("Acme:")
    assert (outcome.reply_from, outcome.reply_to) == (LIST_NUMBER, PHONE)

    for message in queued:
        stored = await MessageSent.get(id=message.id)
        assert (stored.status, stored.status_detail) == (MessageStatus.DROPPED, "unsubscribed")
        assert stored.dropped_at == clock.now()
        assert await MessageEvent.filter(message_id=message.id, status="dropped").exists()
    # Already claimed by an executor: left to the executor's own re-check...
    assert (await MessageSent.get(id=in_flight.id)).status == MessageStatus.SENDING
    # ...which now says drop.
    verdict = await services.compliance.check(sending_list=sending_list,
                                              contact_id=contact_id, now=clock.now())
    assert (verdict.decision, verdict.reason) == (Decision.DROP, "unsubscribed")
    # The confirmation itself still goes to them, at any hour.
    clock.advance(hours=14)  # 21:00 in Los Angeles, where 415 numbers are
    marketing = await services.compliance.check(
        sending_list=sending_list, contact_id=contact_id, now=clock.now(),
        subscription_optional=True)
    assert marketing.decision == Decision.DROP
    confirmation = await services.compliance.check(
        sending_list=sending_list, contact_id=contact_id, now=clock.now(), reply=True)
    assert confirmation.allowed
    clock.advance(hours=-14)

    lc = await ListContact.get(contact_id=contact_id)
    assert (lc.status, lc.unsubscribe_reason, lc.unsubscribe_keyword) == (
        SubscriptionStatus.UNSUBSCRIBED, "message", "STOP")
    assert lc.unsubscribed_at == clock.now()

    clock.advance(minutes=5)
    second = await services.inbound.receive(sms("stop"))
    assert second.reply_text is None and second.action == InboundAction.ALREADY_UNSUBSCRIBED
    assert second.list_contacts_changed == 0
    stored = await InboundMessage.filter(account_id=tenant.account.id).order_by("id")
    assert [m.action_taken for m in stored] == ["unsubscribed", "already_unsubscribed"]
    assert [m.intent for m in stored] == [InboundIntent.OPT_OUT, InboundIntent.OPT_OUT]
    assert await Notification.filter(kind="opt_out").count() == 1


async def test_the_same_webhook_twice_does_nothing_twice(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await subscribe(services, tenant, PHONE)
    first = await services.inbound.receive(sms("STOP", ident="SMdup"))
    again = await services.inbound.receive(sms("STOP", ident="SMdup"))
    assert first.reply_text is not None
    assert again.duplicate is True and again.reply_text is None
    assert await InboundMessage.all().count() == 1


async def test_opt_out_scope_list_or_account(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await make_list(services, tenant, "+14155550009")
    await subscribe(services, tenant, PHONE)
    await subscribe(services, tenant, PHONE, "+14155550009")
    await services.inbound.receive(sms("unsubscribe"))
    statuses = dict(await ListContact.all().values_list("sending_list__phone_number",
                                                        "status"))
    assert statuses == {LIST_NUMBER: "unsubscribed", "+14155550009": "active"}

    await Account.filter(id=tenant.account.id).update(stop_scope=StopScope.ACCOUNT)
    phone2 = "+14155550101"
    await subscribe(services, tenant, phone2)
    await subscribe(services, tenant, phone2, "+14155550009")
    outcome = await services.inbound.receive(sms("Stop texting me", frm=phone2))
    assert outcome.list_contacts_changed == 2
    assert await ListContact.filter(contact__phone_number=phone2,
                                    status="unsubscribed").count() == 2


async def test_opt_in_resubscribes_with_consent_and_confirms_once(services, clock):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await subscribe(services, tenant, PHONE)
    await services.inbound.receive(sms("STOP"))
    clock.advance(hours=1)
    back = await services.inbound.receive(sms("START"))
    assert back.action == InboundAction.RESUBSCRIBED and back.reply_text
    lc = await ListContact.get()
    assert lc.status == SubscriptionStatus.ACTIVE and lc.unsubscribe_reason is None
    assert lc.consent_date == clock.now() and lc.consent_source == "keyword:START"
    again = await services.inbound.receive(sms("yes"))
    assert again.reply_text is None and again.action == InboundAction.ALREADY_SUBSCRIBED

    stranger = await services.inbound.receive(sms("START", frm="+14155550177"))
    assert stranger.action == InboundAction.SUBSCRIBED
    joined = await ListContact.get(contact__phone_number="+14155550177")
    assert joined.signup_method == SignupMethod.KEYWORD and joined.status == "active"


async def test_stop_from_a_stranger_is_recorded_so_nobody_can_add_them(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    outcome = await services.inbound.receive(sms("STOP", frm="+14155550188"))
    assert outcome.action == InboundAction.UNSUBSCRIBED and outcome.reply_text
    result = await subscribe(services, tenant, "+14155550188")
    assert result.list_contact.status == SubscriptionStatus.UNSUBSCRIBED


async def test_help_replies_every_time_with_the_lists_text(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant, help_text="Acme deals. Questions: help@acme.test")
    for _ in range(2):
        outcome = await services.inbound.receive(sms("HELP"))
        assert outcome.intent == InboundIntent.HELP
        assert outcome.reply_text == "Acme deals. Questions: help@acme.test"
    assert await Notification.filter(kind="inbound", severity=Severity.LOW).count() == 2


async def test_complaints_are_labelled_critical_and_opt_out_where_the_account_says(
        services):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await subscribe(services, tenant, PHONE)
    outcome = await services.inbound.receive(sms("this is spam"))
    assert outcome.intent == InboundIntent.COMPLAINT
    assert outcome.action == InboundAction.COMPLAINT_UNSUBSCRIBED and outcome.reply_text
    lc = await ListContact.get()
    assert (lc.status, lc.unsubscribe_reason) == ("unsubscribed", "complaint")
    note = await Notification.get(kind="complaint")
    assert note.severity == Severity.CRITICAL and PHONE not in note.body

    await Account.filter(id=tenant.account.id).update(complaint_is_opt_out=False)
    other = "+14155550102"
    await subscribe(services, tenant, other)
    labelled = await services.inbound.receive(sms("SCAM", frm=other))
    assert labelled.action == InboundAction.COMPLAINT_LABELLED and labelled.reply_text is None
    assert (await ListContact.get(contact__phone_number=other)).status == "active"
    # A complaint that also says stop is an opt-out whatever the setting.
    stop_too = await services.inbound.receive(sms("stop spamming me", frm=other))
    assert stop_too.action == InboundAction.COMPLAINT_UNSUBSCRIBED
    assert (await ListContact.get(contact__phone_number=other)).unsubscribe_reason == \
        "message"


async def test_ordinary_replies_and_false_positives_change_nothing(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await subscribe(services, tenant, PHONE)
    for text in ["stop by the store", 'Liked “Reply STOP to opt out”', "👍", "who is this"]:
        outcome = await services.inbound.receive(sms(text))
        assert outcome.intent == InboundIntent.NONE and outcome.reply_text is None, text
    assert (await ListContact.get()).status == "active"
    # "stop by the store" holds an opt-out word: it goes on the review list instead.
    assert await Notification.filter(kind="inbound").count() == 3
    assert await Notification.filter(kind="opt_out_review").count() == 1


async def test_unknown_number_and_odd_senders_are_stored(services):
    outcome = await services.inbound.receive(sms("STOP", to="+13125550000"))
    assert outcome.action == InboundAction.UNKNOWN_NUMBER and outcome.reply_text is None
    stored = await InboundMessage.get()
    assert stored.account_id is None and stored.body == "STOP"

    tenant = await make_tenant(services)
    await make_list(services, tenant)
    odd = await services.inbound.receive(sms("STOP", frm="ACME-BANK"))
    assert odd.action == InboundAction.INVALID_SENDER and odd.reply_text is None


async def test_phone_numbers_stay_out_of_info_logs(services, caplog):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await subscribe(services, tenant, PHONE)
    with caplog.at_level("INFO"):
        await services.inbound.receive(sms("STOP"))
    assert caplog.records
    assert not any(PHONE in r.getMessage() or PHONE[2:] in r.getMessage()
                   for r in caplog.records if r.levelname == "INFO")


async def test_received_at_from_the_provider_is_kept(services, clock):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    when = dt.datetime(2026, 3, 3, 14, 59, tzinfo=dt.UTC)
    await services.inbound.receive(InboundSms(
        provider="cm", provider_message_id="cm-1", from_number=PHONE, to_number=LIST_NUMBER,
        body="hello", received_at=when))
    assert (await InboundMessage.get()).received_at == when


async def test_stop_after_an_operator_removal_is_recorded_and_confirmed(services):
    # Removed by hand (reason manual), then the person texts STOP: an API upsert may
    # bring back a manual removal, so unless the STOP is recorded they are re-added.
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await subscribe(services, tenant, PHONE)
    await services.contacts.unsubscribe(tenant.owner, phone_number=PHONE,
                                        list_number=LIST_NUMBER)
    outcome = await services.inbound.receive(sms("STOP"))
    assert outcome.action == InboundAction.UNSUBSCRIBED and outcome.reply_text
    lc = await ListContact.get()
    assert (lc.status, lc.unsubscribe_reason, lc.unsubscribe_keyword) == (
        "unsubscribed", "message", "STOP")
    again = await subscribe(services, tenant, PHONE)
    assert again.list_contact.status == SubscriptionStatus.UNSUBSCRIBED
    second = await services.inbound.receive(sms("STOP"))
    assert second.reply_text is None and second.action == InboundAction.ALREADY_UNSUBSCRIBED


async def test_an_account_wide_stop_covers_lists_the_sender_is_not_on_yet(services):
    tenant = await make_tenant(services)
    await make_list(services, tenant)
    await make_list(services, tenant, "+14155550009")
    await Account.filter(id=tenant.account.id).update(stop_scope=StopScope.ACCOUNT)
    await subscribe(services, tenant, PHONE)
    outcome = await services.inbound.receive(sms("STOP"))
    assert outcome.action == InboundAction.UNSUBSCRIBED and outcome.reply_text
    other = await subscribe(services, tenant, PHONE, "+14155550009")
    assert other.list_contact.status == SubscriptionStatus.UNSUBSCRIBED
    assert await ListContact.filter(contact__phone_number=PHONE,
                                    status="active").count() == 0
    second = await services.inbound.receive(sms("STOP"))
    assert second.reply_text is None and second.list_contacts_changed == 0
