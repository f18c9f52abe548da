"""Sending through the API: one message or a bulk of them, rendered and written to the
outbox. The executor takes it from there; nothing here talks to a provider."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from core.accounts.models import Account
from core.clock import Clock
from core.contacts import queries as contact_sql
from core.contacts.lists import SendingListService
from core.contacts.models import ListContact, SendingList, SubscriptionStatus
from core.contacts.phones import PhoneInfo, mask, parse_phone
from core.contacts.rules import landline_refusal, require_sending
from core.creatives.models import CreativeStatus, MessageCreative
from core.errors import NotFound, TracklyError, ValidationError
from core.messaging.content import blocked_reason
from core.messaging.links import new_links, tracking_base
from core.messaging.models import MessageSent
from core.messaging.outbox import NewMessage, enqueue
from core.messaging.render import Rendered, brand_of, compliance_text, finish
from core.messaging.template import RecipientFields, link_keys, validate_body
from core.offers.service import bound_offers
from core.permissions import Action, Actor
from core.settings import Settings
from core.sql import conn
from core.validation import BulkError, bulk_size

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendRequest:
    to: Any
    list_number: Any
    body: str | None = None
    creative_id: int | None = None
    transactional: bool = False  # exempt from quiet hours (receipts, codes, alerts)
    idempotency_key: str | None = None
    # The actor's account as its API key's lookup read it in this request (one query
    # for both); None reads it here.
    account: Account | None = None


@dataclass(frozen=True)
class SendResult:
    message_id: str
    status: str
    segments: int
    encoding: str
    price: Any
    to: str
    replayed: bool = False


@dataclass(frozen=True)
class BulkMessage:
    """One record of ``POST /send/bulk``, read and type-checked by the face."""

    to: str | int
    body: str
    transactional: bool = False  # exempt from quiet hours


@dataclass
class BulkSendOutcome:
    queued: list[tuple[int, SendResult]] = field(default_factory=list)
    errors: list[BulkError] = field(default_factory=list)


@dataclass(frozen=True)
class _Recipient:
    e164: str
    contact_id: int
    subscription: contact_sql.Subscription | None


@dataclass(frozen=True)
class _Template:
    body: str
    bindings: dict[str, dict[str, Any]]
    offer_urls: dict[int, str]
    creative_id: int | None
    offer_id: int | None


class SendService:
    def __init__(self, *, clock: Clock, settings: Settings, lists: SendingListService
                 ) -> None:
        self.clock = clock
        self.settings = settings
        self.lists = lists

    async def send(self, actor: Actor, request: SendRequest) -> SendResult:
        actor.require(Action.SEND)
        _require(request.to, "to")
        if request.body in (None, "") and request.creative_id is None:
            raise ValidationError("Give a body or a creative_id.", code="missing_body",
                                  field="body")
        if request.body not in (None, "") and request.creative_id is not None:
            raise ValidationError("Give a body or a creative_id, not both: a creative "
                                  "brings its own body.", code="body_and_creative_id",
                                  field="body")
        _require(request.list_number, "list_number")
        # The account once (its region reads the numbers, its brand renders the body); a
        # repeated Idempotency-Key is caught by the outbox's unique key, not a read first.
        account = await _account(actor, request.account)
        sending_list = await self._list_of(account, request.list_number)
        template = await self._template(actor, request.body, request.creative_id)
        recipient = await self._recipient(account, sending_list, request.to)
        message = self._prepare(account, sending_list, template, recipient,
                                transactional=request.transactional,
                                idempotency_key=request.idempotency_key)
        written = await enqueue([message], now=self.clock.now())
        if not written:  # this Idempotency-Key queued a message before: answer with it
            earlier = await MessageSent.get(account_id=actor.account_id,
                                            idempotency_key=request.idempotency_key)
            return _result(earlier, replayed=True)
        log.info("queued %s to %s from list %s", written[0].public_id, mask(message.to_number),
                 sending_list.id)
        return SendResult(written[0].public_id, "queued", message.segments, message.encoding,
                          message.price, message.to_number)

    async def send_bulk(self, actor: Actor, *, list_number: Any,
                        messages: Sequence[BulkMessage], account: Account | None = None
                        ) -> BulkSendOutcome:
        """Each message on its own: a bad number never stops the others. Indexes in the
        outcome are positions in ``messages``."""
        actor.require(Action.SEND)
        _require(list_number, "list_number")
        bulk_size(messages, field="messages", noun="message", minimum=0)
        account = await _account(actor, account)
        sending_list = await self._list_of(account, list_number)
        outcome = BulkSendOutcome()
        wellformed: list[tuple[int, BulkMessage]] = []
        for index, item in enumerate(messages):
            try:
                _require(item.to, "to")
                if not item.body:
                    raise ValidationError("body is required.", code="missing_body",
                                          field="body")
                wellformed.append((index, item))
            except TracklyError as exc:
                outcome.errors.append(BulkError(index, exc.code, exc.message))
        # Every recipient looked up (or created) at once: a thousand-message request must
        # not cost two thousand queries.
        recipients = await self._recipients(account, sending_list,
                                            [item.to for _, item in wellformed])
        prepared: list[tuple[int, NewMessage]] = []
        blocked_memo: dict[str, str | None] = {}
        for (index, item), recipient in zip(wellformed, recipients, strict=True):
            try:
                if isinstance(recipient, ValidationError):
                    raise recipient
                template = await self._template(actor, item.body, None)
                prepared.append((index, self._prepare(
                    account, sending_list, template, recipient,
                    transactional=item.transactional, blocked_memo=blocked_memo)))
            except TracklyError as exc:
                outcome.errors.append(BulkError(index, exc.code, exc.message))
        outcome.errors.sort(key=lambda e: e.index)
        written = await enqueue([m for _, m in prepared], now=self.clock.now())
        by_public_id = {w.public_id for w in written}
        for index, m in prepared:
            if m.public_id in by_public_id:
                outcome.queued.append((index, SendResult(m.public_id, "queued", m.segments,
                                                         m.encoding, m.price, m.to_number)))
        return outcome

    # -- pieces ---------------------------------------------------------------------------

    async def _list_of(self, account: Account, number: Any) -> SendingList:
        """The account's list with this from-number, able to send; ``list_not_found``,
        ``list_inactive``."""
        found = await self.lists.find_by_number(number, account_id=account.id,
                                                region=account.default_region)
        if found is None:
            raise NotFound(f"No sending list with the number {str(number)[:30]}.",
                           code="list_not_found")
        return require_sending(found)

    async def _recipient(self, account: Account, sending_list: SendingList, number: Any
                         ) -> _Recipient:
        """One number's contact (created when new) and subscription: one statement on
        PostgreSQL, three at most on SQLite."""
        info = parse_phone(number, region=account.default_region)
        if not isinstance(info, PhoneInfo):
            raise ValidationError(info.reason, code="invalid_phone", field="to")
        found = await contact_sql.ensure_subscriber(conn(), (
            info.e164, info.country_code, info.line_type, info.carrier[:100], info.timezone,
            info.state, info.area_code), sending_list.id, self.clock.now())
        refused = landline_refusal(info.e164, found.line_type, field="to",
                                   allow_landlines=sending_list.allow_landlines)
        if refused:
            raise refused
        return _Recipient(info.e164, found.contact_id, found.subscription)

    async def _template(self, actor: Actor, body: str | None, creative_id: int | None
                        ) -> _Template:
        if creative_id is not None:
            creative = await MessageCreative.get_or_none(id=creative_id,
                                                         account_id=actor.account_id)
            if creative is None:
                raise NotFound(f"No creative {creative_id}.", code="creative_not_found")
            if creative.status != CreativeStatus.ACTIVE:
                raise ValidationError(f"Creative {creative_id} is {creative.status}.",
                                      code="creative_inactive", field="creative_id")
            bindings = creative.link_bindings or {}
            # Its offers were active when it was saved; one may have stopped since.
            urls = await bound_offers(actor.account_id, bindings, sending=True,
                                      field="creative_id")
            first = next(iter(bindings.values()), None)
            return _Template(creative.body, bindings, urls, creative.id,
                             first["offer_id"] if first else None)
        body = validate_body(body or "")
        if link_keys(body):
            raise ValidationError("Links ({{link1}}...) need a creative that binds them to "
                                  "offers; send with creative_id.", code="missing_link_offer",
                                  field="body")
        return _Template(body, {}, {}, None, None)

    async def _recipients(self, account: Account, sending_list: SendingList,
                          numbers: Sequence[Any]) -> list[_Recipient | ValidationError]:
        """Each number's contact (created when new) and subscription to the list, read in
        a constant number of queries; a number that is not one, or that the list refuses
        (a landline), becomes its error."""
        parsed = [parse_phone(n, region=account.default_region) for n in numbers]
        infos = {p.e164: p for p in parsed if isinstance(p, PhoneInfo)}
        found: dict[str, tuple[int, str, bool]] = {}
        if infos:
            async with in_transaction() as tx:
                found = await contact_sql.ensure_contacts(tx, [
                    (i.e164, i.country_code, i.line_type, i.carrier[:100], i.timezone,
                     i.state, i.area_code) for i in infos.values()], self.clock.now())
        subscriptions = {s.contact_id: s for s in await ListContact.filter(
            sending_list_id=sending_list.id,
            contact_id__in=[ident for ident, _, _ in found.values()])} if found else {}
        out: list[_Recipient | ValidationError] = []
        for p in parsed:
            if not isinstance(p, PhoneInfo):
                out.append(ValidationError(p.reason, code="invalid_phone", field="to"))
                continue
            ident, line_type, _ = found[p.e164]
            refused = landline_refusal(p.e164, line_type, field="to",
                                       allow_landlines=sending_list.allow_landlines)
            out.append(refused or _Recipient(p.e164, ident,
                                             _subscription(subscriptions.get(ident))))
        return out

    def _prepare(self, account: Account, sending_list: SendingList, template: _Template,
                 recipient: _Recipient, *, transactional: bool,
                 idempotency_key: str | None = None,
                 blocked_memo: dict[str, str | None] | None = None) -> NewMessage:
        subscription = recipient.subscription
        if subscription is not None and subscription.status == SubscriptionStatus.UNSUBSCRIBED:
            raise ValidationError(f"{recipient.e164} has unsubscribed from "
                                  f"{sending_list.phone_number}.",
                                  code="contact_unsubscribed", field="to")
        fields = RecipientFields(
            first_name=subscription.first_name if subscription else "",
            last_name=subscription.last_name if subscription else "",
            brand_name=brand_of(account, sending_list),
            custom=subscription.custom_fields if subscription else None)
        base = tracking_base(account.tracking_domain, self.settings.tracking_base)
        urls, links = new_links(template.bindings, template.offer_urls, base)
        prepend, append = compliance_text(account, sending_list)
        rendered: Rendered = finish(template.body, fields, urls, prepend=prepend,
                                    append=append, smart=account.smart_encoding)
        if blocked_memo is None:
            blocked = blocked_reason(rendered.text)
        elif rendered.text in blocked_memo:
            blocked = blocked_memo[rendered.text]
        else:  # a bulk request's recipients mostly get one text: judge it once
            blocked = blocked_memo[rendered.text] = blocked_reason(rendered.text)
        if blocked:
            raise ValidationError(f"This message cannot be sent: {blocked}.",
                                  code="blocked_content", field="body")
        return NewMessage(
            account_id=account.id, sending_list_id=sending_list.id,
            contact_id=recipient.contact_id,
            # No subscription: a one-off API send (blocks and opt-outs still apply).
            list_contact_id=subscription.id if subscription else None,
            to_number=recipient.e164, from_number=sending_list.phone_number,
            body=rendered.text, segments=rendered.segments, encoding=rendered.encoding,
            price=rendered.price, provider=sending_list.provider, transactional=transactional,
            idempotency_key=idempotency_key, creative_id=template.creative_id,
            offer_id=template.offer_id, links=links)


def _subscription(row: ListContact | None) -> contact_sql.Subscription | None:
    return None if row is None else contact_sql.Subscription(
        row.id, row.status, row.first_name, row.last_name, row.custom_fields)


async def _account(actor: Actor, known: Account | None) -> Account:
    """The actor's account: the one read with its API key when given (and its own),
    else read now."""
    if known is not None and known.id == actor.account_id:
        return known
    return await Account.get(id=actor.account_id)


def _require(value: Any, name: str) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise ValidationError(f"{name} is required.", code=f"missing_{name}", field=name)


def _result(message: MessageSent, *, replayed: bool) -> SendResult:
    return SendResult(message.public_id, message.status, message.segments, message.encoding,
                      message.price, message.to_number, replayed=replayed)
