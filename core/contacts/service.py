"""Contacts and their subscriptions: upsert, custom fields, listing, unsubscribe.

One Contact per number in the whole system (facts derived from the number on first
sight); one ListContact per (list, contact) with its consent evidence and custom fields.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.accounts.models import Account
from core.clock import Clock
from core.contacts.consent import READDABLE_REASONS, account_opt_out
from core.contacts.fields import (
    FieldError,
    clean_contact_email,
    clean_custom_fields,
    clean_ip,
    clean_short_text,
    clean_url,
    merge_custom_fields,
    parse_date,
)
from core.contacts.lists import SendingListService
from core.contacts.models import (
    Contact,
    ListContact,
    SendingList,
    SignupMethod,
    SubscriptionStatus,
    UnsubscribeReason,
)
from core.contacts.phones import PhoneInfo, mask, parse_phone
from core.contacts.ports import DropQueued, EnrollNew
from core.contacts.rules import landline_refusal
from core.errors import NotFound, TracklyError, ValidationError
from core.permissions import Action, Actor
from core.reasons import DropReason
from core.validation import BulkError, bulk_size

log = logging.getLogger(__name__)

@dataclass
class ContactInput:
    """``POST /contacts``: one contact onto one list."""

    phone_number: Any
    list_number: Any
    signup_date: Any = None  # datetime or text (YYYY-MM-DD, ISO 8601...)
    ip_address: str | None = None
    url: str | None = None
    custom_fields: Mapping[str, Any] | None = None
    replace_custom_fields: bool = False
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    signup_method: SignupMethod = SignupMethod.API
    use_journeys: bool = True  # a new subscription enters its list's active journeys
    skip_journey_if_exists: bool = False  # unless the contact is in a journey already


@dataclass(frozen=True)
class UpsertResult:
    contact: Contact
    list_contact: ListContact
    is_new_contact: bool
    is_new_list_contact: bool
    changed: bool  # the stored subscription differs from before the call
    resubscribed: bool = False
    journeys_enrolled: tuple[int, ...] = ()


@dataclass
class BulkOutcome:
    results: list[tuple[int, UpsertResult]] = field(default_factory=list)
    errors: list[BulkError] = field(default_factory=list)


class ContactService:
    def __init__(self, *, clock: Clock, lists: SendingListService,
                 drop_queued: DropQueued, enroll: EnrollNew | None = None) -> None:
        self.clock = clock
        self.lists = lists
        self.drop_queued = drop_queued
        self.enroll = enroll

    # -- contacts (system-wide) ---------------------------------------------------------

    async def ensure_contact(self, info: PhoneInfo) -> tuple[Contact, bool]:
        """The one Contact for this number, created with the number's facts if new."""
        return await Contact.get_or_create(
            phone_number=info.e164,
            defaults={"country_code": info.country_code, "line_type": info.line_type,
                      "carrier": info.carrier[:100], "timezone": info.timezone,
                      "state": info.state, "area_code": info.area_code, "is_valid": True})

    # -- upsert ---------------------------------------------------------------------------

    async def upsert_contact(self, actor: Actor, entry: ContactInput) -> UpsertResult:
        """Put a contact on a list, or update its subscription (custom fields merged unless
        ``replace_custom_fields``). Someone who opted out stays unsubscribed."""
        actor.require(Action.BUILD)
        sending_list = await self.lists.get_by_number(actor, entry.list_number)
        account = await Account.get(id=actor.account_id)
        info = self._phone(entry.phone_number, sending_list, account)
        values = self._clean_entry(entry)
        contact, new_contact = await self.ensure_contact(info)
        refused = landline_refusal(info.e164, contact.line_type,
                                   allow_landlines=sending_list.allow_landlines)
        if refused is not None:
            raise refused
        now = self.clock.now()
        created: ListContact | None = None
        async with in_transaction():
            existing = await ListContact.filter(
                sending_list_id=sending_list.id, contact_id=contact.id
            ).select_for_update().first()
            if existing is None:
                created = await self._create_subscription(actor, sending_list, contact,
                                                          values, entry, now)
                if created is None:
                    existing = await ListContact.get(sending_list_id=sending_list.id,
                                                     contact_id=contact.id)
            if existing is not None:
                changed, resubscribed = self._update_subscription(existing, values, entry,
                                                                  now)
                if changed:
                    await existing.save(update_fields=sorted(changed))
        if created is not None:  # committed: now it may enter its list's journeys
            return await self._enrolled(actor, entry, UpsertResult(contact, created,
                                                                   new_contact, True, True))
        assert existing is not None
        return UpsertResult(contact, existing, new_contact, False, bool(changed), resubscribed)

    async def upsert_many(self, actor: Actor, entries: Sequence[ContactInput]) -> BulkOutcome:
        """Each entry on its own: one bad entry never stops the others. Indexes in the
        outcome are positions in ``entries``."""
        actor.require(Action.BUILD)
        bulk_size(entries, field="contacts", noun="contact", minimum=0)
        outcome = BulkOutcome()
        for index, entry in enumerate(entries):
            try:
                outcome.results.append((index, await self.upsert_contact(actor, entry)))
            except TracklyError as exc:
                outcome.errors.append(BulkError(index, exc.code, exc.message))
        return outcome

    # -- custom fields --------------------------------------------------------------------

    async def update_custom_fields(self, actor: Actor, *, phone_number: Any, list_number: Any,
                                   custom_fields: Any, merge: bool = True) -> ListContact:
        actor.require(Action.BUILD)
        if custom_fields is None:
            raise ValidationError("custom_fields is required.", code="missing_custom_fields",
                                  field="custom_fields")
        clean = clean_custom_fields(custom_fields)
        if not clean and merge:
            raise ValidationError("custom_fields is empty: nothing to update.",
                                  code="missing_custom_fields", field="custom_fields")
        subscription = await self.get_subscription(actor, phone_number=phone_number,
                                                   list_number=list_number)
        async with in_transaction():
            locked = await ListContact.filter(id=subscription.id).select_for_update().first()
            assert locked is not None
            merged = merge_custom_fields(locked.custom_fields or {}, clean, replace=not merge)
            if merged != (locked.custom_fields or {}):
                locked.custom_fields = merged
                locked.updated_at = self.clock.now()
                await locked.save(update_fields=["custom_fields", "updated_at"])
        await locked.fetch_related("contact", "sending_list")
        return locked

    # -- reading --------------------------------------------------------------------------

    async def get_subscription(self, actor: Actor, *, phone_number: Any, list_number: Any
                               ) -> ListContact:
        actor.require(Action.READ)
        sending_list = await self.lists.get_by_number(actor, list_number)
        account = await Account.get(id=actor.account_id)
        info = self._phone(phone_number, sending_list, account)
        found = await ListContact.get_or_none(
            sending_list_id=sending_list.id, contact__phone_number=info.e164
        ).prefetch_related("contact", "sending_list")
        if found is None:
            raise NotFound(f"{info.e164} is not on the list {sending_list.phone_number}.",
                           code="contact_not_on_list")
        return found

    async def list_contacts(self, actor: Actor, *, list_number: Any = None,
                            active: bool | None = None, page: int = 1, per_page: int = 50
                            ) -> tuple[list[ListContact], int]:
        """Newest signup first."""
        actor.require(Action.READ)
        query = ListContact.filter(account_id=actor.account_id)
        if list_number is not None:
            sending_list = await self.lists.get_by_number(actor, list_number)
            query = query.filter(sending_list_id=sending_list.id)
        if active is not None:
            query = query.filter(status=SubscriptionStatus.ACTIVE if active
                                 else SubscriptionStatus.UNSUBSCRIBED)
        total = await query.count()
        rows = await query.order_by("-signup_date", "-id").offset(
            (page - 1) * per_page).limit(per_page).prefetch_related("contact", "sending_list")
        return rows, total

    # -- unsubscribe ----------------------------------------------------------------------

    async def unsubscribe(self, actor: Actor, *, phone_number: Any, list_number: Any,
                          reason: UnsubscribeReason = UnsubscribeReason.MANUAL
                          ) -> ListContact:
        """Unsubscribe (idempotent) and drop the contact's queued messages from the list."""
        actor.require(Action.BUILD)
        subscription = await self.get_subscription(actor, phone_number=phone_number,
                                                   list_number=list_number)
        now = self.clock.now()
        async with in_transaction():
            moved = await ListContact.filter(
                id=subscription.id, status=SubscriptionStatus.ACTIVE
            ).update(status=SubscriptionStatus.UNSUBSCRIBED, unsubscribe_reason=reason,
                     unsubscribed_at=now, updated_at=now)
            dropped = await self.drop_queued(
                contact_id=subscription.contact_id, list_ids=[subscription.sending_list_id],
                detail=DropReason.UNSUBSCRIBED, source=f"contacts:{actor.label}", now=now)
        if moved:
            log.info("contact %s unsubscribed from list %s (%s); %d queued dropped",
                     mask(subscription.contact.phone_number), subscription.sending_list_id,
                     reason, dropped)
        await subscription.refresh_from_db()
        return subscription

    # -- internals ------------------------------------------------------------------------

    @staticmethod
    def _phone(raw: Any, sending_list: SendingList, account: Account) -> PhoneInfo:
        region = sending_list.country_code or account.default_region
        info = parse_phone(raw, region=region)
        if isinstance(info, PhoneInfo):
            return info
        code = "missing_phone_number" if info.code == "missing_phone" else "invalid_phone"
        raise ValidationError(f"phone_number: {info.reason}", code=code, field="phone_number")

    def _clean_entry(self, entry: ContactInput) -> dict[str, Any]:
        now = self.clock.now()
        values: dict[str, Any] = {}
        try:
            if isinstance(entry.signup_date, dt.datetime):
                values["signup_date"] = _aware(entry.signup_date)
                if values["signup_date"] > now + dt.timedelta(minutes=5):
                    raise FieldError("future_date", "signup_date is in the future.")
            elif entry.signup_date is not None and entry.signup_date != "":
                values["signup_date"] = parse_date(str(entry.signup_date), now=now,
                                                   what="signup_date")
            for name, limit in (("first_name", 100), ("last_name", 100)):
                value = clean_short_text(getattr(entry, name), field=name, max_length=limit)
                if value is not None:
                    values[name] = value
            email = clean_contact_email(entry.email)
            if email is not None:
                values["email"] = email
        except FieldError as exc:
            field = "signup_date" if exc.code.endswith("date") else exc.code.removeprefix(
                "invalid_")
            code = "invalid_signup_date" if field == "signup_date" else exc.code
            raise ValidationError(exc.reason, code=code, field=field) from None
        values["consent_ip"] = clean_ip(entry.ip_address)
        values["consent_url"] = clean_url(entry.url)
        if entry.custom_fields is not None:
            values["custom_fields"] = clean_custom_fields(entry.custom_fields)
        return values

    async def _enrolled(self, actor: Actor, entry: ContactInput, result: UpsertResult
                        ) -> UpsertResult:
        """A new active subscription enters its list's journeys (after its commit)."""
        if (self.enroll is None or not entry.use_journeys
                or result.list_contact.status != SubscriptionStatus.ACTIVE):
            return result
        got = await self.enroll(actor.account_id, [result.list_contact.id],
                                skip_if_enrolled=entry.skip_journey_if_exists)
        return replace(result, journeys_enrolled=tuple(got.get(result.list_contact.id, [])))

    async def _create_subscription(self, actor: Actor, sending_list: SendingList,
                                   contact: Contact, values: dict[str, Any],
                                   entry: ContactInput, now: dt.datetime) -> ListContact | None:
        signup = values.get("signup_date") or now
        custom = merge_custom_fields({}, values.get("custom_fields") or {})
        # An account-wide STOP covers lists created after it: the subscription is made,
        # with the STOP on it, so the person's word outlives the new list.
        opted_out = await account_opt_out(actor.account_id, contact.id)
        standing: dict[str, Any] = {"status": SubscriptionStatus.ACTIVE}
        if opted_out is not None:
            standing = {"status": SubscriptionStatus.UNSUBSCRIBED,
                     "unsubscribe_reason": opted_out.reason,
                     "unsubscribed_at": opted_out.opted_out_at,
                     "unsubscribe_keyword": opted_out.keyword}
        try:
            async with in_transaction():
                return await ListContact.create(
                    account_id=actor.account_id, sending_list_id=sending_list.id,
                    contact_id=contact.id, state=contact.state,
                    area_code=contact.area_code, **standing,
                    signup_date=signup, signup_method=entry.signup_method,
                    consent_date=signup, consent_ip=values["consent_ip"],
                    consent_url=values["consent_url"], consent_source=str(entry.signup_method),
                    first_name=values.get("first_name", ""),
                    last_name=values.get("last_name", ""), email=values.get("email", ""),
                    custom_fields=custom)
        except IntegrityError:
            return None  # created by a concurrent call: update it instead

    @staticmethod
    def _update_subscription(existing: ListContact, values: dict[str, Any],
                             entry: ContactInput, now: dt.datetime) -> tuple[set[str], bool]:
        changed: set[str] = set()

        def put(name: str, value: Any) -> None:
            if getattr(existing, name) != value:
                setattr(existing, name, value)
                changed.add(name)

        for name in ("first_name", "last_name", "email"):
            if name in values:
                put(name, values[name])
        if "custom_fields" in values:
            put("custom_fields", merge_custom_fields(existing.custom_fields or {},
                                                     values["custom_fields"],
                                                     replace=entry.replace_custom_fields))
        if values["consent_ip"] or values["consent_url"] or "signup_date" in values:
            # New consent evidence: the latest event is what a dispute asks about.
            put("consent_date", values.get("signup_date") or now)
            put("consent_ip", values["consent_ip"])
            put("consent_url", values["consent_url"])
            put("consent_source", str(entry.signup_method))
        resubscribed = False
        if existing.status == SubscriptionStatus.UNSUBSCRIBED and \
                existing.unsubscribe_reason in READDABLE_REASONS:
            put("status", SubscriptionStatus.ACTIVE)
            put("unsubscribe_reason", None)
            put("unsubscribed_at", None)
            put("unsubscribe_keyword", None)
            resubscribed = True
        if changed:
            existing.updated_at = now
            changed.add("updated_at")
        return changed, resubscribed


def _aware(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
