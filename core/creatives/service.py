"""Creatives: reusable templates whose links are bound to offers. Saving rejects unknown
placeholders, links without an offer and bodies over 1600 characters; every creative
answers what it costs to send."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.accounts.models import Account
from core.clock import Clock
from core.creatives.models import CreativeStatus, CreativeType, MessageCreative
from core.errors import NotFound, ValidationError
from core.ids import short_code
from core.messaging.content import template_blocked_reason
from core.messaging.links import clean_bindings, tracking_base
from core.messaging.render import brand_of, compliance_text, finish
from core.messaging.template import RecipientFields, link_keys, validate_body
from core.offers.service import bound_offers
from core.pagination import Page
from core.permissions import Action, Actor
from core.settings import Settings
from core.validation import choice, clean_name


@dataclass(frozen=True)
class Cost:
    character_count: int
    segment_count: int
    encoding: str
    cost: Decimal


@dataclass(frozen=True)
class CreativeCost:
    """The cost of one send, as a typical recipient sees it: the account's compliance text,
    links at their real length, placeholders at their defaults."""

    standard: Cost
    smart: Cost  # with curly quotes, dashes and the like made GSM
    smart_encoding_enabled: bool
    preview: str


class CreativeService:
    def __init__(self, *, clock: Clock, settings: Settings) -> None:
        self.clock = clock
        self.settings = settings

    async def create(self, actor: Actor, *, name: str, body: str,
                     link_bindings: Any = None, type: str = "one_time",
                     status: str = "active") -> MessageCreative:
        actor.require(Action.BUILD)
        fields = await self._clean(actor, {"name": name, "body": body,
                                           "link_bindings": link_bindings, "type": type,
                                           "status": status})
        return await MessageCreative.create(account_id=actor.account_id, **fields)

    async def update(self, actor: Actor, creative_id: int, **data: Any) -> MessageCreative:
        actor.require(Action.BUILD)
        creative = await self.get(actor, creative_id)
        merged = {"body": creative.body, "link_bindings": creative.link_bindings, **data}
        if merged.get("status") is None:
            merged["status"] = creative.status  # what the saved creative will be
        fields = await self._clean(actor, merged)
        changed = [k for k in fields if k in data or k == "link_bindings"]
        for key in changed:
            setattr(creative, key, fields[key])
        await creative.save(update_fields=[*changed, "updated_at"])
        return creative

    async def get(self, actor: Actor, creative_id: int) -> MessageCreative:
        actor.require(Action.READ)
        creative = await MessageCreative.get_or_none(id=creative_id,
                                                     account_id=actor.account_id)
        if creative is None:
            raise NotFound(f"No creative {creative_id}.", code="creative_not_found")
        return creative

    async def list(self, actor: Actor, *, page: int, per_page: int,
                   status: str | None = None) -> Page[MessageCreative]:
        actor.require(Action.READ)
        query = MessageCreative.filter(account_id=actor.account_id)
        if status:
            query = query.filter(status=choice(CreativeStatus, status, "status"))
        total = await query.count()
        rows = await query.order_by("-id").offset((page - 1) * per_page).limit(per_page)
        return Page(rows, total)

    async def cost(self, actor: Actor, creative: MessageCreative) -> CreativeCost:
        return (await self.costs(actor, [creative]))[0]

    async def costs(self, actor: Actor, creatives: Sequence[MessageCreative]
                    ) -> builtins.list[CreativeCost]:  # (``list`` is a method here)
        """What one send of each creative costs; the account is read once for all."""
        account = await Account.get(id=actor.account_id)
        prepend, append = compliance_text(account, None)
        base = tracking_base(account.tracking_domain, self.settings.tracking_base)
        recipient = RecipientFields(brand_name=brand_of(account, None))
        out = []
        for creative in creatives:
            code = short_code()
            links = {key: f"{base}/{code}" for key in link_keys(creative.body)}
            plain, smart = (finish(creative.body, recipient, links, prepend=prepend,
                                   append=append, smart=flag) for flag in (False, True))
            out.append(CreativeCost(
                standard=Cost(plain.characters, plain.segments, plain.encoding, plain.price),
                smart=Cost(smart.characters, smart.segments, smart.encoding, smart.price),
                smart_encoding_enabled=account.smart_encoding, preview=plain.text))
        return out

    async def _clean(self, actor: Actor, data: dict[str, Any]) -> dict[str, Any]:
        """The fields to store. A creative that could never be sent is refused with the
        reason: blocked content always; an offer that is not active while the creative
        is (a paused or archived creative may wait for its offer)."""
        out: dict[str, Any] = {}
        if "name" in data:
            out["name"] = clean_name(data["name"])
        body = validate_body(data["body"])
        blocked = template_blocked_reason(body)
        if blocked:
            raise ValidationError(f"This creative could never be sent: {blocked}.",
                                  code="blocked_content", field="body")
        out["body"] = body
        if data.get("type") is not None:
            out["type"] = choice(CreativeType, data["type"], "type")
        if data.get("status") is not None:
            out["status"] = choice(CreativeStatus, data["status"], "status")
        bindings = clean_bindings(data.get("link_bindings"), link_keys(body))
        await bound_offers(actor.account_id, bindings,
                           sending=out.get("status") == CreativeStatus.ACTIVE)
        out["link_bindings"] = bindings
        return out
