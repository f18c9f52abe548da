from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

if TYPE_CHECKING:
    from core.accounts.models import Account


class Provider(StrEnum):
    TWILIO = "twilio"
    INFOBIP = "infobip"
    CM = "cm"
    SIMULATOR = "simulator"


class NumberType(StrEnum):
    LONG_CODE = "long_code"
    TOLL_FREE = "toll_free"
    SHORT_CODE = "short_code"


class ListStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"


class LineType(StrEnum):
    CELL = "cell"
    VOIP = "voip"
    LANDLINE = "landline"
    UNKNOWN = "unknown"


class SubscriptionStatus(StrEnum):
    ACTIVE = "active"
    UNSUBSCRIBED = "unsubscribed"


class SignupMethod(StrEnum):
    API = "api"
    IMPORT = "import"
    FORM = "form"
    KEYWORD = "keyword"
    MANUAL = "manual"
    JOURNEY = "journey"


class UnsubscribeReason(StrEnum):
    MESSAGE = "message"
    MANUAL = "manual"
    COMPLAINT = "complaint"
    BAD_RESPONSE = "bad_response"
    INVALID_CONTACT = "invalid_contact"


class ImportStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class SendingList(Model):
    """A from-number with its provider configuration. Contacts subscribe to lists."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="sending_lists", on_delete=fields.CASCADE
    )
    account_id: int
    name = fields.CharField(max_length=200, default="")
    phone_number = fields.CharField(max_length=20, unique=True)
    number_type = fields.CharEnumField(NumberType, max_length=16, default=NumberType.LONG_CODE)
    country_code = fields.CharField(max_length=2, default="US")
    provider = fields.CharEnumField(Provider, max_length=16)
    brand_name = fields.CharField(max_length=100, default="")
    # SecretBox token; never in responses
    credentials_sealed: str | None = fields.TextField(null=True)
    webhook_token = fields.CharField(max_length=64, unique=True)  # path secret for receipts
    status = fields.CharEnumField(ListStatus, max_length=16, default=ListStatus.ACTIVE)
    rate_limit_per_minute = fields.IntField(default=17_000)
    prepend_text = fields.CharField(max_length=200, null=True)
    append_text = fields.CharField(max_length=200, null=True)
    help_text = fields.CharField(max_length=320, null=True)
    allow_landlines = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "sending_list"


class Contact(Model):
    """One row per phone number in the whole system, with facts derived from the number."""

    id = fields.BigIntField(primary_key=True)
    phone_number = fields.CharField(max_length=20, unique=True)  # E.164
    country_code = fields.CharField(max_length=2, default="")
    is_valid = fields.BooleanField(default=True)
    line_type = fields.CharEnumField(LineType, max_length=16, default=LineType.UNKNOWN)
    carrier = fields.CharField(max_length=100, default="")
    timezone = fields.CharField(max_length=64, null=True)
    state = fields.CharField(max_length=2, null=True)  # US state or CA province
    area_code = fields.CharField(max_length=4, null=True)
    looked_up_at = fields.DatetimeField(null=True)  # when a lookup provider refined it
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "contact"
        # No index on state: audiences read it from the subscription (ListContact.state,
        # migration 0020), which dropped the (state, id) index they had joined through.


class ListContact(Model):
    """The subscription of a contact to a sending list, with its consent and activity."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="list_contacts", on_delete=fields.CASCADE
    )
    account_id: int
    sending_list: fields.ForeignKeyRelation[SendingList] = fields.ForeignKeyField(
        "models.SendingList", related_name="list_contacts", on_delete=fields.CASCADE
    )
    sending_list_id: int
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="subscriptions", on_delete=fields.CASCADE
    )
    contact_id: int
    status = fields.CharEnumField(
        SubscriptionStatus, max_length=16, default=SubscriptionStatus.ACTIVE
    )
    # The contact's state and area code, copied onto the subscription when it is made
    # (both come from the number, which a contact never changes): an audience filters on
    # them without joining contact. Every insert into list_contact sets them
    # (tests/contacts/test_subscription_facts.py).
    state = fields.CharField(max_length=2, null=True)
    area_code = fields.CharField(max_length=4, null=True)
    signup_date = fields.DatetimeField()
    signup_method = fields.CharEnumField(SignupMethod, max_length=16)
    consent_date = fields.DatetimeField(null=True)
    consent_ip = fields.CharField(max_length=45, null=True)
    consent_url = fields.CharField(max_length=2048, null=True)
    consent_source = fields.CharField(max_length=200, null=True)
    first_name = fields.CharField(max_length=100, default="")
    last_name = fields.CharField(max_length=100, default="")
    email = fields.CharField(max_length=254, default="")
    ad_network_source = fields.CharField(max_length=100, default="")
    ad_network_id = fields.CharField(max_length=100, default="")
    custom_fields: fields.JSONField[dict[str, Any]] = fields.JSONField(default=dict)
    unsubscribe_reason = fields.CharEnumField(UnsubscribeReason, max_length=16, null=True)
    unsubscribed_at = fields.DatetimeField(null=True)
    unsubscribe_keyword = fields.CharField(max_length=64, null=True)
    in_workflow = fields.BooleanField(default=False)
    last_sent_at = fields.DatetimeField(null=True)
    last_clicked_at = fields.DatetimeField(null=True)
    send_count = fields.IntField(default=0)
    click_count = fields.IntField(default=0)
    revenue_total = fields.DecimalField(max_digits=14, decimal_places=4, default=0)
    conversion_count = fields.IntField(default=0)
    last_revenue_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "list_contact"
        # On PostgreSQL the columns are not in this order: migration 0020 puts the scope
        # and filter columns first and the wide text last (LAYOUT there), so an audience
        # count deforms each row only as far as the columns it tests.
        unique_together = (("sending_list", "contact"),)
        indexes = (
            Index(fields=("sending_list_id", "status", "signup_date")),
            Index(fields=("account_id", "signup_date")),
            Index(fields=("contact_id", "status")),
            # Audiences by state (migration 0022): SQLite reads only the list's rows of
            # those states, not every subscription of the list.
            Index(fields=("sending_list_id", "state")),
        )


