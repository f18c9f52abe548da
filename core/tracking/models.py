from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account
    from core.campaigns.models import Schedule
    from core.contacts.models import Contact, SendingList
    from core.creatives.models import MessageCreative
    from core.journeys.models import WelcomeJourney
    from core.messaging.models import MessageSent, MessageShortLink
    from core.offers.models import Offer


class ConversionType(StrEnum):
    LEAD = "lead"
    SALE = "sale"
    REBILL = "rebill"
    SIGNUP = "signup"
    INSTALL = "install"
    REFUND = "refund"
    CHARGEBACK = "chargeback"


class MessageShortLinkClick(Model):
    """Every request to a short link, humans and bots alike.

    The hot insert of the redirect (thousands of rows a second under a blast), so it keeps
    no foreign key on PostgreSQL (SQLite keeps its REFERENCES). The short link is the row
    the redirect read from the database, and account, message, contact and offer are
    copies of that link's own columns (the recorder takes them from it, never from the
    request), so they are right by construction; nothing deletes short links, and offers
    are archived, never deleted. The link's key alone was about 6 us of PostgreSQL's CPU
    a row, of 15 (migration 0021); the other four bought nothing but time (0017)."""

    id = fields.BigIntField(primary_key=True)
    short_link: fields.ForeignKeyRelation[MessageShortLink] = fields.ForeignKeyField(
        "models.MessageShortLink", related_name="clicks", on_delete=fields.NO_ACTION,
        db_constraint=False
    )
    short_link_id: int
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="link_clicks", on_delete=fields.NO_ACTION,
        db_constraint=False
    )
    account_id: int
    message: fields.ForeignKeyNullableRelation[MessageSent] = fields.ForeignKeyField(
        "models.MessageSent", related_name="link_clicks", null=True, on_delete=fields.NO_ACTION,
        db_constraint=False
    )
    message_id: int | None
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="link_clicks", null=True, on_delete=fields.NO_ACTION,
        db_constraint=False
    )
    contact_id: int | None
    offer: fields.ForeignKeyNullableRelation[Offer] = fields.ForeignKeyField(
        "models.Offer", related_name="link_clicks", null=True, on_delete=fields.NO_ACTION,
        db_constraint=False
    )
    offer_id: int | None
    clicked_at = fields.DatetimeField()
    ip_address = fields.CharField(max_length=45, default="")
    user_agent = fields.CharField(max_length=512, default="")
    is_bot = fields.BooleanField(default=False)
    # human, preview, scanner or bot (core.tracking.agents.Verdict), and why when not human
    verdict = fields.CharField(max_length=16, default="human", db_default="human")
    bot_reason = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "message_short_link_click"
        indexes = (
            Index(fields=("account_id", "clicked_at")),
            Index(fields=("message_id", "contact_id")),
        )


class MessageClick(Model):
    """The click that counts: the first human click per contact per message.

    Its public ``click_id`` goes to the offer URL and comes back on conversions."""

    id = fields.BigIntField(primary_key=True)
    click_id = fields.CharField(max_length=24, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="message_clicks", on_delete=fields.CASCADE
    )
    account_id: int
    message: fields.ForeignKeyRelation[MessageSent] = fields.ForeignKeyField(
        "models.MessageSent", related_name="counted_clicks", on_delete=fields.CASCADE
    )
    message_id: int
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="counted_clicks", on_delete=fields.CASCADE
    )
    contact_id: int
    short_link: fields.ForeignKeyRelation[MessageShortLink] = fields.ForeignKeyField(
        "models.MessageShortLink", related_name="counted_clicks", on_delete=fields.CASCADE
    )
    short_link_id: int
    raw_click: fields.ForeignKeyNullableRelation[MessageShortLinkClick] = fields.ForeignKeyField(
        "models.MessageShortLinkClick", related_name="counted", null=True,
        on_delete=fields.SET_NULL,
    )
    raw_click_id: int | None
    offer: fields.ForeignKeyNullableRelation[Offer] = fields.ForeignKeyField(
        "models.Offer", related_name="counted_clicks", null=True, on_delete=fields.SET_NULL
    )
    offer_id: int | None
    creative: fields.ForeignKeyNullableRelation[MessageCreative] = fields.ForeignKeyField(
        "models.MessageCreative", related_name="counted_clicks", null=True,
        on_delete=fields.SET_NULL,
    )
    creative_id: int | None
    schedule: fields.ForeignKeyNullableRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="counted_clicks", null=True, on_delete=fields.SET_NULL
    )
    schedule_id: int | None
    journey: fields.ForeignKeyNullableRelation[WelcomeJourney] = fields.ForeignKeyField(
        "models.WelcomeJourney", related_name="counted_clicks", null=True,
        on_delete=fields.SET_NULL,
    )
    journey_id: int | None
    sending_list: fields.ForeignKeyNullableRelation[SendingList] = fields.ForeignKeyField(
        "models.SendingList", related_name="counted_clicks", null=True,
        on_delete=fields.SET_NULL,
    )
    sending_list_id: int | None
    clicked_at = fields.DatetimeField()

    class Meta:
        table = "message_click"
        unique_together = (("message", "contact"),)
        indexes = (Index(fields=("account_id", "clicked_at")),)


