"""Sending lists: a from-number, its provider and (sealed) credentials.

Credentials are write-only: they are validated per provider, sealed with the
installation's SecretBox and never returned. Setting them needs the owner's
``MANAGE_CREDENTIALS``; everything else about a list needs ``BUILD``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.accounts.models import Account
from core.audit.service import AuditLog
from core.clock import Clock
from core.contacts.models import ListStatus, NumberType, Provider, SendingList
from core.contacts.phones import (
    PhoneInfo,
    is_short_code,
    is_toll_free,
    mask,
    normalize_sender,
    parse_phone,
)
from core.crypto import SecretBox
from core.errors import Conflict, NotFound, ValidationError
from core.permissions import Action, Actor
from core.providers.credentials import open_credentials, validate_credentials

log = logging.getLogger(__name__)

MAX_RATE_LIMIT = 1_000_000
_UNSET: Any = object()


@dataclass
class ListChanges:
    """Fields of a create or a PATCH; ``_UNSET`` (the default) leaves a field alone."""

    name: Any = _UNSET
    phone_number: Any = _UNSET
    provider: Any = _UNSET
    credentials: Any = _UNSET
    brand_name: Any = _UNSET
    status: Any = _UNSET
    rate_limit_per_minute: Any = _UNSET
    prepend_text: Any = _UNSET
    append_text: Any = _UNSET
    help_text: Any = _UNSET
    allow_landlines: Any = _UNSET

    def given(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if v is not _UNSET}


def parse_provider(value: Any) -> Provider:
    try:
        return Provider(str(value).strip().lower())
    except ValueError:
        raise ValidationError(
            f"Unknown provider {str(value)[:30]!r}; choose twilio, infobip, cm or simulator.",
            code="invalid_provider", field="provider") from None


class SendingListService:
    def __init__(self, *, clock: Clock, box: SecretBox,
                 default_provider: str = Provider.SIMULATOR,
                 audit: AuditLog | None = None) -> None:
        self.clock = clock
        self.box = box
        self.default_provider = default_provider  # for a list created without one
        self.audit = audit or AuditLog(clock=clock)

    async def _audit_credentials(self, actor: Actor, sending_list: SendingList,
                                 given: dict[str, Any]) -> None:
        """Credentials set or cleared go into the audit trail (never their values)."""
        if "credentials" in given:
            await self.audit.record(
                actor, "credentials.set" if given["credentials"] else "credentials.clear",
                target=f"list:{sending_list.id}",
                changes={"provider": str(sending_list.provider)})

    async def create_list(self, actor: Actor, changes: ListChanges) -> SendingList:
        actor.require(Action.BUILD)
        given = changes.given()
        if "credentials" in given and given["credentials"] is not None:
            actor.require(Action.MANAGE_CREDENTIALS)
        if "phone_number" not in given:
            raise ValidationError("phone_number is required.", code="missing_phone_number",
                                  field="phone_number")
        if given.get("provider") is None:
            given["provider"] = self.default_provider
        account = await Account.get(id=actor.account_id)
        sending_list = SendingList(account_id=actor.account_id,
                                   webhook_token=secrets.token_urlsafe(32))
        self._apply(sending_list, given, region=account.default_region)
        try:
            async with in_transaction():
                await sending_list.save()
        except IntegrityError:
            raise Conflict(f"The number {sending_list.phone_number} is already a sending list.",
                           code="list_number_taken", field="phone_number") from None
        log.info("sending list %s (%s, %s) created in account %s", sending_list.id,
                 mask(sending_list.phone_number), sending_list.provider, actor.account_id)
        await self._audit_credentials(actor, sending_list, given)
        return sending_list

    async def update_list(self, actor: Actor, list_id: int, changes: ListChanges
                          ) -> SendingList:
        actor.require(Action.BUILD)
        given = changes.given()
        sending_list = await self.get_list(actor, list_id)
        provider_changes = ("provider" in given and
                            parse_provider(given["provider"]) != sending_list.provider)
        if "credentials" in given or (provider_changes and sending_list.credentials_sealed):
            actor.require(Action.MANAGE_CREDENTIALS)
        account = await Account.get(id=actor.account_id)
        if provider_changes and "credentials" not in given:
            given["credentials"] = None  # credentials of one provider mean nothing to another
        self._apply(sending_list, given, region=account.default_region)
        fields = sorted({_FIELD_FOR.get(k, k) for k in given} | {"updated_at"})
        if "phone_number" in given:
            fields += ["number_type", "country_code"]
        try:
            await sending_list.save(update_fields=fields)
        except IntegrityError:
            raise Conflict(f"The number {sending_list.phone_number} is already a sending list.",
                           code="list_number_taken", field="phone_number") from None
        await self._audit_credentials(actor, sending_list, given)
        return sending_list

    async def get_list(self, actor: Actor, list_id: int) -> SendingList:
        actor.require(Action.READ)
        found = await SendingList.get_or_none(id=list_id, account_id=actor.account_id)
        if found is None:
            raise NotFound("No such sending list.", code="list_not_found")
        return found

    async def list_lists(self, actor: Actor, *, page: int = 1, per_page: int = 50
                         ) -> tuple[list[SendingList], int]:
        actor.require(Action.READ)
        query = SendingList.filter(account_id=actor.account_id)
        total = await query.count()
        rows = await query.order_by("id").offset((page - 1) * per_page).limit(per_page)
        return rows, total

    async def get_by_number(self, actor: Actor, number: Any) -> SendingList:
        """The caller's list with this from-number (any common form); ``list_not_found``."""
        actor.require(Action.READ)
        if number is None or not str(number).strip():
            raise ValidationError("list_number is required.", code="missing_list_number",
                                  field="list_number")
        account = await Account.get(id=actor.account_id)
        found = await self.find_by_number(number, account_id=actor.account_id,
                                          region=account.default_region)
        if found is None:
            raise NotFound(f"No sending list with the number {str(number)[:30]}.",
                           code="list_not_found")
        return found

    async def find_by_number(self, number: Any, *, account_id: int | None = None,
                             region: str = "US") -> SendingList | None:
        """The list with this from-number in any common form: one account's, or any
        account's when ``account_id`` is None (inbound routing, the command line)."""
        normal = normalize_sender(number, region=region)
        if normal is None:
            return None
        if account_id is None:
            return await SendingList.get_or_none(phone_number=normal)
        return await SendingList.get_or_none(phone_number=normal, account_id=account_id)

    async def list_ids(self, account_id: int) -> list[int]:
        """Every list of the account (the scope of an account-wide opt-out or block)."""
        rows = await SendingList.filter(account_id=account_id).values("id")
        return [int(row["id"]) for row in rows]

    def credential_fields(self, sending_list: SendingList) -> list[str]:
        """Which credential fields are set (names only), for responses."""
        return sorted(open_credentials(self.box, sending_list))

    # -- internals ------------------------------------------------------------------

    def _apply(self, sending_list: SendingList, given: dict[str, Any], *, region: str) -> None:
        if "name" in given:
            sending_list.name = _text(given["name"], "name", 200) or ""
        if "phone_number" in given:
            normal = normalize_sender(given["phone_number"], region=region)
            if normal is None:
                raise ValidationError(
                    f"{str(given['phone_number'])[:30]!r} is not a phone number in E.164 "
                    "form or a 5-6 digit short code.", code="invalid_phone",
                    field="phone_number")
            sending_list.phone_number = normal
            if is_short_code(normal):
                sending_list.number_type = NumberType.SHORT_CODE
                sending_list.country_code = region
            else:
                sending_list.number_type = (NumberType.TOLL_FREE if is_toll_free(normal)
                                            else NumberType.LONG_CODE)
                sending_list.country_code = _region_of(normal) or region
        if "provider" in given:
            sending_list.provider = parse_provider(given["provider"])
        if "credentials" in given:
            creds = given["credentials"]
            if creds is None:
                sending_list.credentials_sealed = None
            else:
                clean = validate_credentials(sending_list.provider, creds)
                sending_list.credentials_sealed = self.box.seal(clean) if clean else None
        if "brand_name" in given:
            sending_list.brand_name = _text(given["brand_name"], "brand_name", 100) or ""
        if "status" in given:
            try:
                sending_list.status = ListStatus(str(given["status"]).lower())
            except ValueError:
                raise ValidationError("status must be active or inactive.",
                                      code="invalid_status", field="status") from None
        if "rate_limit_per_minute" in given:
            rate = given["rate_limit_per_minute"]
            if isinstance(rate, bool) or not isinstance(rate, int) or \
                    not 1 <= rate <= MAX_RATE_LIMIT:
                raise ValidationError(
                    f"rate_limit_per_minute must be a whole number from 1 to {MAX_RATE_LIMIT}.",
                    code="invalid_rate_limit_per_minute", field="rate_limit_per_minute")
            sending_list.rate_limit_per_minute = rate
        for key, limit in (("prepend_text", 200), ("append_text", 200), ("help_text", 320)):
            if key in given:
                value = given[key]
                setattr(sending_list, key, None if value is None else _raw_text(value, key,
                                                                                limit))
        if "allow_landlines" in given:
            if not isinstance(given["allow_landlines"], bool):
                raise ValidationError("allow_landlines must be true or false.",
                                      code="invalid_allow_landlines", field="allow_landlines")
            sending_list.allow_landlines = given["allow_landlines"]


_FIELD_FOR = {"credentials": "credentials_sealed"}


def _text(value: Any, field: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.", code=f"invalid_{field}", field=field)
    text = " ".join(value.split())
    if len(text) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters.",
                              code=f"invalid_{field}", field=field)
    return text


def _raw_text(value: Any, field: str, limit: int) -> str:
    """Prepend/append texts keep their spaces (" Reply STOP to opt out.")."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be text.", code=f"invalid_{field}", field=field)
    if len(value) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters.",
                              code=f"invalid_{field}", field=field)
    return value


def _region_of(e164: str) -> str | None:
    info = parse_phone(e164)
    return info.country_code if isinstance(info, PhoneInfo) else None
