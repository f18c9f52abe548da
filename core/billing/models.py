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
    segments = fields.IntField()
    price = fields.DecimalField(max_digits=12, decimal_places=6)
    occurred_at = fields.DatetimeField()
    invoice: fields.ForeignKeyNullableRelation[Invoice] = fields.ForeignKeyField(
        "models.Invoice", related_name="usage_records", null=True, on_delete=fields.SET_NULL
    )
    invoice_id: int | None

    class Meta:
        table = "usage_record"
        indexes = (Index(fields=("account_id", "occurred_at")), Index(fields=("invoice_id",)))


class Invoice(Model):
    """Immutable once issued."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="invoices", on_delete=fields.CASCADE
    )
    account_id: int
    number = fields.CharField(max_length=32, unique=True)
    status = fields.CharEnumField(InvoiceStatus, max_length=16, default=InvoiceStatus.DRAFT)
    reason = fields.CharField(max_length=16)  # threshold | monthly
    period_start = fields.DatetimeField()
    period_end = fields.DatetimeField()
    segments = fields.BigIntField(default=0)
    usage_amount = fields.DecimalField(max_digits=14, decimal_places=4, default=0)
    platform_fee = fields.DecimalField(max_digits=10, decimal_places=2, default=0)
    total = fields.DecimalField(max_digits=14, decimal_places=2, default=0)
    line_items: fields.JSONField[list[dict[str, Any]]] = fields.JSONField(default=list)
    issued_at = fields.DatetimeField(null=True)
    due_at = fields.DatetimeField(null=True)
    paid_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "invoice"
        indexes = (Index(fields=("account_id", "period_start")),)
