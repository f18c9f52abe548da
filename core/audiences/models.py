from __future__ import annotations

from enum import StrEnum

from tortoise import fields
from tortoise.models import Model


class BoolOperator(StrEnum):
    AND = "and"
    OR = "or"


class Audience(Model):
    id = fields.IntField(primary_key=True)
    account = fields.ForeignKeyField(
        "models.Account", related_name="audiences", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    operator = fields.CharEnumField(BoolOperator, max_length=3, default=BoolOperator.AND)
    sending_lists = fields.ManyToManyField(
        "models.SendingList", related_name="audiences", through="audience_sending_list"
    )
    cached_size = fields.IntField(null=True)
    cached_size_updated_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "audience"


class AudienceGroup(Model):
    """A group of conditions (and of nested groups) combined with AND or OR."""

    id = fields.IntField(primary_key=True)
    audience = fields.ForeignKeyField(
        "models.Audience", related_name="groups", on_delete=fields.CASCADE
    )
    parent = fields.ForeignKeyField(
        "models.AudienceGroup", related_name="children", null=True, on_delete=fields.CASCADE
    )
    operator = fields.CharEnumField(BoolOperator, max_length=3, default=BoolOperator.AND)
    position = fields.IntField(default=0)

    class Meta:
        table = "audience_group"


class AudienceCondition(Model):
    id = fields.IntField(primary_key=True)
    group = fields.ForeignKeyField(
        "models.AudienceGroup", related_name="conditions", on_delete=fields.CASCADE
    )
    field = fields.CharField(max_length=100)  # e.g. signup_date, custom.zip
    operator = fields.CharField(max_length=20)  # eq, ne, gt, .. within_days
    value = fields.JSONField(null=True)
    position = fields.IntField(default=0)

    class Meta:
        table = "audience_condition"
