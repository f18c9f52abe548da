"""The launch path: a run's recipients resolved in the database in one statement, then
rendered and queued in streamed batches, each batch committed with the run's cursor.

Memory holds one batch. A crash between batches resumes after the last committed one;
the outbox's unique (run, contact) key is the second guard against sending anyone twice.
Nothing here talks to a provider: the executor sends what is queued."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from core.accounts.models import Account
from core.audiences.service import AudienceService
from core.billing.pricing import estimate
from core.billing.service import BillingService
from core.campaigns import queries
from core.campaigns.automated import choose_creatives
from core.campaigns.codes import public_ids, short_codes
from core.campaigns.models import (
    Schedule,
    ScheduleBlast,
    ScheduleRun,
    SendType,
)
from core.campaigns.recurrence import wave_instant
from core.clock import Clock
from core.contacts.models import SendingList
from core.creatives.models import MessageCreative
from core.errors import ValidationError
from core.messaging.content import blocked_reason
from core.messaging.links import destination, tracking_base
from core.messaging.outbox import NewLink, NewMessage
from core.messaging.render import brand_of, compliance_text, finish
from core.messaging.segments import count, smart_encode
from core.messaging.template import Compiled, RecipientFields, compile_template
from core.offers.service import bound_offers
from core.permissions import Actor
from core.selection.service import SelectionService
from core.settings import Settings
from core.sql import is_postgres

log = logging.getLogger(__name__)

BATCH = 5000
# Rendering a batch pauses this often for the event loop: the previous batch's write
# (its statements one after another, each awaited) keeps going meanwhile.
_YIELD_EVERY = 250
# A driver renews its lease at every batch; a run whose lease ran out was abandoned (a
# crash) and the scheduler's tick takes it up. The default of
# TRACKLY_CAMPAIGN_LEASE_SECONDS (Launcher.lease is the one in force).
LEASE = dt.timedelta(minutes=2)
SAMPLE_CODE = "x" * 7  # a short code's length: what a link costs in the estimate


def estimated_cost(segments: int) -> Decimal:
    """The one place a launch prices itself (billing's estimate, swappable)."""
    return estimate(segments)


@dataclass(frozen=True)
class Template:
    blast_id: int
    body: str
    bindings: dict[str, Any]
    offer_urls: dict[int, str]
    creative_id: int | None
    offer_id: int | None
    # (link key, offer id, destination) per {{linkN}}: the same for every recipient.
    links: tuple[tuple[str, int, str], ...] = ()


@dataclass
class Estimate:
    recipients: int
    skipped: dict[str, int]
    segments: int
    cost: Decimal
    per_blast: dict[int, int] = field(default_factory=dict)


def automated_blast(blasts: list[ScheduleBlast]) -> ScheduleBlast:
    """The placeholder variant of an automated schedule's model share in the split (and
    in a dry run's estimate): once the run's recipients are fixed,
    :func:`core.campaigns.automated.choose_creatives` re-points each of them at the
    creative the selector chose for that contact."""
    return blasts[0]


@dataclass
class _Context:
    account: Account
    sending_list: SendingList
    schedule: Schedule
    templates: dict[int, Template]
    base: str
    prepend: str
    append: str
    brand: str
    # Per variant: prepend, body and append compiled once, and what each distinct set of
    # a recipient's placeholder values measures (segments, encoding, price).
    compiled: dict[int, Compiled] = field(default_factory=dict)
    measured: dict[int, dict[tuple[str, ...], tuple[int, str, Decimal]]] = field(
        default_factory=dict)


class Launcher:
    def __init__(self, *, clock: Clock, settings: Settings, audiences: AudienceService,
                 billing: BillingService | None = None,
                 selection: SelectionService | None = None) -> None:
        self.clock = clock
        self.settings = settings
        self.audiences = audiences
        self.billing = billing
        self.lease = dt.timedelta(seconds=settings.campaign_lease_seconds)
        self.selection = selection or SelectionService(clock=clock)

    async def cost(self, account_id: int, segments: int) -> Decimal:
        """What ``segments`` more cost this account now: billing's estimate (free
        allowance left this month, the cycle's tier boundary) when billing is wired,
        the list price otherwise."""
        if self.billing is None:
            return estimated_cost(segments)
        return (await self.billing.estimate(account_id, segments)).cost_cents

    # -- who ------------------------------------------------------------------------------

    async def resolve_spec(self, schedule: Schedule, now: dt.datetime) -> queries.Resolve:
        audience_ids = [a.id for a in await schedule.audiences.all()]
        parts = []
        for audience_id in audience_ids:
            view = await self.audiences.get(Actor.system(schedule.account_id), audience_id)
            parts.append((view.tree, await self.audiences.scope_of(view, now)))
        sending_list = await SendingList.get(id=schedule.sending_list_id)
        cutoff = (now - dt.timedelta(hours=schedule.skip_within_hours)
                  if schedule.skip_within_hours else None)
        return queries.Resolve(parts, schedule.account_id, schedule.sending_list_id,
                               sending_list.allow_landlines, cutoff)

    async def split_of(self, schedule: Schedule) -> queries.Split:
        blasts = await ScheduleBlast.filter(schedule_id=schedule.id).order_by("position", "id")
        if not blasts:
            raise ValidationError("A schedule needs at least one variant in blasts.",
                                  code="missing_blasts", field="blasts")
        shares: list[tuple[int, int]] = []  # cumulative, in hundredths of a percent
        cumulative = 0
        rest = 100
        if schedule.send_type == SendType.AUTOMATED and schedule.automated_percent:
            # The model's share first, then the control split like a blast.
            cumulative = schedule.automated_percent * 100
            rest = 100 - schedule.automated_percent
            shares.append((automated_blast(blasts).id, cumulative))
        for b in blasts:
            cumulative += b.percent_audience * rest
            shares.append((b.id, cumulative))
        return queries.Split(shares, schedule.test_percent or None)

    async def check(self, schedule: Schedule) -> None:
        """Raise what would stop a launch once under way (no variant, a creative or an
        offer gone, blocked content): a launch asks this before it moves anything."""
        await self.split_of(schedule)
        await self._context(schedule)

    async def dry_run(self, schedule: Schedule) -> Estimate:
        now = self.clock.now()
        counts = await queries.count_recipients(await self.resolve_spec(schedule, now))
        recipients = counts.get(None, 0)
        split = await self.split_of(schedule)
        per_blast, waiting = _expected_split(recipients, split)
        context = await self._context(schedule)
        segments = sum(self._sample_segments(context, blast_id) * n
                       for blast_id, n in per_blast.items())
        if waiting:  # the rest after a test: priced at the dearest variant
            segments += waiting * max(self._sample_segments(context, b)
                                      for b in context.templates)
        return Estimate(recipients, _skips(counts), segments,
                        await self.cost(schedule.account_id, segments), per_blast)

    async def resolve(self, run: ScheduleRun, schedule: Schedule) -> Estimate:
        """Fix the run's recipients and answer the launch numbers."""
        counts = await queries.resolve_into(run.id, await self.resolve_spec(
            schedule, self.clock.now()), await self.split_of(schedule))
        recipients = counts.get(None, 0)
        if schedule.send_type == SendType.AUTOMATED and schedule.automated_percent:
            await choose_creatives(
                self.selection, run_id=run.id, schedule=schedule, sendable=recipients,
                blasts=await ScheduleBlast.filter(schedule_id=schedule.id).order_by(
                    "position", "id"), now=self.clock.now())
        per_blast = {k: v for k, v in (await queries.blast_counts(run.id)).items()
                     if k is not None}
        context = await self._context(schedule)
        waiting = recipients - sum(per_blast.values())
        segments = sum(self._sample_segments(context, b) * n for b, n in per_blast.items())
        if waiting:  # the rest after a test: priced at the dearest variant
            segments += waiting * max(self._sample_segments(context, b)
                                      for b in context.templates)
        skipped = _skips(counts)
        run.recipients_total = recipients
        run.skipped = skipped
        run.skipped_count = sum(skipped.values())
        run.test_count = sum(per_blast.values()) if schedule.test_percent else recipients
        run.estimated_segments = segments
        run.estimated_cost = await self.cost(schedule.account_id, segments)
        await run.save(update_fields=["recipients_total", "skipped", "skipped_count",
                                      "test_count", "estimated_segments", "estimated_cost"])
        return Estimate(recipients, skipped, segments, run.estimated_cost, per_blast)

    # -- queueing -------------------------------------------------------------------------

    async def queue(self, run: ScheduleRun, schedule: Schedule, upto: int,
                    progress: Callable[[int, int], None] | None = None) -> int:
        """Queue recipients after the run's cursor up to position ``upto``, batch by
        batch; answers the cursor reached. Stops early when the run stops being
        driven here (paused, cancelled, or its cursor moved by another worker).

        The next batch is rendered while the previous one is being written: the launch
        costs about the larger of the two, not their sum. On PostgreSQL it is read
        meanwhile too (the write has its own connection); on SQLite, whose one
        connection a write holds, it is read before the previous write starts. Batches
        still commit in order, each with its cursor."""
        context = await self._context(schedule)
        link_count = max((len(t.links) for t in context.templates.values()), default=0)
        overlap = is_postgres()
        cursor = run.cursor
        writing: asyncio.Task[bool] | None = None
        written = cursor
        try:
            rows = await queries.recipients_after(run.id, cursor, upto, BATCH)
            while rows:
                now = self.clock.now()
                ids = iter(public_ids(len(rows)))
                codes = iter(short_codes(len(rows) * link_count))
                messages: list[NewMessage] = []
                for start in range(0, len(rows), _YIELD_EVERY):
                    messages += [m for m in (self._message(context, run, row, now, next(ids),
                                                         codes)
                                             for row in rows[start:start + _YIELD_EVERY])
                                 if m is not None]
                    if writing is not None:
                        # Let the previous batch's write go on while this one renders.
                        await asyncio.sleep(0)
                if writing is not None and not await self._written(run, writing, written,
                                                                   progress):
                    return run.cursor
                new_cursor = rows[-1].position
                if not overlap:
                    # SQLite has one connection, held by a write: read the next batch
                    # first, then render it while this one is written.
                    rows = await queries.recipients_after(run.id, new_cursor, upto, BATCH)
                writing = asyncio.create_task(queries.write_batch(
                    run.id, cursor, new_cursor, messages, now, run.started_at))
                cursor = written = new_cursor
                if overlap:
                    rows = await queries.recipients_after(run.id, cursor, upto, BATCH)
            if writing is not None:
                ok = await self._written(run, writing, written, progress)
                writing = None
                if not ok:
                    return run.cursor
        finally:
            if writing is not None:  # an error above: let the write finish or fail alone
                await asyncio.gather(writing, return_exceptions=True)
        return cursor

    async def _written(self, run: ScheduleRun, writing: asyncio.Task[bool], cursor: int,
                       progress: Callable[[int, int], None] | None) -> bool:
        """Wait for a batch's write; False when the run must stop being driven here."""
        if not await writing:
            log.info("run %s: batch up to %s queued elsewhere; stopping", run.id, cursor)
            await run.refresh_from_db(fields=["cursor", "status"])
            return False
        run.cursor = cursor
        if progress is not None:
            progress(cursor, run.recipients_total)
        if not await self._still_driving(run):
            await run.refresh_from_db(fields=["cursor", "status"])
            return False
        return True

    async def _still_driving(self, run: ScheduleRun) -> bool:
        """Renew the lease; False once the run was paused or cancelled."""
        moved = await ScheduleRun.filter(id=run.id, status__in=["sending", "queued",
                                                                 "resolving"]).update(
            lease_until=self.clock.now() + self.lease)
        return moved == 1

    def _message(self, ctx: _Context, run: ScheduleRun, row: queries.RecipientRow,
                 now: dt.datetime, public_id: str, codes: Iterator[str]
                 ) -> NewMessage | None:
        if row.blast_id is None:
            return None
        template = ctx.templates[row.blast_id]
        fields = RecipientFields(first_name=row.first_name, last_name=row.last_name,
                                 brand_name=ctx.brand, custom=row.custom)
        urls: dict[str, str] = {}
        links: list[NewLink] = []
        for key, offer_id, url in template.links:
            code = next(codes)
            urls[key] = f"{ctx.base}/{code}"
            links.append(NewLink(code=code, link_key=key, destination_url=url,
                                 offer_id=offer_id))
        segments, encoding, price, text = self._render(ctx, row.blast_id, fields, urls)
        not_before = None
        schedule = ctx.schedule
        if schedule.use_local_time and schedule.send_time is not None and run.run_day:
            at = wave_instant(run.run_day, schedule.send_time, row.timezone, schedule.timezone)
            not_before = at if at > now else None
        return NewMessage(
            account_id=ctx.account.id, sending_list_id=ctx.sending_list.id,
            contact_id=row.contact_id, list_contact_id=row.list_contact_id,
            to_number=row.phone, from_number=ctx.sending_list.phone_number,
            body=text, segments=segments, encoding=encoding,
            price=price, provider=ctx.sending_list.provider,
            creative_id=template.creative_id, offer_id=template.offer_id,
            schedule_id=schedule.id, run_id=run.id, blast_id=row.blast_id,
            not_before=not_before, links=links, public_id=public_id)

    def _render(self, ctx: _Context, blast_id: int, fields: RecipientFields,
                urls: dict[str, str]) -> tuple[int, str, Decimal, str]:
        """What ``finish`` answers for this recipient (segments, encoding, price, text),
        from the variant's compiled template. Short links all have one length (the
        tracking base and a 7-character code of letters and digits, each one GSM-7
        septet and one UCS-2 unit), so a text's measure depends only on the
        recipient's other placeholder values: measured once per distinct set of them
        (counting walks every character)."""
        compiled = ctx.compiled[blast_id]
        text = compiled.render(fields, urls)
        smart = ctx.account.smart_encoding
        if smart:
            text = smart_encode(text)
        measured = ctx.measured[blast_id]
        key = compiled.values(fields) if compiled.fields else ()
        found = measured.get(key)
        if found is None:
            if len(measured) >= 10_000:  # bounded whatever the audience
                measured.clear()
            info = count(text)
            found = measured[key] = (info.segments, info.encoding, estimate(info.segments))
        return found[0], found[1], found[2], text

    # -- pieces ---------------------------------------------------------------------------

    async def _context(self, schedule: Schedule) -> _Context:
        account = await Account.get(id=schedule.account_id)
        sending_list = await SendingList.get(id=schedule.sending_list_id)
        templates = {}
        for blast in await ScheduleBlast.filter(schedule_id=schedule.id):
            templates[blast.id] = await _template(account.id, blast)
        prepend, append = compliance_text(account, sending_list)
        compiled = {blast_id: compile_template(prepend) + compile_template(t.body)
                    + compile_template(append) for blast_id, t in templates.items()}
        return _Context(account, sending_list, schedule, templates,
                        tracking_base(account.tracking_domain, self.settings.tracking_base),
                        prepend, append, brand_of(account, sending_list), compiled,
                        {blast_id: {} for blast_id in templates})

    def _sample_segments(self, ctx: _Context, blast_id: int) -> int:
        template = ctx.templates[blast_id]
        urls = {key: f"{ctx.base}/{SAMPLE_CODE}" for key in template.bindings}
        fields = RecipientFields(brand_name=brand_of(ctx.account, ctx.sending_list))
        return finish(template.body, fields, urls, prepend=ctx.prepend, append=ctx.append,
                      smart=ctx.account.smart_encoding).segments


async def _template(account_id: int, blast: ScheduleBlast) -> Template:
    if blast.creative_id is not None:
        creative = await MessageCreative.get_or_none(id=blast.creative_id,
                                                     account_id=account_id)
        if creative is None:
            raise ValidationError(f"Creative {blast.creative_id} no longer exists.",
                                  code="creative_not_found", field="blasts")
        body, bindings = creative.body, creative.link_bindings or {}
    else:
        body, bindings = blast.body or "", blast.link_bindings or {}
    blocked = blocked_reason(body)
    if blocked:
        raise ValidationError(f"This message cannot be sent: {blocked}.",
                              code="blocked_content", field="blasts")
    urls = await bound_offers(account_id, bindings, sending=True, field="blasts")
    first = next(iter(bindings.values()), None)
    links = tuple((key, b["offer_id"], destination(urls[b["offer_id"]], b.get("params")))
                  for key, b in bindings.items())
    return Template(blast.id, body, bindings, urls, blast.creative_id,
                    first["offer_id"] if first else None, links)


def _skips(counts: dict[str | None, int]) -> dict[str, int]:
    return {reason: counts.get(reason, 0) for reason in queries.SKIP_REASONS}


def _expected_split(n: int, split: queries.Split) -> tuple[dict[int, int], int]:
    """What :func:`queries.resolve_into` will give each variant of the (test) share,
    and how many wait for a test's winner."""
    share = n if not split.test_percent else n * split.test_percent // 100
    out: dict[int, int] = {}
    previous = 0
    for blast_id, cumulative in split.blasts:
        upto = share * cumulative // 10000
        out[blast_id] = out.get(blast_id, 0) + upto - previous
        previous = upto
    return out, n - share
