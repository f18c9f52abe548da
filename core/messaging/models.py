from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account
    from core.campaigns.models import Schedule, ScheduleBlast, ScheduleRun
    from core.contacts.models import Contact, ListContact, SendingList
    from core.creatives.models import MessageCreative
    from core.journeys.models import JourneyEnrollment, WelcomeJourney
    from core.offers.models import Offer


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by an executor; the request may be in flight
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    DROPPED = "dropped"
    ORPHANED = "orphaned"
    # A paused campaign run's message: no executor claims it until the run resumes (back
    # to queued) or is cancelled (dropped).
    HELD = "held"


TERMINAL_STATUSES = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.UNDELIVERED,
        MessageStatus.FAILED,
        MessageStatus.DROPPED,
        MessageStatus.ORPHANED,
    }
)


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


class MessageSent(Model):
    """One outbound SMS from the moment it is queued (the outbox row) to its receipt."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=8, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="messages", on_delete=fields.CASCADE
    )
    account_id: int
    sending_list: fields.ForeignKeyRelation[SendingList] = fields.ForeignKeyField(
        "models.SendingList", related_name="messages", on_delete=fields.CASCADE
    )
    sending_list_id: int
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="messages", on_delete=fields.CASCADE
    )
    contact_id: int
    list_contact: fields.ForeignKeyNullableRelation[ListContact] = fields.ForeignKeyField(
        "models.ListContact", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    list_contact_id: int | None
    creative: fields.ForeignKeyNullableRelation[MessageCreative] = fields.ForeignKeyField(
        "models.MessageCreative", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    creative_id: int | None
    offer: fields.ForeignKeyNullableRelation[Offer] = fields.ForeignKeyField(
        "models.Offer", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    offer_id: int | None
    schedule: fields.ForeignKeyNullableRelation[Schedule] = fields.ForeignKeyField(
        "models.Schedule", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    schedule_id: int | None
    run: fields.ForeignKeyNullableRelation[ScheduleRun] = fields.ForeignKeyField(
        "models.ScheduleRun", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    run_id: int | None
    blast: fields.ForeignKeyNullableRelation[ScheduleBlast] = fields.ForeignKeyField(
        "models.ScheduleBlast", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    blast_id: int | None
    journey: fields.ForeignKeyNullableRelation[WelcomeJourney] = fields.ForeignKeyField(
        "models.WelcomeJourney", related_name="messages", null=True, on_delete=fields.SET_NULL
    )
    journey_id: int | None
    enrollment: fields.ForeignKeyNullableRelation[JourneyEnrollment] = fields.ForeignKeyField(
        "models.JourneyEnrollment", related_name="messages", null=True,
        on_delete=fields.SET_NULL,
    )
    enrollment_id: int | None
    to_number = fields.CharField(max_length=20)
    from_number = fields.CharField(max_length=20)
    body = fields.TextField()
    segments = fields.IntField()  # ours: what the account is billed for
    # The provider's own count, when it says (billing reconciles it with ours).
    provider_segments = fields.IntField(null=True)
    encoding = fields.CharEnumField(Encoding, max_length=8)
    price = fields.DecimalField(max_digits=12, decimal_places=6, default=0)
    provider = fields.CharField(max_length=16)
    provider_message_id = fields.CharField(max_length=100, null=True)
    status = fields.CharEnumField(MessageStatus, max_length=16, default=MessageStatus.QUEUED)
    status_detail = fields.CharField(max_length=64, null=True)
    error_code = fields.CharField(max_length=32, null=True)
    error_message = fields.CharField(max_length=300, null=True)
    attempts = fields.IntField(default=0)
    transactional = fields.BooleanField(default=False)  # exempt from quiet hours
    # A compliance reply (STOP confirmation, HELP text) answers the recipient's own
    # message: it skips the subscription check that would otherwise stop it.
    is_reply = fields.BooleanField(default=False, db_default=False)
    idempotency_key = fields.CharField(max_length=100, null=True)
    claim_token = fields.CharField(max_length=32, null=True)
    lease_expires_at = fields.DatetimeField(null=True)
    not_before = fields.DatetimeField(null=True)  # quiet-hours deferral and retry backoff
    queued_at = fields.DatetimeField()
    sent_at = fields.DatetimeField(null=True)
    delivered_at = fields.DatetimeField(null=True)
    failed_at = fields.DatetimeField(null=True)
    dropped_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "message_sent"
        # NULLs are distinct in unique indexes on both backends: API sends have no run,
        # and messages without an Idempotency-Key do not collide.
        unique_together = (("run", "contact"), ("account", "idempotency_key"))
        # Index audit (issue 17; migration 0015): each index names the query it serves.
        # Dropped: (status, not_before), (sending_list_id, status), (schedule_id, status):
        # no query filters on them (the claim has the partial idx_message_sent_queued, the
        # reconciler the partial idx_message_sent_sending, reports group by list and
        # schedule inside an account's period).
        # Partial, WHERE the column IS NOT NULL (migration 0019, hand-written: PartialIndex
        # cannot say IS NOT NULL), so a message not yet sent writes no entry into them:
        # idx_message_sent_account_sent_at (account_id, sent_at): reports, sends by time;
        # idx_message_sent_sent_at (sent_at), idx_message_sent_failed_at (failed_at): the
        # failure-rate window (monitor) and the report's refused-at-send branch;
        # idx_message_sent_provider_id (provider, provider_message_id): receipt lookup.
        # Also hand-written: idx_message_sent_queued (claim), idx_message_sent_sending.
        indexes = (
            Index(fields=("account_id", "queued_at")),  # API listing by period
            Index(fields=("contact_id", "status")),  # drop_queued_for_contact (STOP)
        )


class MessageEvent(Model):
    """Status history of a message: every transition and every receipt."""

    id = fields.BigIntField(primary_key=True)
    message: fields.ForeignKeyRelation[MessageSent] = fields.ForeignKeyField(
        "models.MessageSent", related_name="events", on_delete=fields.CASCADE
    )
    message_id: int
    status = fields.CharEnumField(MessageStatus, max_length=16)
    detail = fields.CharField(max_length=200, null=True)
    source = fields.CharField(max_length=32)  # executor, webhook:twilio, reconciler, ...
    # The provider's own status word on a receipt (DELIVERED_TO_HANDSET, undelivered).
    provider_status = fields.CharField(max_length=64, null=True)
    occurred_at = fields.DatetimeField()

    class Meta:
        table = "message_event"
        indexes = (Index(fields=("message_id", "occurred_at")),)


class MessageShortLink(Model):
    """``https://<tracking domain>/<code>``: one per ``{{linkN}}`` per message."""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=7, unique=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="short_links", on_delete=fields.CASCADE
    )
    account_id: int
    message: fields.ForeignKeyNullableRelation[MessageSent] = fields.ForeignKeyField(
        "models.MessageSent", related_name="short_links", null=True, on_delete=fields.CASCADE
    )
    message_id: int | None
    contact: fields.ForeignKeyNullableRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="short_links", null=True, on_delete=fields.CASCADE
    )
    contact_id: int | None
    offer: fields.ForeignKeyNullableRelation[Offer] = fields.ForeignKeyField(
        "models.Offer", related_name="short_links", null=True, on_delete=fields.SET_NULL
    )
    offer_id: int | None
    link_key = fields.CharField(max_length=16, default="link1")
    destination_url = fields.CharField(max_length=2048)
    created_at = fields.DatetimeField()

    class Meta:
        table = "message_short_link"
        indexes = (Index(fields=("message_id",)),)
