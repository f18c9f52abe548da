"""Why a message was dropped, or why it waits: the ``status_detail`` vocabulary of
MessageSent. A leaf module, so compliance (which decides many drops) and contacts can name
the reasons without importing messaging, which writes the messages."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DropReason", "StatusDetail"]


class DropReason(StrEnum):
    """Why a message was dropped (its ``status_detail``): it never left and never will.
    The one list of drop reasons, for the executor, compliance, contacts and reports."""

    STALE = "stale"  # over ExecutorConfig.stale_after in the queue
    BLOCKED_CONTENT = "blocked_content"
    CONTACT_BLOCKED = "contact_blocked"
    INVALID_CONTACT = "invalid_contact"
    NOT_SUBSCRIBED = "not_subscribed"
    UNSUBSCRIBED = "unsubscribed"
    INACTIVE_LIST = "inactive_list"
    ACCOUNT_SUSPENDED = "account_suspended"
    BILLING_EXPIRED = "billing_expired"
    QUIET_HOURS_EXPIRED = "quiet_hours_expired"


class StatusDetail(StrEnum):
    """``status_detail`` of a message that was not dropped: why it waits or how it ended."""

    QUIET_HOURS = "quiet_hours"  # queued: held until the contact's morning (not_before)
    BILLING_HOLD = "billing_hold"  # queued: the account's billing holds sending for now
    RETRY = "retry"  # queued: the provider asked us to try again later (not_before)
    CAMPAIGN_PAUSED = "campaign_paused"  # held: its campaign run is paused
    OUTCOME_UNKNOWN = "outcome_unknown"  # sending: the request may have left; never resent
    ORPHAN = "orphan"  # orphaned: the outcome stayed unknown; never resent
    RECEIPT = "receipt"  # undelivered / failed by the provider's delivery report
    PROVIDER_REJECTED = "provider_rejected"  # failed: the provider refused it
    RETRIES_EXHAUSTED = "retries_exhausted"  # failed: the provider stayed busy
