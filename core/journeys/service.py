"""Welcome journeys: definitions (create, update, activate, pause, archive, stats),
enrollment when a contact joins a list, and the tick that advances due enrollments.

The tick claims a batch of due enrollments inside one transaction (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL), runs each to its next wait or end, and writes everything the
batch decided (queued messages, step runs, field changes, the enrollments' new state)
before it commits. A crash loses the whole batch, never part of it: nothing is skipped
and nothing repeats. Each step run is numbered per enrollment and that number is unique,
so a step that somehow ran twice would fail its batch rather than send twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from tortoise.transactions import in_transaction

from core.accounts.models import Account
from core.audiences.compiler import Scope
from core.audiences.conditions import Group, parse_condition, parse_filter
from core.audiences.queries import matching
from core.clock import Clock
from core.compliance.quiet_hours import next_allowed, resolve_zone
from core.compliance.suppression import contact_zones
from core.contacts.consent import record_opt_out
from core.contacts.lists import SendingListService
from core.contacts.models import (
    Contact,
    ListContact,
    SendingList,
    SubscriptionStatus,
    UnsubscribeReason,
)
from core.creatives.models import CreativeStatus, MessageCreative
from core.errors import Conflict, NotFound, TracklyError, ValidationError
from core.journeys import queries
from core.journeys.engine import Advance, Facts, advance
from core.journeys.graph import Graph, Step, check_trigger, one_condition, parse_steps
from core.journeys.models import (
    EnrollmentStatus,
    JourneyEnrollment,
    JourneyStatus,
    JourneyStep,
    StepType,
    WelcomeJourney,
)
from core.messaging.content import blocked_reason
from core.messaging.links import new_links, tracking_base
from core.messaging.outbox import NewMessage, enqueue
from core.messaging.render import brand_of, compliance_text, finish
from core.messaging.template import RecipientFields, validate_body
from core.offers.models import Offer
from core.offers.service import bound_offers
from core.permissions import Action, Actor
from core.selection.bandit import Candidate, Decision, Model, Traits
from core.selection.service import SelectionService, traits_of
from core.settings import Settings
from core.sql import read_ts
from core.text import check_text

log = logging.getLogger(__name__)

BATCH = 500


@dataclass
class _Template:
    body: str
    bindings: dict[str, Any]
    urls: dict[int, str]
    creative_id: int | None
    offer_id: int | None


@dataclass
class _Journey:
    row: WelcomeJourney
    graph: Graph
    account: Account
    sending_list: SendingList
    field_tests: dict[int, Group] = field(default_factory=dict)


class JourneyService:
    def __init__(self, *, clock: Clock, settings: Settings, lists: SendingListService,
                 selection: SelectionService) -> None:
        self.clock = clock
        self.settings = settings
        self.lists = lists
        self.selection = selection

    # -- definitions ------------------------------------------------------------------------

    async def create(self, actor: Actor, *, name: Any, list_number: Any, trigger: Any,
                     steps: Any, automated_percent: Any = None) -> dict[str, Any]:
        actor.require(Action.BUILD)
        clean_name = _name(name)
        percent = 100 if automated_percent is None else _percent(automated_percent)
        sending_list = await self.lists.get_by_number(actor, list_number)
        tree = _trigger(trigger)
        graph = parse_steps(steps)
        await self._check_creatives(actor.account_id, graph)
        async with in_transaction():
            journey = await WelcomeJourney.create(
                account_id=actor.account_id, name=clean_name, sending_list_id=sending_list.id,
                trigger=tree.to_json(), status=JourneyStatus.DRAFT,
                automated_percent=percent)
            await self._write_steps(journey.id, graph)
        return await self.get(actor, journey.id)

    async def update(self, actor: Actor, journey_id: int, *, name: Any = None,
                     trigger: Any = None, steps: Any = None,
                     automated_percent: Any = None) -> dict[str, Any]:
        """Name, trigger and steps. Steps change only while no enrollment is active in the
        journey (draft, or paused and drained): a contact mid-way keeps the graph it
        started on."""
        actor.require(Action.BUILD)
        journey = await self._journey(actor, journey_id)
        if journey.status == JourneyStatus.ARCHIVED:
            raise Conflict("An archived journey cannot be changed.", code="journey_archived")
        updates: list[str] = []
        if name is not None:
            journey.name = _name(name)
            updates.append("name")
        if trigger is not None:
            journey.trigger = _trigger(trigger).to_json()
            updates.append("trigger")
        if automated_percent is not None:
            journey.automated_percent = _percent(automated_percent)
            updates.append("automated_percent")
        graph = None
        if steps is not None:
            graph = parse_steps(steps)
            await self._check_creatives(actor.account_id, graph)
            if await JourneyEnrollment.filter(journey_id=journey.id,
                                              status=EnrollmentStatus.ACTIVE).exists():
                raise Conflict("Contacts are on their way through this journey; pause it and "
                               "let them finish before changing its steps.",
                               code="journey_in_use")
        async with in_transaction():
            if updates:
                await journey.save(update_fields=[*updates, "updated_at"])
            if graph is not None:
                await JourneyStep.filter(journey_id=journey.id).delete()
                await self._write_steps(journey.id, graph)
        return await self.get(actor, journey.id)

    async def set_status(self, actor: Actor, journey_id: int, status: JourneyStatus
                         ) -> dict[str, Any]:
        """activate (from draft or paused), pause (from active), archive (any)."""
        actor.require(Action.BUILD)
        journey = await self._journey(actor, journey_id)
        allowed = {JourneyStatus.ACTIVE: {JourneyStatus.DRAFT, JourneyStatus.PAUSED,
                                          JourneyStatus.ACTIVE},
                   JourneyStatus.PAUSED: {JourneyStatus.ACTIVE, JourneyStatus.PAUSED},
                   JourneyStatus.ARCHIVED: set(JourneyStatus)}[status]
        moved = await WelcomeJourney.filter(
            id=journey.id, status__in=list(allowed)).update(status=status,
                                                            updated_at=self.clock.now())
        if not moved:
            raise Conflict(f"A {journey.status} journey cannot become {status}.",
                           code="invalid_journey_status")
        if status == JourneyStatus.ARCHIVED:
            await self._exit_all(journey.id, "journey_archived")
        return await self.get(actor, journey.id)

    async def get(self, actor: Actor, journey_id: int) -> dict[str, Any]:
        actor.require(Action.READ)
        journey = await self._journey(actor, journey_id)
        steps = await JourneyStep.filter(journey_id=journey.id).order_by("position")
        sending_list = await SendingList.get(id=journey.sending_list_id)
        return _render(journey, sending_list, steps)

    async def list_journeys(self, actor: Actor) -> list[dict[str, Any]]:
        actor.require(Action.READ)
        out = []
        for journey in await WelcomeJourney.filter(account_id=actor.account_id).order_by("id"):
            out.append(await self.get(actor, journey.id))
        return out

    async def stats(self, actor: Actor, journey_id: int) -> dict[str, Any]:
        """Per step: entered, sent, clicked, converted, exited, revenue; from the step
        runs, the counted clicks and the attributed conversions (never from counters)."""
        actor.require(Action.READ)
        journey = await self._journey(actor, journey_id)
        rows = {int(r["position"]): r for r in await queries.step_stats(journey.id)}
        steps = await JourneyStep.filter(journey_id=journey.id).order_by("position")
        per_step = []
        for s in steps:
            r: dict[str, Any] = rows.get(s.position, {})
            per_step.append({
                "position": s.position, "type": s.step_type.value,
                "entered": int(r.get("entered", 0)), "sent": int(r.get("sent", 0)),
                "clicked": int(r.get("clicked", 0)), "converted": int(r.get("converted", 0)),
                "exited": int(r.get("exited", 0)),
                "revenue": f"{Decimal(str(r.get('revenue', 0))):.4f}"})
        enrollments = await queries.exits_by_status(journey.id)
        return {"journey_id": journey.id, "status": journey.status.value,
                "enrollments": {s.value: enrollments.get(s.value, 0)
                                for s in EnrollmentStatus},
                "steps": per_step}

    # -- enrollment -------------------------------------------------------------------------

    async def enroll(self, account_id: int, list_contact_ids: Sequence[int], *,
                     skip_if_enrolled: bool = False) -> int:
        """How many enrollments :meth:`enroll_new` made."""
        made = await self.enroll_new(account_id, list_contact_ids,
                                     skip_if_enrolled=skip_if_enrolled)
        return sum(len(v) for v in made.values())

    async def enroll_new(self, account_id: int, list_contact_ids: Sequence[int], *,
                         skip_if_enrolled: bool = False) -> dict[int, list[int]]:
        """Enroll these new subscriptions in every active journey of their lists whose
        trigger they match: the journeys each entered, by subscription. A contact is
        enrolled in a journey once, ever. ``skip_if_enrolled``: not if the contact is
        already in a journey (active) of the account. (core.contacts.ports.EnrollNew)"""
        made: dict[int, list[int]] = {}
        if not list_contact_ids:
            return made
        subs = await ListContact.filter(
            account_id=account_id, id__in=list(list_contact_ids),
            status=SubscriptionStatus.ACTIVE).values_list("id", "sending_list_id",
                                                          "contact_id")
        if skip_if_enrolled and subs:
            busy = set(await ListContact.filter(
                account_id=account_id, contact_id__in=[c for _, _, c in subs],
                in_workflow=True).values_list("contact_id", flat=True))
            subs = [s for s in subs if s[2] not in busy]
        by_list: dict[int, list[int]] = {}
        for ident, list_id, _ in subs:
            by_list.setdefault(list_id, []).append(ident)
        if not by_list:
            return made
        journeys = await WelcomeJourney.filter(account_id=account_id,
                                               sending_list_id__in=list(by_list),
                                               status=JourneyStatus.ACTIVE).order_by("id")
        now = self.clock.now()
        for journey in journeys:
            candidates = by_list[journey.sending_list_id]
            tree = parse_filter(journey.trigger or None)
            if not tree.is_empty:
                scope = Scope(account_id, (journey.sending_list_id,), now)
                hits = await matching(tree, scope, candidates)
                candidates = [c for c in candidates if c in hits]
            first = await JourneyStep.filter(journey_id=journey.id).order_by(
                "position").first()
            if first is None or not candidates:
                continue
            async with in_transaction():
                enrolled = await queries.enroll(journey.id, account_id, candidates, now,
                                                first.position)
                await queries.into_workflow(enrolled, now)
            for lc in enrolled:
                made.setdefault(lc, []).append(journey.id)
        return made

    async def enroll_contact(self, actor: Actor, journey_id: int, list_contact_id: int
                             ) -> bool:
        """Put one subscription into one journey by hand, trigger aside."""
        actor.require(Action.BUILD)
        journey = await self._journey(actor, journey_id)
        if journey.status != JourneyStatus.ACTIVE:
            raise Conflict("Only an active journey takes new contacts.",
                           code="journey_not_active")
        sub = await ListContact.get_or_none(id=list_contact_id, account_id=actor.account_id,
                                            sending_list_id=journey.sending_list_id)
        if sub is None:
            raise NotFound("No such contact on the journey's list.", code="contact_not_found")
        first = await JourneyStep.filter(journey_id=journey.id).order_by("position").first()
        if first is None:
            return False
        now = self.clock.now()
        async with in_transaction():
            enrolled = await queries.enroll(journey.id, actor.account_id, [sub.id], now,
                                            first.position)
            await queries.into_workflow(enrolled, now)
        return bool(enrolled)

    # -- the tick ---------------------------------------------------------------------------

    async def tick(self, limit: int = BATCH) -> int:
        """Advance one batch of due enrollments; returns how many were advanced."""
        now = self.clock.now()
        async with in_transaction():
            rows = await queries.claim_due(now, limit)
            if not rows:
                return 0
            await self._advance_batch(rows, now)
        return len(rows)

    async def run_due(self, limit: int = BATCH) -> int:
        """Ticks until nothing is due (the scheduler's job)."""
        total = 0
        while True:
            n = await self.tick(limit)
            total += n
            if n < limit:
                return total

    async def _advance_batch(self, rows: list[dict[str, Any]], now: dt.datetime) -> None:
        journeys = await self._load_journeys({int(r["journey_id"]) for r in rows})
        subs = await queries.subscribers([int(r["list_contact_id"]) for r in rows])
        ids = [int(r["id"]) for r in rows]
        clicked, converted = await queries.clicked_and_converted(ids)
        field_hits = await self._field_tests(journeys, rows, now)
        models: dict[int, Model] = {}
        templates: dict[int, _Template | None] = {}
        advances: list[tuple[dict[str, Any], Advance]] = []
        for r in rows:
            j = journeys[int(r["journey_id"])]
            sub = subs.get(int(r["list_contact_id"]))
            opted_out = (sub is None or sub["status"] != SubscriptionStatus.ACTIVE.value
                         or bool(sub["opted_out"]))
            zone = _zone(sub, j.account) if sub else ZoneInfo("UTC")
            facts = Facts(clicked=int(r["id"]) in clicked, converted=int(r["id"]) in converted,
                          field_tests=frozenset(p for p, hits in field_hits.items()
                                                if int(r["list_contact_id"]) in hits),
                          opted_out=opted_out, zone=zone)
            adv = advance(j.graph, position=int(r["current_position"]),
                          steps_run=int(r["steps_run"]), facts=facts, now=now)
            advances.append((r, adv))
        # Messages: one per send run, built here, written in one go.
        messages: list[NewMessage] = []
        owners: list[tuple[int, int, Decision | None, int]] = []  # enrollment, seq, ...
        for r, adv in advances:
            j = journeys[int(r["journey_id"])]
            sub = subs.get(int(r["list_contact_id"]))
            for run in adv.runs:
                if run.send is None or sub is None:
                    continue
                decision = None
                config = run.send
                creative_id = config.get("creative_id")
                if "creative_ids" in config:
                    model = models.get(j.account.id)
                    if model is None:
                        model = models[j.account.id] = await self.selection.load_model(
                            j.account.id)
                    cands = await self._candidates(j.account.id, config["creative_ids"])
                    if cands:
                        decision = self.selection.choose(
                            model, cands, _traits(sub, _zone(sub, j.account), now),
                            two_step=bool(config.get("two_step")),
                            automated_percent=float(config.get(
                                "automated_percent", j.row.automated_percent)))
                        creative_id = decision.creative_id
                template = await self._template(j.account.id, creative_id, config.get("body"),
                                                templates)
                message = None
                if template is not None:
                    message = self._message(j, r, sub, template, now)
                if message is None:
                    run.outcome = "skipped"
                    continue
                messages.append(message)
                owners.append((int(r["id"]), run.seq, decision, int(sub["contact_id"])))
        written = {q.public_id: q.id for q in await enqueue(messages, now=now)}
        message_of: dict[tuple[int, int], int] = {}
        decisions: dict[int, list[tuple[int, Decision, int | None]]] = {}
        for m, (enrollment_id, seq, decision, contact_id) in zip(messages, owners,
                                                                  strict=True):
            mid = written.get(m.public_id)
            if mid is not None:
                message_of[(enrollment_id, seq)] = mid
            if decision is not None:
                decisions.setdefault(m.account_id, []).append((contact_id, decision, mid))
        for account_id, items in decisions.items():
            await self.selection.record(account_id, items)
        await queries.write_runs([
            (int(r["account_id"]), int(r["journey_id"]), int(r["id"]), run.seq, run.position,
             run.type.value, run.outcome, message_of.get((int(r["id"]), run.seq)), now)
            for r, adv in advances for run in adv.runs])
        await queries.move_enrollments([
            (adv.position, adv.status.value, adv.next_run_at, adv.steps_run,
             now if adv.finished else None, adv.exit_reason, int(r["id"]),
             int(r["steps_run"])) for r, adv in advances])
        await self._contact_effects(advances, subs, now)

    async def _contact_effects(self, advances: list[tuple[dict[str, Any], Advance]],
                               subs: dict[int, dict[str, Any]], now: dt.datetime) -> None:
        for r, adv in advances:
            lc = int(r["list_contact_id"])
            if adv.set_fields and lc in subs:
                sub = await ListContact.get(id=lc)
                sub.custom_fields = {**(sub.custom_fields or {}), **adv.set_fields}
                sub.updated_at = now
                await sub.save(update_fields=["custom_fields", "updated_at"])
            if adv.unsubscribe and lc in subs:
                sub_row = subs[lc]
                await record_opt_out(account_id=int(r["account_id"]),
                                     contact_id=int(sub_row["contact_id"]),
                                     list_ids=[int(sub_row["sending_list_id"])],
                                     reason=UnsubscribeReason.MANUAL, keyword="journey",
                                     now=now, account_wide=False)
        await queries.out_of_workflow(
            [int(r["list_contact_id"]) for r, adv in advances if adv.finished], now)

    # -- pieces -----------------------------------------------------------------------------

    async def _journey(self, actor: Actor, journey_id: int) -> WelcomeJourney:
        journey = await WelcomeJourney.get_or_none(id=journey_id, account_id=actor.account_id)
        if journey is None:
            raise NotFound(f"No journey {journey_id}.", code="journey_not_found")
        return journey

    async def _write_steps(self, journey_id: int, graph: Graph) -> None:
        await JourneyStep.bulk_create([JourneyStep(
            journey_id=journey_id, position=s.position, step_type=s.type, config=s.config,
            yes_position=s.yes, no_position=s.no, next_position=s.next)
            for s in graph.steps.values()])

    async def _check_creatives(self, account_id: int, graph: Graph) -> None:
        wanted: set[int] = set()
        for s in graph.steps.values():
            if s.type == StepType.SEND:
                if "creative_id" in s.config:
                    wanted.add(int(s.config["creative_id"]))
                wanted.update(int(c) for c in s.config.get("creative_ids", []))
                if "body" in s.config:
                    validate_body(s.config["body"], field="steps.config.body")
        found = set(await MessageCreative.filter(account_id=account_id, id__in=list(wanted))
                    .values_list("id", flat=True)) if wanted else set()
        missing = sorted(wanted - found)
        if missing:
            raise ValidationError(f"No creative {missing[0]}.", code="creative_not_found",
                                  field="steps")

    async def _load_journeys(self, ids: set[int]) -> dict[int, _Journey]:
        out: dict[int, _Journey] = {}
        for journey in await WelcomeJourney.filter(id__in=list(ids)):
            steps = await JourneyStep.filter(journey_id=journey.id)
            graph = Graph([_step_of(s) for s in steps])
            tests = {s.position: one_condition(s.condition) for s in graph.steps.values()
                     if s.condition is not None}
            out[journey.id] = _Journey(
                journey, graph, await Account.get(id=journey.account_id),
                await SendingList.get(id=journey.sending_list_id), tests)
        return out

    async def _field_tests(self, journeys: dict[int, _Journey], rows: list[dict[str, Any]],
                           now: dt.datetime) -> dict[int, set[int]]:
        """Per condition position with a field test: the batch's subscriptions it holds
        for (one query per such step in the batch's journeys)."""
        hits: dict[int, set[int]] = {}
        for j in journeys.values():
            if not j.field_tests:
                continue
            lcs = [int(r["list_contact_id"]) for r in rows if int(r["journey_id"]) == j.row.id]
            scope = Scope(j.account.id, (j.sending_list.id,), now)
            for position, tree in j.field_tests.items():
                hits.setdefault(position, set()).update(await matching(tree, scope, lcs))
        return hits

    async def _candidates(self, account_id: int, creative_ids: list[int]) -> list[Candidate]:
        creatives = await MessageCreative.filter(account_id=account_id, id__in=creative_ids,
                                                 status=CreativeStatus.ACTIVE)
        offer_ids: dict[int, int | None] = {}
        for c in creatives:
            bindings: dict[str, Any] = c.link_bindings or {}
            first: dict[str, Any] = next(iter(bindings.values()), {})
            offer_ids[c.id] = first.get("offer_id")
        payouts = dict(await Offer.filter(id__in=[o for o in offer_ids.values() if o])
                       .values_list("id", "payout")) if any(offer_ids.values()) else {}
        return [Candidate(c.id, offer_ids[c.id],
                          float(payouts[offer_ids[c.id]]) if offer_ids[c.id] in payouts
                          else None) for c in creatives]

    async def _template(self, account_id: int, creative_id: int | None, body: str | None,
                        cache: dict[int, _Template | None]) -> _Template | None:
        if creative_id is None:
            return _Template(body, {}, {}, None, None) if body else None
        if creative_id not in cache:
            creative = await MessageCreative.get_or_none(id=creative_id, account_id=account_id)
            template = None
            if creative is not None and creative.status == CreativeStatus.ACTIVE:
                bindings = creative.link_bindings or {}
                try:
                    urls = await bound_offers(account_id, bindings, sending=True)
                except TracklyError:
                    urls = None  # an offer stopped since: the send is skipped
                if urls is not None:
                    first = next(iter(bindings.values()), None)
                    template = _Template(creative.body, bindings, urls, creative.id,
                                         first["offer_id"] if first else None)
            cache[creative_id] = template
        return cache[creative_id]

    def _message(self, j: _Journey, r: dict[str, Any], sub: dict[str, Any],
                 template: _Template, now: dt.datetime) -> NewMessage | None:
        account, sending_list = j.account, j.sending_list
        fields = RecipientFields(first_name=sub["first_name"] or "",
                                 last_name=sub["last_name"] or "",
                                 brand_name=brand_of(account, sending_list),
                                 custom=_custom(sub["custom_fields"]))
        base = tracking_base(account.tracking_domain, self.settings.tracking_base)
        urls, links = new_links(template.bindings, template.urls, base)
        prepend, append = compliance_text(account, sending_list)
        rendered = finish(template.body, fields, urls, prepend=prepend, append=append,
                          smart=account.smart_encoding)
        if blocked_reason(rendered.text):
            return None
        zones = contact_zones(Contact(phone_number=sub["phone_number"],
                                      timezone=sub["timezone"]), account.default_timezone)
        allowed = next_allowed(now, zones, sub["state"])
        return NewMessage(
            account_id=account.id, sending_list_id=sending_list.id,
            contact_id=int(sub["contact_id"]), list_contact_id=int(sub["id"]),
            to_number=sub["phone_number"], from_number=sending_list.phone_number,
            body=rendered.text, segments=rendered.segments, encoding=rendered.encoding,
            price=rendered.price, provider=sending_list.provider,
            creative_id=template.creative_id, offer_id=template.offer_id,
            journey_id=j.row.id, enrollment_id=int(r["id"]),
            not_before=allowed if allowed > now else None, links=links)

    async def _exit_all(self, journey_id: int, reason: str) -> None:
        now = self.clock.now()
        async with in_transaction():
            found = await JourneyEnrollment.filter(
                journey_id=journey_id, status=EnrollmentStatus.ACTIVE).values_list(
                "list_contact_id", flat=True)
            lcs = [int(str(lc)) for lc in found]
            await JourneyEnrollment.filter(journey_id=journey_id,
                                           status=EnrollmentStatus.ACTIVE).update(
                status=EnrollmentStatus.EXITED, exit_reason=reason, finished_at=now,
                next_run_at=None)
            await queries.out_of_workflow(lcs, now)


def _zone(sub: dict[str, Any], account: Account) -> ZoneInfo:
    return resolve_zone(sub["timezone"], account.default_timezone)


def _traits(sub: dict[str, Any], zone: ZoneInfo, now: dt.datetime) -> Traits:
    return traits_of(last_clicked_at=read_ts(sub["last_clicked_at"]),
                     click_count=int(sub["click_count"] or 0), carrier=sub["carrier"],
                     line_type=sub["line_type"], local_hour=now.astimezone(zone).hour,
                     now=now)


def _custom(raw: Any) -> dict[str, Any]:
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str | bytes):
        loaded = orjson.loads(raw)
        return loaded if isinstance(loaded, dict) else {}
    return {}


