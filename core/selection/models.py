from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account
    from core.contacts.models import Contact
    from core.creatives.models import MessageCreative
    from core.messaging.models import MessageSent


class SelectionStat(Model):
    """Sends, human clicks, conversions and revenue of one creative, overall
    (dimension and value ``*``) or in one contact segment; rewritten by the scheduled
    refresh so choosing reads only this table, once per batch."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="selection_stats", on_delete=fields.CASCADE
    )
    account_id: int
    creative: fields.ForeignKeyRelation[MessageCreative] = fields.ForeignKeyField(
        "models.MessageCreative", related_name="selection_stats", on_delete=fields.CASCADE
    )
    creative_id: int
    dimension = fields.CharField(max_length=16)
    value = fields.CharField(max_length=48)
    sends = fields.IntField(default=0)
    clicks = fields.IntField(default=0)
    conversions = fields.IntField(default=0)
    revenue = fields.DecimalField(max_digits=14, decimal_places=4, default=0)
    # A segment row's exposures under the other traits' fitted lifts (bandit.fit_segments):
    # what the sampler divides clicks and conversions by. Null on the overall row.
    click_exposure = fields.FloatField(null=True)
    conversion_exposure = fields.FloatField(null=True)
    refreshed_at = fields.DatetimeField()

    class Meta:
        table = "selection_stat"
        unique_together = (("account", "creative", "dimension", "value"),)


class SelectionDecision(Model):
    """Which creative a send got, and how: the model's draw and the posterior it came
    from, or the control split; with the contact's segment in each dimension."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="selection_decisions", on_delete=fields.CASCADE
    )
    account_id: int
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="selection_decisions", on_delete=fields.CASCADE
    )
    contact_id: int
    creative: fields.ForeignKeyRelation[MessageCreative] = fields.ForeignKeyField(
        "models.MessageCreative", related_name="selection_decisions",
        on_delete=fields.CASCADE
    )
    creative_id: int
    message: fields.ForeignKeyNullableRelation[MessageSent] = fields.ForeignKeyField(
        "models.MessageSent", related_name="selection_decisions", null=True,
        on_delete=fields.SET_NULL,
    )
    message_id: int | None
    # The schedule run a launch chose for: its message is written later, in batches, and
    # the refresh job links the decision to it by (run, contact), the outbox's unique key.
    run_id = fields.BigIntField(null=True)
    offer_id = fields.IntField(null=True)
    mode = fields.CharField(max_length=16)  # model | control
    seg_recency = fields.CharField(max_length=48)
    seg_history = fields.CharField(max_length=48)
    seg_carrier = fields.CharField(max_length=48)
    seg_line_type = fields.CharField(max_length=48)
    seg_hour = fields.CharField(max_length=48)
    draw = fields.FloatField(null=True)
    offer_draw = fields.FloatField(null=True)
    posterior: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    decided_at = fields.DatetimeField()

    class Meta:
        table = "selection_decision"
        indexes = (Index(fields=("account_id", "decided_at")),
                   Index(fields=("message_id",)))
