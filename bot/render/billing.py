"""What /sms usage and /sms balance answer: money to the cent, counts with thousands
separators, and a billing hold first and loud."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import discord

from bot.render import COLOUR, DANGER, WARNING, when
from core.accounts.models import BillingStatus
from core.billing.models import Gateway, Invoice, InvoiceStatus
from core.billing.pricing import to_cents
from core.billing.service import Balance, UsageSummary

PERIOD_TITLES = {"today": "today (UTC)", "week": "the last 7 days",
                 "month": "this month (UTC)", "all": "all time"}
HOLD_REASONS: dict[str, str] = {
    BillingStatus.NO_PAYMENT_METHOD: "no payment method on file",
    BillingStatus.PAYMENT_FAILED: "a payment failed or an invoice is overdue"}
GATEWAYS: dict[str, str] = {Gateway.MANUAL: "invoice (paid by hand)", Gateway.STRIPE: "Stripe"}
INVOICES_SHOWN = 5  # an embed field holds 1,024 characters


def usd(amount: Decimal) -> str:
    """Dollars to the cent, rounded as charges are (half up), with thousands separators."""
    cents = to_cents(Decimal(amount))
    return f"-${-cents:,.2f}" if cents < 0 else f"${cents:,.2f}"


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def usage_embed(u: UsageSummary) -> discord.Embed:
    span = (f"From {when(u.since)} to {when(u.until)}." if u.since is not None
            else f"Everything up to {when(u.until)}.")
    if not u.messages:
        span += " Nothing was sent."
    embed = discord.Embed(title=f"Usage · {PERIOD_TITLES.get(u.period, u.period)}",
                          description=span, colour=COLOUR)
    embed.add_field(name="Messages", value=f"{u.messages:,}")
    embed.add_field(name="Segments", value=f"{u.segments:,}")
    embed.add_field(name="At list price", value=usd(u.list_cost))
    if u.segments != u.our_segments or u.messages_differing:
        diff = u.segments - u.our_segments
        embed.add_field(
            name="Provider count vs ours", inline=False,
            value=(f"Providers counted {u.segments:,} segments where we counted "
                   f"{u.our_segments:,} ({diff:+,}), on "
                   f"{plural(u.messages_differing, 'message')}. You are billed on the "
                   "providers' count."))
    embed.set_footer(text="List price is before the monthly free allowance and volume "
                          "tiers. /sms balance shows what you owe.")
    return embed


def hold_text(b: Balance, now: dt.datetime) -> str:
    reason = HOLD_REASONS.get(b.billing_status, b.billing_status.replace("_", " "))
    since = f" since {when(b.hold_since)}" if b.hold_since else ""
    text = f"🚨 **Billing hold**{since}: {reason}. Messages are not being sent."
    if b.hold_drops_at is None:
        return text
    if now >= b.hold_drops_at:
        return (f"{text} Since {when(b.hold_drops_at)}, waiting messages are **dropped** "
                "(billing_expired) instead of sent. Pay what is outstanding to send again.")
    return (f"{text} They wait until {when(b.hold_drops_at)} "
            f"({when(b.hold_drops_at, 'R')}), then are **dropped** (billing_expired). "
            "Pay what is outstanding to release them.")


def invoice_line(invoice: Invoice) -> str:
    state = ("payment failed" if invoice.status == InvoiceStatus.FAILED
             else f"due {when(invoice.due_at, 'D')}" if invoice.due_at else "issued")
    return f"`{invoice.number}` · {usd(invoice.total)} · {state}"


def cap_text(b: Balance) -> str:
    if b.spend_cap is None:
        return "None set"
    left = Decimal(b.spend_cap) - b.month_to_date
    if left < 0:
        return f"{usd(b.spend_cap)} · **over by {usd(-left)}** this month"
    if left == 0:
        return f"{usd(b.spend_cap)} · **reached** this month"
    return f"{usd(b.spend_cap)} · {usd(left)} left this month"


def balance_embed(b: Balance, *, now: dt.datetime) -> discord.Embed:
    held = b.billing_status != BillingStatus.OK
    over_cap = b.spend_cap is not None and b.month_to_date >= Decimal(b.spend_cap)
    colour = DANGER if held else WARNING if b.outstanding_invoices or over_cap else COLOUR
    embed = discord.Embed(title="Balance", colour=colour,
                          description=hold_text(b, now) if held
                          else "Billing is in good standing.")
    owed = (f"{usd(b.outstanding)} · {plural(b.outstanding_invoices, 'invoice')}"
            if b.outstanding_invoices else "Nothing")
    embed.add_field(name="Outstanding", value=owed)
    embed.add_field(name="Unbilled usage",
                    value=f"{plural(b.unbilled_segments, 'segment')} · {usd(b.unbilled_cost)}")
    embed.add_field(name="This month so far", value=usd(b.month_to_date))
    embed.add_field(name="Spend cap", value=cap_text(b))
    to_go = max(0, b.next_threshold - b.cycle_segments)
    embed.add_field(name="This billing cycle",
                    value=f"{plural(b.cycle_segments, 'segment')} · next invoice at "
                          f"{b.next_threshold:,} ({to_go:,} to go) or at month end")
    embed.add_field(name="Pays by", value=GATEWAYS.get(b.gateway, b.gateway))
    if b.invoices:
        lines = [invoice_line(i) for i in b.invoices[:INVOICES_SHOWN]]
        if len(b.invoices) > INVOICES_SHOWN:
            lines.append(f"and {len(b.invoices) - INVOICES_SHOWN:,} more")
        embed.add_field(name="Unpaid invoices", value="\n".join(lines), inline=False)
    return embed