class AccountOptOut(Model):
    """A STOP with account scope. Every list of the account honours it, those created
    after it included: a subscription made later starts unsubscribed, and the send-time
    check drops messages to the contact. Lifted only by the person's own opt-in."""

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="opt_outs", on_delete=fields.CASCADE
    )
    account_id: int
    contact: fields.ForeignKeyRelation[Contact] = fields.ForeignKeyField(
        "models.Contact", related_name="account_opt_outs", on_delete=fields.CASCADE
    )
    contact_id: int
    reason = fields.CharEnumField(UnsubscribeReason, max_length=16)
    keyword = fields.CharField(max_length=64, null=True)
    opted_out_at = fields.DatetimeField()

    class Meta:
        table = "account_opt_out"
        unique_together = (("account", "contact"),)


class Block(Model):
    """Do-not-contact entry for one list, or for the whole account when no list is set."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="blocks", on_delete=fields.CASCADE
    )
    account_id: int
    sending_list: fields.ForeignKeyNullableRelation[SendingList] = fields.ForeignKeyField(
        "models.SendingList", related_name="blocks", null=True, on_delete=fields.CASCADE
    )
    sending_list_id: int | None
    phone_number = fields.CharField(max_length=20)
    reason = fields.CharField(max_length=200, default="")
    created_by = fields.CharField(max_length=64, default="system")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "block"
        indexes = (Index(fields=("account_id", "phone_number")),)
        # Account-wide blocks (no list) are kept unique by a partial index that the
        # migration creates with RunSQL: tortoise cannot express it on SQLite.
        unique_together = (("sending_list", "phone_number"),)


class ImportJob(Model):
    """A CSV import running in the background, with its progress and counts."""

    id = fields.IntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="imports", on_delete=fields.CASCADE
    )
    account_id: int
    sending_list: fields.ForeignKeyRelation[SendingList] = fields.ForeignKeyField(
        "models.SendingList", related_name="imports", on_delete=fields.CASCADE
    )
    sending_list_id: int
    created_by = fields.CharField(max_length=64, default="system")
    filename = fields.CharField(max_length=255, default="")
    file_path = fields.CharField(max_length=1024, default="")
    file_size = fields.BigIntField(default=0)
    dry_run = fields.BooleanField(default=True)
    status = fields.CharEnumField(ImportStatus, max_length=16, default=ImportStatus.PENDING)
    bytes_processed = fields.BigIntField(default=0)
    rows_processed = fields.IntField(default=0)
    created_count = fields.IntField(default=0)
    updated_count = fields.IntField(default=0)
    unchanged_count = fields.IntField(default=0)
    error_count = fields.IntField(default=0)
    failure: str | None = fields.TextField(null=True)
    started_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "import_job"


class ImportRowError(Model):
    """One bad row of an import, with its line number in the file."""

    id = fields.BigIntField(primary_key=True)
    job: fields.ForeignKeyRelation[ImportJob] = fields.ForeignKeyField(
        "models.ImportJob", related_name="row_errors", on_delete=fields.CASCADE
    )
    job_id: int
    line = fields.IntField()
    code = fields.CharField(max_length=32)
    reason = fields.CharField(max_length=300)
    value = fields.CharField(max_length=200, default="")

    class Meta:
        table = "import_row_error"
        indexes = (Index(fields=("job_id", "line")),)
