from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account


class PayoutType(StrEnum):
    CPA = "cpa"
    CPC = "cpc"
    REVSHARE = "revshare"


class OfferSource(StrEnum):
    MANUAL = "manual"
    TUNE = "tune"
    EVERFLOW = "everflow"


class OfferStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    EXPIRED = "expired"
    ARCHIVED = "archived"


class Offer(Model):
    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="offers", on_delete=fields.CASCADE
    )
    account_id: int
    name = fields.CharField(max_length=200)
    tracking_url = fields.CharField(max_length=2048)
    payout = fields.DecimalField(max_digits=12, decimal_places=4, default=0)
    payout_type = fields.CharEnumField(PayoutType, max_length=16, default=PayoutType.CPA)
    advertiser = fields.CharField(max_length=200, default="")
    source = fields.CharEnumField(OfferSource, max_length=16, default=OfferSource.MANUAL)
    external_id = fields.CharField(max_length=100, null=True)
    status = fields.CharEnumField(OfferStatus, max_length=16, default=OfferStatus.ACTIVE)
    attribution_window_days = fields.IntField(default=7)
    bot_filter_mode = fields.CharField(max_length=16, null=True)  # overrides the account's
    postback_secret = fields.CharField(max_length=64, null=True)
    click_count = fields.IntField(default=0)
    conversion_count = fields.IntField(default=0)
    revenue_total = fields.DecimalField(max_digits=14, decimal_places=4, default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "offer"
        unique_together = (("account", "source", "external_id"),)


class NetworkStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"


class TuneConnection(Model):
    """An account's TUNE (HasOffers) network, whose conversions the hourly sync pulls.
    Dates in TUNE's answers are in the network's own timezone (``timezone``)."""

    id = fields.IntField(primary_key=True)
    account: fields.OneToOneRelation[Account] = fields.OneToOneField(
        "models.Account", related_name="tune_connection", on_delete=fields.CASCADE
    )
    account_id: int
    network_id = fields.CharField(max_length=64)
    api_key_sealed = fields.TextField()  # the NetworkToken, sealed (core.crypto)
    timezone = fields.CharField(max_length=64, default="America/New_York")
    status = fields.CharEnumField(NetworkStatus, max_length=16, default=NetworkStatus.ACTIVE)
    last_synced_at = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=300, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "tune_connection"
