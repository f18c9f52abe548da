from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account


class AuditEvent(Model):
    """One sensitive action, done or refused. ``changes`` never holds a secret."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="audit_events", on_delete=fields.CASCADE
    )
    account_id: int
    actor = fields.CharField(max_length=64)  # Actor.label: api_key:3, discord:..., system
    face = fields.CharField(max_length=16)  # api | discord | cli | system
    action = fields.CharField(max_length=48)  # team.invite, api_key.create, ...
    target = fields.CharField(max_length=200, default="")
    outcome = fields.CharField(max_length=16, default="ok")  # ok | refused
    changes: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "audit_event"
        indexes = (Index(fields=("account_id", "occurred_at")),
                   Index(fields=("account_id", "action")))
