"""CM.com Business Messaging API (JSON gateway): ``POST {base}/v1.0/message``.

The product token travels in the body (``messages.authentication.producttoken``). A batch
is one request with one ``msg`` per SMS, ``reference`` = our message id; CM echoes it in
the answer and in status reports (it has no message id of its own, so our id is also the
``provider_message_id``). The gateway accepts partially: each message gets its own
Accepted / Rejected detail, so one answer yields both outcomes.

CM sends status reports to the URL configured for the account in CM's Channels app, not
per message: ``callback_url`` is not sent. Configure that URL with the list's webhook
token (``?token=``); :func:`verify` compares it in constant time.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from core.clock import Clock, SystemClock
from core.errors import ValidationError
from core.providers.base import (
    DeliveryState,
    InboundSms,
    Lookup,
    OutboundSms,
    Outcome,
    Receipt,
    SendOutcome,
    SentSms,
    WebhookEvents,
    WebhookRequest,
)
from core.providers.common import (
    NETWORK_ERRORS,
    Timeouts,
    clip,
    describe,
    invalid_payload,
    left_out,
    load_json,
    outcome_for_exception,
    parse_retry_after,
    parse_timestamp,
    parts,
    post_json,
    query_token,
    to_e164,
    token_matches,
)

log = logging.getLogger(__name__)

NAME = "cm"
DEFAULT_BASE_URL = "https://gw.messaging.cm.com"
TOKEN_PARAM = "token"
MAX_PARTS = 8  # the gateway's ceiling for a concatenated SMS
_STATES = {
    "0": DeliveryState.SENT,  # accepted by the operator
    "1": DeliveryState.FAILED,  # rejected by CM or the operator
    "2": DeliveryState.DELIVERED,
    "3": DeliveryState.UNDELIVERED,  # failed: the operator could not deliver it
}


def _cm_number(number: str) -> str:
    """CM's documented international format: ``00`` + country code + number."""
    return "00" + number[1:] if number.startswith("+") else number


class CmProvider:
    name = NAME

    def __init__(self, *, product_token: str, session: aiohttp.ClientSession,
                 base_url: str = DEFAULT_BASE_URL, timeouts: Timeouts | None = None,
                 clock: Clock | None = None) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/v1.0/message"
        self._token = product_token
        self._timeouts = timeouts or Timeouts()
        self._clock = clock or SystemClock()

    async def close(self) -> None:
        """The session is shared and closed by its owner."""

    async def lookup(self, messages: Sequence[SentSms]) -> Lookup:
        """CM's gateway has no message status to ask for: reports are all it sends."""
        return {}

    async def send(self, batch: Sequence[OutboundSms]) -> list[SendOutcome]:
        if not batch:
            return []
        payload = {"messages": {
            "authentication": {"producttoken": self._token},
            "msg": [{
                "from": _cm_number(sms.from_),
                "to": [{"number": _cm_number(sms.to)}],
                "body": {"type": "auto", "content": sms.body},
                "reference": sms.message_id,
                "minimumNumberOfMessageParts": 1,
                "maximumNumberOfMessageParts": MAX_PARTS,
            } for sms in batch],
        }}
        try:
            response = await post_json(self._session, self._url, payload, headers={},
                                       timeouts=self._timeouts)
        except NETWORK_ERRORS as exc:
            outcome = outcome_for_exception(exc)
            log.warning("cm send of %d: %s -> %s", len(batch), describe(exc), outcome)
            return [SendOutcome(s.message_id, outcome, error_message=describe(exc))
                    for s in batch]
        status, data = response.status, response.data
        code = str(data.get("errorCode")) if isinstance(data, dict) else str(status)
        details = clip(data.get("details"), 300) if isinstance(data, dict) else None
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"),
                                            now=self._clock.now())
            return [SendOutcome(s.message_id, Outcome.RETRY, error_code=code,
                                error_message=details, retry_after=retry_after)
                    for s in batch]
        if status >= 500 or not isinstance(data, dict):
            # A 2xx we cannot read may still mean sent; a 4xx we cannot read did not send.
            outcome = Outcome.REJECTED if 400 <= status < 500 else Outcome.UNKNOWN
            return [SendOutcome(s.message_id, outcome, error_code=code, error_message=details)
                    for s in batch]
        return _per_message(batch, data, status, code, details)


