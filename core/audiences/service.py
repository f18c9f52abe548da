"""Audiences: create, edit, delete, read; live size, cached size, preview.

The condition tree is stored as rows (``audience_group``, ``audience_condition``) and read
back whole in two queries; what it means is ``conditions.SEMANTICS``, counted by the SQL
``compiler`` writes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from core.accounts.models import Account
from core.audiences import queries
from core.audiences.compiler import Scope
from core.audiences.conditions import Group, parse_filter
from core.audiences.models import Audience, AudienceCondition, AudienceGroup, BoolOperator
from core.clock import Clock
from core.compliance.quiet_hours import resolve_zone
from core.contacts.models import ListContact, SendingList
from core.errors import NotFound, ValidationError
from core.pagination import Page
from core.permissions import Action, Actor
from core.validation import clean_name

MAX_LISTS = 100


@dataclass(frozen=True)
class AudienceView:
    audience: Audience
    list_ids: list[int]
    tree: Group

    @property
    def id(self) -> int:
        return self.audience.id


@dataclass(frozen=True)
class Size:
    size: int
    counted_at: dt.datetime


@dataclass(frozen=True)
class Preview:
    contacts: list[ListContact]
    size: int


class AudienceService:
    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    # -- writes ---------------------------------------------------------------------------

    async def create(self, actor: Actor, *, name: Any, list_ids: Any, filter: Any = None
                     ) -> AudienceView:
        actor.require(Action.BUILD)
        if name in (None, ""):
            raise ValidationError("name is required.", code="missing_name", field="name")
        clean = clean_name(name)
        lists = await self._lists(actor, list_ids)
        tree = parse_filter(filter)
        async with in_transaction():
            audience = await Audience.create(account_id=actor.account_id, name=clean,
                                             operator=tree.operator)
            await audience.sending_lists.add(*lists)
            await _save_tree(audience.id, tree)
        return AudienceView(audience, [s.id for s in lists], tree)

    async def update(self, actor: Actor, audience_id: int, *, name: Any = None,
                     list_ids: Any = None, filter: Any = None) -> AudienceView:
        actor.require(Action.BUILD)
        view = await self.get(actor, audience_id)
        audience, ids, tree = view.audience, view.list_ids, view.tree
        lists = await self._lists(actor, list_ids) if list_ids is not None else None
        new_tree = parse_filter(filter) if filter is not None else None
        async with in_transaction():
            changed = []
            if name is not None:
                audience.name = clean_name(name)
                changed.append("name")
            if new_tree is not None:
                audience.operator = new_tree.operator
                changed.append("operator")
                await AudienceGroup.filter(audience_id=audience.id).delete()
                await _save_tree(audience.id, new_tree)
                tree = new_tree
            if lists is not None:
                await audience.sending_lists.clear()
                await audience.sending_lists.add(*lists)
                ids = [s.id for s in lists]
            if lists is not None or new_tree is not None:
                # The cached size described other contacts.
                audience.cached_size = None
                audience.cached_size_updated_at = None
                changed += ["cached_size", "cached_size_updated_at"]
            if changed:
                await audience.save(update_fields=[*changed, "updated_at"])
        return AudienceView(audience, ids, tree)

    async def delete(self, actor: Actor, audience_id: int) -> None:
        actor.require(Action.BUILD)
        deleted = await Audience.filter(id=audience_id, account_id=actor.account_id).delete()
        if not deleted:
            raise _missing(audience_id)

    # -- reads ----------------------------------------------------------------------------

    async def get(self, actor: Actor, audience_id: int) -> AudienceView:
        actor.require(Action.READ)
        audience = await Audience.get_or_none(id=audience_id, account_id=actor.account_id)
        if audience is None:
            raise _missing(audience_id)
        return (await _views([audience]))[0]

    async def page(self, actor: Actor, *, page: int, per_page: int) -> Page[AudienceView]:
        actor.require(Action.READ)
        query = Audience.filter(account_id=actor.account_id)
        total = await query.count()
        items = await query.order_by("-id").offset((page - 1) * per_page).limit(per_page)
        return Page(await _views(items), total)

    async def size(self, actor: Actor, audience_id: int) -> Size:
        """The live size, counted now in the database; the cached size is refreshed
        with it."""
        view = await self.get(actor, audience_id)
        now = self.clock.now()
        size = await queries.count_audience(view.tree, await self._scope(view, now))
        await Audience.filter(id=view.id).update(cached_size=size, cached_size_updated_at=now)
        return Size(size, now)

    async def preview(self, actor: Actor, audience_id: int, *, limit: int = 10) -> Preview:
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 100:
            raise ValidationError("limit must be 1 to 100.", code="invalid_limit",
                                  field="limit")
        view = await self.get(actor, audience_id)
        scope = await self._scope(view, self.clock.now())
        sample = await queries.sample_audience(view.tree, scope, limit)
        size = await queries.count_audience(view.tree, scope)
        by_id = {lc.id: lc for lc in await ListContact.filter(
            id__in=[s.list_contact_id for s in sample]).prefetch_related("contact",
                                                                 "sending_list")}
        return Preview([by_id[s.list_contact_id] for s in sample
                        if s.list_contact_id in by_id], size)

    async def refresh_sizes(self, *, older_than: dt.timedelta = dt.timedelta(minutes=15),
                            limit: int = 100) -> int:
        """The scheduler's tick: re-count the audiences whose cached size is oldest (never
        counted first). Returns how many were counted."""
        now = self.clock.now()
        stale = await Audience.filter(cached_size_updated_at__isnull=True).limit(limit)
        if len(stale) < limit:
            stale += await Audience.filter(
                cached_size_updated_at__lt=now - older_than).order_by(
                "cached_size_updated_at").limit(limit - len(stale))
        for view in await _views(stale):
            size = await queries.count_audience(view.tree, await self._scope(view, now))
            await Audience.filter(id=view.id).update(cached_size=size,
                                                     cached_size_updated_at=now)
        return len(stale)

    async def scope_of(self, view: AudienceView, now: dt.datetime) -> Scope:
        return await self._scope(view, now)

    # -- pieces ---------------------------------------------------------------------------

    async def _scope(self, view: AudienceView, now: dt.datetime) -> Scope:
        account = await Account.get(id=view.audience.account_id)
        return Scope(account_id=view.audience.account_id, list_ids=tuple(view.list_ids),
                     now=now, zone=resolve_zone(account.default_timezone))

    async def _lists(self, actor: Actor, list_ids: Any) -> list[SendingList]:
        if list_ids in (None, []):
            raise ValidationError("An audience needs at least one source list.",
                                  code="missing_list_ids", field="list_ids")
        if (not isinstance(list_ids, list) or len(list_ids) > MAX_LISTS
                or not all(isinstance(i, int) and not isinstance(i, bool) for i in list_ids)):
            raise ValidationError(f"list_ids must be a list of up to {MAX_LISTS} list ids.",
                                  code="invalid_list_ids", field="list_ids")
        wanted = list(dict.fromkeys(list_ids))
        found = {s.id: s for s in await SendingList.filter(account_id=actor.account_id,
                                                           id__in=wanted)}
        for ident in wanted:
            if ident not in found:
                raise ValidationError(f"No sending list {ident}.",
                                      code="source_list_not_found", field="list_ids")
        return [found[i] for i in wanted]


def _missing(audience_id: int) -> NotFound:
    return NotFound(f"No audience {audience_id}.", code="audience_not_found")


async def _save_tree(audience_id: int, tree: Group) -> None:
    async def save(group: Group, parent_id: int | None, position: int) -> None:
        row = await AudienceGroup.create(audience_id=audience_id, parent_id=parent_id,
                                         operator=group.operator, position=position)
        if group.conditions:
            await AudienceCondition.bulk_create([
                # Wrapped: tortoise reads a bare string given to a JSONField as JSON text.
                AudienceCondition(group_id=row.id, field=c.field, operator=c.operator.value,
                                  value={"v": c.to_json()["value"]} if "value" in c.to_json()
                                  else None, position=i)
                for i, c in enumerate(group.conditions)])
        for i, child in enumerate(group.groups):
            await save(child, row.id, i)

    await save(tree, None, 0)


async def _views(audiences: list[Audience]) -> list[AudienceView]:
    """Each audience with its lists and tree: three queries for any number of them."""
    ids = [a.id for a in audiences]
    if not ids:
        return []
    lists: dict[int, list[int]] = {i: [] for i in ids}
    through = await Audience.filter(id__in=ids).values_list("id", "sending_lists__id")
    for audience_id, list_id in through:
        if list_id is not None:
            lists[audience_id].append(list_id)
    groups = await AudienceGroup.filter(audience_id__in=ids).order_by("position", "id")
    conditions = await AudienceCondition.filter(
        group_id__in=[g.id for g in groups]).order_by("position", "id")
    raw_groups: dict[int, dict[str, Any]] = {
        g.id: {"operator": g.operator.value, "conditions": [], "groups": []} for g in groups}
    roots: dict[int, dict[str, Any]] = {}
    for g in groups:
        if g.parent_id is None:
            roots.setdefault(g.audience_id, raw_groups[g.id])
        elif g.parent_id in raw_groups:
            raw_groups[g.parent_id]["groups"].append(raw_groups[g.id])
    for c in conditions:
        shape: dict[str, Any] = {"field": c.field, "operator": c.operator}
        if isinstance(c.value, dict) and "v" in c.value:
            shape["value"] = c.value["v"]
        raw_groups[c.group_id]["conditions"].append(shape)
    out = []
    for a in audiences:
        raw = roots.get(a.id) or {"operator": BoolOperator.AND.value, "conditions": [],
                                  "groups": []}
        out.append(AudienceView(a, sorted(lists[a.id]), parse_filter(raw)))
    return out
