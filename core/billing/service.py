"""Billing as the faces use it: running the invoicing, payments (manual and Stripe
webhooks), the billing hold, usage and balance, the estimate and the spend cap."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

import stripe
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from core.accounts.models import Account, BillingStatus
from core.audit.service import AuditLog
from core.billing import queries
from core.billing.gate import HOLD_LIMIT
from core.billing.invoicing import (
    Invoicer,
    cycle_at,
    month_start,
    plan_of,
    profile_of,
)
from core.billing.models import (
    BillingAdjustment,
    BillingProfile,
    Gateway,
    Invoice,
    InvoiceStatus,
    StripeEvent,
    UsageRecord,
)
from core.billing.payments import PaymentGateway
from core.billing.pricing import Position, PricedLine, next_threshold, price_segments, to_cents
from core.clock import Clock
from core.errors import (
    Conflict,
    NotFound,
    SpendCapExceeded,
    TracklyError,
    ValidationError,
)
from core.notifications.models import Severity
from core.notifications.service import NotificationService
from core.pagination import Page
from core.permissions import Action, Actor

log = logging.getLogger(__name__)

HOLD_ALERT = "billing_hold"
PERIODS = ("today", "week", "month", "all")


@dataclass(frozen=True)
class CostEstimate:
    segments: int
    cost: Decimal  # exact (the invoice rounds its total once)
    lines: list[PricedLine]
    month_segments: int  # already used this calendar month, before these
    cycle_segments: int  # already used this cycle, before these

    @property
    def cost_cents(self) -> Decimal:
        return to_cents(self.cost)


@dataclass(frozen=True)
class UsageSummary:
    period: str
    since: dt.datetime | None
    until: dt.datetime
    messages: int
    segments: int  # billed on: the provider's count where it gave one, else ours
    our_segments: int
    messages_differing: int  # where the provider's count is not ours
    list_cost: Decimal  # at the plan's standard rate, before free allowance and tiers


@dataclass(frozen=True)
class Balance:
    billing_status: str
    hold_since: dt.datetime | None
    hold_drops_at: dt.datetime | None  # held messages are dropped from then
    outstanding: Decimal  # issued or failed, unpaid
    outstanding_invoices: int
    unbilled_segments: int
    unbilled_cost: Decimal  # what the unbilled usage will cost, free allowance included
    month_to_date: Decimal  # invoiced this month plus the unbilled cost
    spend_cap: Decimal | None
    next_threshold: int
    cycle_segments: int
    gateway: str
    invoices: list[Invoice] = field(default_factory=list)


class BillingService:
    def __init__(self, *, clock: Clock, notifications: NotificationService, audit: AuditLog,
                 gateways: Mapping[Gateway, PaymentGateway],
                 stripe_webhook_secret: str | None = None) -> None:
        self.clock = clock
        self.notifications = notifications
        self.audit = audit
        self.gateways = gateways
        self.stripe_webhook_secret = stripe_webhook_secret
        self.invoicer = Invoicer(clock=clock)

    # -- invoicing ------------------------------------------------------------------------

    async def run_billing(self, account_id: int) -> list[Invoice]:
        """Issue what is due for the account, hand it to its gateway, and put the account
        on hold if an invoice is overdue. Safe to re-run: nothing is issued twice."""
        invoices = await self.invoicer.run(account_id)
        # Issued invoices not yet handed over (this run's, and any whose hand-over failed
        # before: the gateway's idempotency keys make a second try safe).
        for invoice in await Invoice.filter(account_id=account_id,
                                            status=InvoiceStatus.ISSUED,
                                            external_id__isnull=True).order_by("id"):
            await self._collect(invoice)
        await self.enforce_due(account_id)
        return invoices

    async def run_all(self) -> int:
        """The scheduler's tick: every account with unbilled usage or invoices."""
        # Accounts that have sent (an account that never sent owes nothing yet).
        ids = set(await UsageRecord.filter(invoice_id__isnull=True).distinct().values_list(
            "account_id", flat=True))
        ids |= set(await Invoice.all().distinct().values_list("account_id", flat=True))
        issued = 0
        for account_id in sorted(ids):
            try:
                issued += len(await self.run_billing(int(account_id)))  # type: ignore[call-overload]
            except Exception:
                log.exception("billing failed for account %s", account_id)
        return issued

    async def _collect(self, invoice: Invoice) -> None:
        if invoice.status != InvoiceStatus.ISSUED or invoice.external_id:
            return
        gateway = self.gateways.get(invoice.gateway)
        if gateway is None:
            log.error("no %s gateway configured; invoice %s waits", invoice.gateway,
                      invoice.number)
            return
        if invoice.gateway == Gateway.MANUAL:
            return
        account = await Account.get(id=invoice.account_id)
        profile = await profile_of(invoice.account_id, self.clock.now())
        try:
            external = await gateway.collect(invoice, profile, email=account.owner_email,
                                             name=account.name)
        except stripe.StripeError as exc:
            log.warning("invoice %s not handed to %s yet (%s); the next run retries",
                        invoice.number, invoice.gateway, type(exc).__name__)
            return
        if external:
            await Invoice.filter(id=invoice.id, external_id__isnull=True).update(
                external_id=external)
            invoice.external_id = external

    async def enforce_due(self, account_id: int) -> None:
        overdue = await Invoice.filter(account_id=account_id, status=InvoiceStatus.ISSUED,
                                       due_at__lte=self.clock.now()).first()
        if overdue is not None:
            await self.hold(account_id, BillingStatus.PAYMENT_FAILED,
                            f"invoice {overdue.number} is overdue")

    # -- the hold -------------------------------------------------------------------------

    async def hold(self, account_id: int, status: BillingStatus, why: str) -> bool:
        """Put the account on billing hold (once: the hold keeps the time it began)."""
        now = self.clock.now()
        moved = await Account.filter(id=account_id, billing_status=BillingStatus.OK).update(
            billing_status=status, billing_status_since=now)
        if moved:
            await self.notifications.raise_alert(
                account_id, dedup_key=HOLD_ALERT, kind="billing", severity=Severity.HIGH,
                title="Billing hold: messages are waiting",
                body=(f"{why}. Messages wait up to {int(HOLD_LIMIT.total_seconds() // 60)} "
                      "minutes for payment, then are dropped as billing_expired."),
                data={"status": str(status), "since": now.isoformat()})
            await self.audit.record(Actor.system(account_id), "billing.hold", face="system",
                                    changes={"status": str(status), "why": why})
        return bool(moved)

    async def release_if_settled(self, account_id: int) -> bool:
        """End the hold when nothing is failed or overdue any more."""
        now = self.clock.now()
        unsettled = await Invoice.filter(account_id=account_id,
                                         status=InvoiceStatus.FAILED).exists() or \
            await Invoice.filter(account_id=account_id, status=InvoiceStatus.ISSUED,
                                 due_at__lte=now).exists()
        if unsettled:
            return False
        moved = await Account.filter(id=account_id).exclude(
            billing_status=BillingStatus.OK).update(billing_status=BillingStatus.OK,
                                                    billing_status_since=None)
        if moved:
            await self.notifications.clear_alert(
                account_id, dedup_key=HOLD_ALERT, kind="billing", severity=Severity.HIGH,
                title="Billing hold cleared: sending resumed")
            await self.audit.record(Actor.system(account_id), "billing.release",
                                    face="system")
        return bool(moved)

    # -- payments -------------------------------------------------------------------------

    async def mark_paid(self, actor: Actor, invoice_id: int) -> Invoice:
        """The manual gateway: an owner records that an invoice was paid."""
        try:
            actor.require(Action.MANAGE_BILLING)
            invoice = await self.get_invoice(actor, invoice_id)
            if invoice.gateway != Gateway.MANUAL:
                raise Conflict("Stripe collects this invoice; it is paid through Stripe.",
                               code="invoice_collected_by_stripe")
        except TracklyError as exc:
            await self.audit.record(actor, "billing.mark_paid", target=f"invoice:{invoice_id}",
                                    outcome="refused",
                                    changes={"code": exc.code})
            raise
        moved = await Invoice.filter(id=invoice.id, status__in=[
            InvoiceStatus.ISSUED, InvoiceStatus.FAILED]).update(
                status=InvoiceStatus.PAID, paid_at=self.clock.now())
        if moved:
            await self.audit.record(actor, "billing.mark_paid", target=invoice.number,
                                    changes={"total": str(invoice.total)})
            await self.release_if_settled(invoice.account_id)
        return await Invoice.get(id=invoice.id)

    async def handle_stripe_webhook(self, payload: bytes, signature: str | None) -> str:
        """A Stripe webhook: verified with the SDK (a forged one raises ValidationError
        ``invalid_signature`` and changes nothing), applied once per event id (a replay
        answers ``duplicate``). Returns what happened."""
        if not self.stripe_webhook_secret:
            raise NotFound("Stripe is not configured.", code="stripe_not_configured")
        try:
            event = stripe.Webhook.construct_event(payload, signature,
                                                   self.stripe_webhook_secret)
        except (stripe.SignatureVerificationError, ValueError):
            raise ValidationError("The Stripe-Signature does not verify.",
                                  code="invalid_signature") from None
        try:
            object_id = str(event.data.object["id"])
        except (KeyError, AttributeError, TypeError):
            object_id = ""
        now = self.clock.now()
        account_id: int | None = None
        async with in_transaction():
            try:
                await StripeEvent.create(event_id=event.id, type=event.type[:64],
                                         received_at=now)
            except IntegrityError:
                return "duplicate"
            invoice = await Invoice.get_or_none(external_id=object_id)
            if invoice is None:
                return "ignored"
            account_id = invoice.account_id
            if event.type == "invoice.paid":
                await Invoice.filter(id=invoice.id, status__in=[
                    InvoiceStatus.ISSUED, InvoiceStatus.FAILED]).update(
                        status=InvoiceStatus.PAID, paid_at=now)
            elif event.type == "invoice.payment_failed":
                await Invoice.filter(id=invoice.id, status=InvoiceStatus.ISSUED).update(
                    status=InvoiceStatus.FAILED)
            else:
                return "ignored"
        who = Actor.system(account_id)
        await self.audit.record(who, f"billing.stripe.{event.type.split('.', 1)[1]}",
                                target=invoice.number, face="system",
                                changes={"event": event.id})
        if event.type == "invoice.paid":
            await self.release_if_settled(account_id)
        else:
            await self.hold(account_id, BillingStatus.PAYMENT_FAILED,
                            f"Stripe could not collect invoice {invoice.number}")
        return "applied"

    # -- reading --------------------------------------------------------------------------

    async def list_invoices(self, actor: Actor, *, page: int = 1, per_page: int = 50
                            ) -> Page[Invoice]:
        actor.require(Action.READ)
        query = Invoice.filter(account_id=actor.account_id).exclude(
            status=InvoiceStatus.DRAFT)
        total = await query.count()
        rows = await query.order_by("-id").offset((page - 1) * per_page).limit(per_page)
        return Page(rows, total)

    async def get_invoice(self, actor: Actor, invoice_id: int) -> Invoice:
        actor.require(Action.READ)
        invoice = await Invoice.get_or_none(id=invoice_id, account_id=actor.account_id)
        if invoice is None or invoice.status == InvoiceStatus.DRAFT:
            raise NotFound("No such invoice.", code="invoice_not_found")
        return invoice

    async def usage(self, actor: Actor, period: str = "month") -> UsageSummary:
        """Usage of ``period`` (today, week: the last 7 days, month: this calendar
        month, all), UTC."""
        actor.require(Action.READ)
        if period not in PERIODS:
            raise ValidationError(f"period must be one of {', '.join(PERIODS)}.",
                                  code="invalid_period", field="period")
        now = self.clock.now()
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        since = {"today": today, "week": now - dt.timedelta(days=7),
                 "month": month_start(now), "all": None}[period]
        c = await queries.counts(actor.account_id, lo=since, hi=None, scope="all")
        return UsageSummary(period, since, now, c.records, c.billed, c.ours, c.differing,
                            c.list_cost.quantize(Decimal("0.0001")))

    async def balance(self, actor: Actor) -> Balance:
        actor.require(Action.READ)
        account = await Account.get(id=actor.account_id)
        plan = await plan_of(account)
        now = self.clock.now()
        profile = await profile_of(actor.account_id, now, create=False)
        unpaid = await Invoice.filter(account_id=actor.account_id, status__in=[
            InvoiceStatus.ISSUED, InvoiceStatus.FAILED]).order_by("id")
        pending = await queries.counts(actor.account_id, lo=None, hi=None, scope="pending")
        estimate = await self.estimate(actor.account_id, 0)
        unbilled = Decimal(0)
        if pending.billed:
            at = Position(estimate.month_segments - pending.billed,
                          estimate.cycle_segments - pending.billed)
            unbilled = sum((x.amount for x in price_segments(pending.billed, at=at,
                                                             plan=plan)), Decimal(0))
        cycle = cycle_at(profile.cycle_anchor, plan, now)
        invoiced_cycle = await queries.counts(actor.account_id, lo=cycle.start, hi=None,
                                              scope="before")
        since = account.billing_status_since
        return Balance(
            billing_status=str(account.billing_status), hold_since=since,
            hold_drops_at=since + HOLD_LIMIT if since else None,
            outstanding=sum((i.total for i in unpaid), Decimal(0)),
            outstanding_invoices=len(unpaid), unbilled_segments=pending.billed,
            unbilled_cost=unbilled, month_to_date=await self.month_spent(actor.account_id),
            spend_cap=profile.spend_cap, next_threshold=next_threshold(invoiced_cycle.billed),
            cycle_segments=estimate.cycle_segments, gateway=str(profile.gateway),
            invoices=list(unpaid))

    # -- cost before sending --------------------------------------------------------------

    async def estimate(self, account_id: int, segments: int) -> CostEstimate:
        """What ``segments`` more would cost the account now: the month's free allowance
        and the cycle's tier boundary included (recipients x segments for a campaign)."""
        now = self.clock.now()
        account = await Account.get(id=account_id)
        plan = await plan_of(account)
        profile = await profile_of(account_id, now, create=False)
        cycle = cycle_at(profile.cycle_anchor, plan, now)
        in_month, in_cycle = await queries.billed_since(account_id, month=month_start(now),
                                                        cycle=cycle.start)
        lines = price_segments(segments, at=Position(in_month, in_cycle), plan=plan)
        return CostEstimate(segments, sum((x.amount for x in lines), Decimal(0)), lines,
                            in_month, in_cycle)

    async def estimate_campaign(self, account_id: int, recipients: int,
                                segments_per_message: int) -> CostEstimate:
        return await self.estimate(account_id, recipients * segments_per_message)

    async def month_spent(self, account_id: int) -> Decimal:
        """Invoiced this calendar month plus what the month's unbilled usage will cost."""
        now = self.clock.now()
        start = month_start(now)
        invoiced = await Invoice.filter(account_id=account_id, period_start__gte=start,
                                        status__in=[InvoiceStatus.ISSUED, InvoiceStatus.PAID,
                                                    InvoiceStatus.FAILED]
                                        ).values_list("total", flat=True)
        account = await Account.get(id=account_id)
        plan = await plan_of(account)
        profile = await profile_of(account_id, now, create=False)
        cycle = cycle_at(profile.cycle_anchor, plan, now)
        pending = await queries.counts(account_id, lo=start, hi=None, scope="pending")
        month_before = await queries.counts(account_id, lo=start, hi=None, scope="before")
        cycle_before = await queries.counts(account_id, lo=cycle.start, hi=None,
                                            scope="before")
        unbilled = sum((x.amount for x in price_segments(
            pending.billed, at=Position(month_before.billed, cycle_before.billed),
            plan=plan)), Decimal(0))
        return to_cents(sum((Decimal(str(t)) for t in invoiced), Decimal(0)) + unbilled)

    async def spend_cap(self, account_id: int) -> Decimal | None:
        """The account's monthly spend cap, None when it has none."""
        profile = await BillingProfile.get_or_none(account_id=account_id)
        return None if profile is None or profile.spend_cap is None \
            else Decimal(profile.spend_cap)

    async def check_spend_cap(self, account_id: int, estimate: CostEstimate) -> None:
        """Raise SpendCapExceeded (with the estimate, the month so far and the cap) when
        the estimate would take this month's spend past the account's cap."""
        profile = await BillingProfile.get_or_none(account_id=account_id)
        if profile is None or profile.spend_cap is None:
            return
        spent = await self.month_spent(account_id)
        cap = Decimal(profile.spend_cap)
        if spent + estimate.cost_cents > cap:
            raise SpendCapExceeded(
                f"This launch would cost about ${estimate.cost_cents} and take the month to "
                f"${spent + estimate.cost_cents}, over the spend cap of ${cap}.",
                estimate=estimate.cost_cents, cap=cap, month_spent=spent,
                segments=estimate.segments)

    async def set_spend_cap(self, actor: Actor, cap: Decimal | None) -> BillingProfile:
        actor.require(Action.MANAGE_BILLING)
        if cap is not None and cap < 0:
            raise ValidationError("The spend cap cannot be negative.",
                                  code="invalid_spend_cap", field="spend_cap")
        profile = await profile_of(actor.account_id, self.clock.now())
        before = profile.spend_cap
        profile.spend_cap = None if cap is None else to_cents(cap)
        await profile.save(update_fields=["spend_cap"])
        await self.audit.record(actor, "billing.spend_cap", changes={
            "from": None if before is None else str(before),
            "to": None if profile.spend_cap is None else str(profile.spend_cap)})
        return profile

    async def add_correction(self, actor: Actor, amount: Decimal, description: str
                             ) -> BillingAdjustment:
        """A correction (negative: a credit) that the account's next invoice carries as a
        line of its own; issued invoices stay as they were."""
        actor.require(Action.MANAGE_BILLING)
        text = " ".join((description or "").split())
        if not text or len(text) > 200:
            raise ValidationError("A correction needs a description of up to 200 "
                                  "characters.", code="invalid_description",
                                  field="description")
        if not amount.is_finite() or amount == 0 or abs(amount) >= Decimal("10000000000"):
            raise ValidationError("A correction needs a non-zero amount.",
                                  code="invalid_amount", field="amount")
        adjustment = await BillingAdjustment.create(
            account_id=actor.account_id, amount=to_cents(amount), description=text,
            created_by=actor.label, created_at=self.clock.now())
        await self.audit.record(actor, "billing.correction", changes={
            "amount": str(adjustment.amount), "description": text})
        return adjustment

    async def set_gateway(self, actor: Actor, gateway: Gateway | str) -> BillingProfile:
        actor.require(Action.MANAGE_BILLING)
        try:
            chosen = Gateway(gateway)
        except ValueError:
            raise ValidationError("gateway must be manual or stripe.",
                                  code="invalid_gateway", field="gateway") from None
        profile = await profile_of(actor.account_id, self.clock.now())
        before = profile.gateway
        profile.gateway = chosen
        await profile.save(update_fields=["gateway"])
        await self.audit.record(actor, "billing.gateway",
                                changes={"from": str(before), "to": str(chosen)})
        return profile