def _step_of(s: JourneyStep) -> Step:
    condition = None
    if s.step_type == StepType.CONDITION and s.config.get("test") == "field":
        condition = parse_condition(s.config["condition"])
    return Step(s.position, s.step_type, s.config, s.next_position, s.yes_position,
                s.no_position, condition)


def _name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 200:
        raise ValidationError("name is 1 to 200 characters.", code="invalid_name",
                              field="name")
    return check_text(raw.strip(), field="name")


def _trigger(raw: Any) -> Group:
    tree = parse_filter(raw, field="trigger")
    check_trigger(tree)
    return tree


def _percent(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValidationError("automated_percent is a whole number from 0 to 100.",
                              code="invalid_automated_percent", field="automated_percent")
    return value


def _render(journey: WelcomeJourney, sending_list: SendingList,
            steps: Sequence[JourneyStep]) -> dict[str, Any]:
    return {
        "id": journey.id, "name": journey.name, "status": journey.status.value,
        "list_number": sending_list.phone_number, "trigger": journey.trigger or {},
        "automated_percent": journey.automated_percent,
        "steps": [_step_of(s).as_json() for s in steps],
        "created_at": journey.created_at.isoformat() if journey.created_at else None,
        "updated_at": journey.updated_at.isoformat() if journey.updated_at else None,
    }
