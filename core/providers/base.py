"""The port every SMS provider adapter implements, and the events providers send back.

The executor hands an adapter a batch of messages and gets one outcome per message. An
adapter never retries on its own: the executor decides (backoff, leases, never twice).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

from core.text import clean_text


@dataclass(frozen=True, slots=True)
class OutboundSms:
    message_id: str  # our public 8-character id; echoed where the provider allows
    to: str  # E.164
    from_: str  # E.164 long code / toll-free, or a short code
    body: str
    callback_url: str | None = None  # where this provider should post the receipt


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # the provider took it; provider_message_id is set
    REJECTED = "rejected"  # permanent: never retry (invalid number, blocked, 21610...)
    RETRY = "retry"  # the provider says it did not take it and it is safe to send again
    UNKNOWN = "unknown"  # the request may have left: timeout, reset, 5xx after accept


@dataclass(frozen=True, slots=True)
class SendOutcome:
    message_id: str
    outcome: Outcome
    provider_message_id: str | None = None
    error_code: str | None = None  # the provider's own code, e.g. "21610"
    error_message: str | None = None
    retry_after: float | None = None  # seconds, from Retry-After when the provider gives it
    segments: int | None = None  # parts the provider says it will bill, when it says


@dataclass(frozen=True, slots=True)
class SentSms:
    """A message whose send outcome we never learned, as we asked for it to be sent:
    what a provider can be asked about."""

    message_id: str  # ours
    to: str
    from_: str
    body: str
    queued_at: dt.datetime
    provider_message_id: str | None = None  # when the send got that far


# What a provider says about messages we ask it about, by our message id: a Receipt
# (it has the message, in that state) or None (it has no record of it). A message
# missing from the answer could not be told (no way to ask, an error, ambiguous).
Lookup = dict[str, "Receipt | None"]


class SmsProvider(Protocol):
    """One adapter instance serves one sending list (its credentials)."""

    name: str

    async def send(self, batch: Sequence[OutboundSms]) -> list[SendOutcome]:
        """Send a batch; one outcome per message, in any order. Never raises for
        provider or network errors: those become REJECTED, RETRY or UNKNOWN outcomes."""
        ...

    async def lookup(self, messages: Sequence[SentSms]) -> Lookup:
        """Ask the provider what became of messages whose outcome is unknown, where it
        can be asked (an empty answer where it cannot). Never raises for provider or
        network errors: what could not be asked is left out of the answer."""
        ...

    async def close(self) -> None: ...


class DeliveryState(StrEnum):
    SENT = "sent"  # accepted by the carrier / en route
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Receipt:
    """A delivery report, normalised."""

    provider: str
    provider_message_id: str | None
    state: DeliveryState
    message_id: str | None = None  # ours, when the provider echoed it
    error_code: str | None = None
    error_message: str | None = None
    occurred_at: dt.datetime | None = None
    raw_status: str | None = None  # the provider's own status word, kept in the history
    segments: int | None = None  # parts the provider says it billed, when it says

    def __post_init__(self) -> None:
        _clean_fields(self, "provider_message_id", "message_id", "error_code",
                      "error_message", "raw_status")


@dataclass(frozen=True, slots=True)
class InboundSms:
    """A message a recipient sent to one of our numbers, normalised."""

    provider: str
    provider_message_id: str
    from_number: str
    to_number: str
    body: str
    received_at: dt.datetime | None = None

    def __post_init__(self) -> None:
        # Whatever a person typed reaches us: a NUL would be refused by PostgreSQL and the
        # message (an opt-out, perhaps) lost on every retry. Cleaned, a STOP is a STOP.
        _clean_fields(self, "provider_message_id", "from_number", "to_number", "body")


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """What a webhook handler received, framework-free, for verification and parsing."""

    url: str  # the full public URL the provider called (scheme, host, path, query)
    method: str
    headers: Mapping[str, str]
    query: Mapping[str, str]
    form: Mapping[str, str] = field(default_factory=dict)  # form-encoded bodies (Twilio)
    body: bytes = b""  # raw body (JSON providers)


@dataclass(frozen=True, slots=True)
class WebhookEvents:
    """What one webhook call carried: receipts, inbound messages, or both (batches)."""

    receipts: list[Receipt] = field(default_factory=list)
    inbound: list[InboundSms] = field(default_factory=list)
    # Items the parser could not read and left out, each with why (already logged).
    unreadable: list[str] = field(default_factory=list)


def _clean_fields(event: object, *names: str) -> None:
    """Text a provider sends us is processed whatever it holds: NUL and other control
    characters are removed (core.text.clean_text) where the event is built, so every
    provider's parser is covered."""
    for name in names:
        value = getattr(event, name)
        if isinstance(value, str):
            cleaned = clean_text(value)
            if cleaned != value:
                object.__setattr__(event, name, cleaned)  # frozen: set once, at birth


ReceiptSink = Callable[[Receipt], Awaitable[None]]
InboundSink = Callable[[InboundSms], Awaitable[None]]
