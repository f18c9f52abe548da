from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account


class Heartbeat(Model):
    """Last sign of life of a component (scheduler, worker, bot), for status commands."""

    id = fields.IntField(primary_key=True)
    component = fields.CharField(max_length=64, unique=True)
    beat_at = fields.DatetimeField()
    detail: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)

    class Meta:
        table = "heartbeat"


class IdempotencyRecord(Model):
    """The first answer to a create carrying ``Idempotency-Key``, replayed on repeats."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="idempotency_records", on_delete=fields.CASCADE
    )
    account_id: int
    key = fields.CharField(max_length=200)
    method = fields.CharField(max_length=8)
    path = fields.CharField(max_length=200)
    request_hash = fields.CharField(max_length=64)
    status_code = fields.IntField(null=True)  # null while the first request is running
    response: fields.JSONField[Any] = fields.JSONField(null=True)
    created_at = fields.DatetimeField()

    class Meta:
        table = "idempotency_record"
        unique_together = (("account", "key"),)