class Conversion(Model):
    """A postback or pixel hit, attributed through its click to everything upstream."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="conversions", on_delete=fields.CASCADE
    )
    account_id: int
    click: fields.ForeignKeyNullableRelation[MessageClick] = fields.ForeignKeyField(
        "models.MessageClick", related_name="conversions", null=True, on_delete=fields.SET_NULL
    )
    click_id: int | None
    message: fields.ForeignKeyNullableRelation[MessageSent] = fields.ForeignKeyField(
        "models.MessageSent", related_name="conversions", null=True, on_delete=fields.SET_NULL
    )
    message_id: int | None
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="conversions", null=True, on_delete=fields.SET_NULL
    )
    contact_id: int | None
    offer: fields.ForeignKeyNullableRelation[Offer] = fields.ForeignKeyField(
        "models.Offer", related_name="conversions", null=True, on_delete=fields.SET_NULL
    )
    offer_id: int | None
    creative: fields.ForeignKeyNullableRelation[MessageCreative] = fields.ForeignKeyField(
        "models.MessageCreative", related_name="conversions", null=True,
        on_delete=fields.SET_NULL,
    )
    creative_id: int | None
    schedule: fields.ForeignKeyNullableRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="conversions", null=True, on_delete=fields.SET_NULL
    )
    schedule_id: int | None
    journey: fields.ForeignKeyNullableRelation[WelcomeJourney] = fields.ForeignKeyField(
        "models.WelcomeJourney", related_name="conversions", null=True,
        on_delete=fields.SET_NULL,
    )
    journey_id: int | None
    sending_list: fields.ForeignKeyNullableRelation[SendingList] = fields.ForeignKeyField(
        "models.SendingList", related_name="conversions", null=True, on_delete=fields.SET_NULL
    )
    sending_list_id: int | None
    event_type = fields.CharEnumField(ConversionType, max_length=16, default=ConversionType.SALE)
    revenue = fields.DecimalField(max_digits=14, decimal_places=4)
    txn_id = fields.CharField(max_length=128)
    source = fields.CharField(max_length=32)  # conv, conv_offer, pixel, tune, everflow, api
    # What makes two reports the same conversion: the offer, the event type and the
    # network's transaction id, whichever road (postback, pixel, API, TUNE sync) they
    # came by. Unique per account, so a repeat inserts nothing.
    dedup_key = fields.CharField(max_length=200)
    # False when no click inside the offer's window earned it (a conversion after the
    # window): kept, so a repeat stays a duplicate, but counted nowhere.
    attributed = fields.BooleanField(default=True)
    unattributed_reason = fields.CharField(max_length=32, null=True)
    # the postback as received
    payload: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    occurred_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "conversion"
        unique_together = (("account", "dedup_key"),)
        indexes = (Index(fields=("account_id", "occurred_at")),
                   Index(fields=("message_id",)),  # reports: revenue per message
                   Index(fields=("contact_id", "sending_list_id")))  # LTV cohorts
