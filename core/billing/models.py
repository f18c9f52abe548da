from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account
    from core.messaging.models import MessageSent


class InvoiceStatus(StrEnum):
    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    FAILED = "failed"
    VOID = "void"


class Gateway(StrEnum):
    MANUAL = "manual"
    STRIPE = "stripe"


class PricePlan(Model):
    """A price plan as data (PRODUCT.md section 7 is the ``default`` one). Accounts name
    theirs in ``Account.price_plan``; invoices copy the prices they used into their lines,
    so a later change to a plan never rewrites one."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    free_segments = fields.IntField()  # per calendar month
    # [{"up_to": 1000000 | null, "price": "0.0045"}, ...]: cumulative segments in a cycle
    tiers: fields.JSONField[list[dict[str, Any]]] = fields.JSONField()
    cycle_days = fields.IntField(default=360)
    platform_fee = fields.DecimalField(max_digits=10, decimal_places=2)
    fee_waiver_segments = fields.BigIntField()  # a calendar month with this many: no fee
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "price_plan"


class BillingProfile(Model):
    """An account's billing set-up: how it pays, where its rolling cycle starts, its cap."""

    id = fields.IntField(primary_key=True)
    account: fields.OneToOneRelation[Account] = fields.OneToOneField(
        "models.Account", related_name="billing_profile", on_delete=fields.CASCADE
    )
    account_id: int
    gateway = fields.CharEnumField(Gateway, max_length=16, default=Gateway.MANUAL)
    cycle_anchor = fields.DatetimeField()  # the rolling 360-day cycles count from here
    spend_cap = fields.DecimalField(max_digits=12, decimal_places=2, null=True)  # a month
    stripe_customer_id = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "billing_profile"


class UsageRecord(Model):
    """Segments that left through a provider, priced when they left."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="usage_records", on_delete=fields.CASCADE
    )
    account_id: int
    message: fields.OneToOneNullableRelation[MessageSent] = fields.OneToOneField(
        "models.MessageSent", related_name="usage", null=True, on_delete=fields.SET_NULL
    )
    message_id: int | None
    segments = fields.IntField()  # our count
    price = fields.DecimalField(max_digits=12, decimal_places=6)
    occurred_at = fields.DatetimeField()
    invoice: fields.ForeignKeyNullableRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", related_name="usage_records", null=True, on_delete=fields.SET_NULL
    )
    invoice_id: int | None
    # What the invoice charged for: the provider's count where it gave one, else ours.
    # Set once, when the record is invoiced.
    billed_segments = fields.IntField(null=True)

    class Meta:
        table = "usage_record"
        indexes = (Index(fields=("account_id", "occurred_at")), Index(fields=("invoice_id",)))


class Invoice(Model):
    """Immutable once issued: only its payment state moves (issued -> paid | failed)."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="invoices", on_delete=fields.CASCADE
    )
    account_id: int
    number = fields.CharField(max_length=32, unique=True)
    status = fields.CharEnumField(InvoiceStatus, max_length=16, default=InvoiceStatus.DRAFT)
    reason = fields.CharField(max_length=16)  # threshold | monthly
    # What makes a re-run find this invoice instead of issuing another: "m:2026-03" for a
    # month, "t:<cycle>:<segments>" for a threshold.
    # db_default: only so adding the column works on a table with rows (0013 keys those).
    dedup_key = fields.CharField(max_length=48, db_default="")
    period_start = fields.DatetimeField()
    period_end = fields.DatetimeField()
    segments = fields.BigIntField(default=0)
    usage_amount = fields.DecimalField(max_digits=14, decimal_places=4, default=0)
    platform_fee = fields.DecimalField(max_digits=10, decimal_places=2, default=0)
    total = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    line_items: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    gateway = fields.CharEnumField(Gateway, max_length=16, default=Gateway.MANUAL,
                                  db_default=Gateway.MANUAL.value)
    external_id = fields.CharField(max_length=64, null=True)  # the Stripe invoice id
    issued_at = fields.DatetimeField(null=True)
    due_at = fields.DatetimeField(null=True)
    paid_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "invoice"
        unique_together = (("account", "dedup_key"),)
        indexes = (Index(fields=("account_id", "period_start")),)


class BillingAdjustment(Model):
    """A correction (credit if negative) waiting for the next invoice, which shows it as a
    line of its own: an issued invoice is never rewritten."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="billing_adjustments", on_delete=fields.CASCADE
    )
    account_id: int
    amount = fields.DecimalField(max_digits=12, decimal_places=2)
    description = fields.CharField(max_length=200)
    created_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField()
    invoice: fields.ForeignKeyNullableRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", related_name="adjustments", null=True, on_delete=fields.SET_NULL
    )
    invoice_id: int | None

    class Meta:
        table = "billing_adjustment"


class StripeEvent(Model):
    """Each Stripe webhook event applied once, whatever Stripe or a replayer resends."""

    id = fields.IntField(primary_key=True)
    event_id = fields.CharField(max_length=255, unique=True)
    type = fields.CharField(max_length=64)
    received_at = fields.DatetimeField()

    class Meta:
        table = "stripe_event"