def _per_message(batch: Sequence[OutboundSms], data: dict[str, Any], status: int,
                 code: str, details: str | None) -> list[SendOutcome]:
    by_reference: dict[str, dict[str, Any]] = {}
    for item in data.get("messages") or []:
        if isinstance(item, dict) and item.get("reference"):
            by_reference[str(item["reference"])] = item
    out = []
    for sms in batch:
        item = by_reference.get(sms.message_id)
        if item is None:
            # Refused as a whole (bad token, malformed): nothing was sent. Missing from a
            # 2xx answer: we cannot know.
            outcome = Outcome.REJECTED if status >= 400 else Outcome.UNKNOWN
            out.append(SendOutcome(sms.message_id, outcome, error_code=clip(code, 32),
                                   error_message=details or "missing from CM's answer"))
        elif str(item.get("status", "")).lower() == "accepted":
            out.append(SendOutcome(sms.message_id, Outcome.ACCEPTED,
                                   provider_message_id=sms.message_id,
                                   segments=parts(item.get("parts"))))
        else:
            out.append(SendOutcome(sms.message_id, Outcome.REJECTED,
                                   error_code=clip(item.get("messageErrorCode"), 32),
                                   error_message=clip(item.get("messageDetails"), 300)))
    return out


def verify(request: WebhookRequest, webhook_token: str) -> bool:
    """True when the report URL carries the list's webhook token (constant time)."""
    return token_matches(query_token(request.query, TOKEN_PARAM), webhook_token)


def parse(request: WebhookRequest) -> WebhookEvents:
    """A JSON status report (``{"messages": {"msg": ...}}``) or an inbound message."""
    data = load_json(request.body)
    if not isinstance(data, dict):
        raise invalid_payload("CM webhook body is not an object.")
    if "messages" in data:
        envelope = data["messages"]
        msgs = envelope.get("msg") if isinstance(envelope, dict) else None
        if isinstance(msgs, dict):
            msgs = [msgs]
        if not isinstance(msgs, list):
            raise invalid_payload("CM status report without 'msg'.")
        # A report CM sends in a batch that we cannot read is left out and logged, not
        # the reason to refuse (and so lose) the readable ones beside it.
        receipts: list[Receipt] = []
        unreadable: list[str] = []
        for i, msg in enumerate(msgs):
            try:
                receipts.append(_receipt(msg, i))
            except ValidationError as exc:
                unreadable.append(exc.message)
        return WebhookEvents(receipts=receipts,
                             unreadable=left_out(NAME, unreadable, len(msgs)))
    if "message" in data and "from" in data:
        return WebhookEvents(inbound=[_inbound(data)])
    raise invalid_payload("CM webhook is neither a status report nor a message.")


def _receipt(msg: Any, i: int) -> Receipt:
    if not isinstance(msg, dict) or not isinstance(msg.get("status"), dict):
        raise invalid_payload(f"CM msg[{i}] has no status.")
    status = msg["status"]
    state = _STATES.get(str(status.get("code")))
    if state is None:
        raise invalid_payload(f"CM msg[{i}]: unknown status code "
                              f"{clip(status.get('code'), 20)!r}.")
    reference = clip(msg.get("reference"), 100)
    return Receipt(provider=NAME, provider_message_id=reference, state=state,
                   message_id=reference,
                   error_code=clip(status.get("errorCode"), 32),
                   error_message=clip(status.get("errorDescription"), 300),
                   occurred_at=parse_timestamp(msg.get("received")),
                   raw_status=clip(status.get("code"), 64))


def _inbound(data: Mapping[str, Any]) -> InboundSms:
    sender, recipient, message = (_object(data.get(k)) for k in ("from", "to", "message"))
    from_number, to_number = sender.get("number"), recipient.get("number")
    if not from_number or not to_number:
        raise invalid_payload("CM inbound message without from.number or to.number.")
    raw_text = message.get("text")
    text = raw_text if isinstance(raw_text, str) else ""
    when = data.get("timeUtc")
    # CM gives an inbound message no id of its own; this one is stable across retries
    # of the same webhook, so duplicates stay recognisable.
    digest = hashlib.sha256(f"{from_number}|{to_number}|{when}|{text}".encode()).hexdigest()
    return InboundSms(provider=NAME, provider_message_id="cm-" + digest[:32],
                      from_number=to_e164(str(from_number)),
                      to_number=to_e164(str(to_number)), body=text,
                      received_at=parse_timestamp(when))


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}
