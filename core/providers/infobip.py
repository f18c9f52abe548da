"""Infobip SMS API v3: ``POST {base}/sms/3/messages`` with ``Authorization: App <key>``.

A batch goes out as one request, one ``messages[]`` entry per SMS with our id as the
destination's ``messageId`` (Infobip uses it as its own id and echoes it in every delivery
report) and the list's callback URL as ``webhooks.delivery.url``.

Which failures are safe to resend: Infobip refuses a request with a validation error
(400) as a whole, so the messages it did not complain about were not sent and may be
retried; 429 is retried after Retry-After; 5xx, timeouts and resets are UNKNOWN.

Webhooks carry no signature: the lead puts the list's ``webhook_token`` in the callback
URL (``?token=``) and :func:`verify` compares it in constant time.

A message whose send outcome we never learned can be looked up by our id in Infobip's
message logs (``GET {base}/sms/3/logs?messageId=...``, kept 48 hours): the log entry
has the same status and error as a delivery report.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
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
    get_json,
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

NAME = "infobip"
DEFAULT_BASE_URL = "https://api.infobip.com"
LOGS_KEPT = dt.timedelta(hours=47)  # Infobip keeps 48 h; a missing log older says nothing
LOOKUP_CHUNK = 100  # ids per logs request (comma-separated, under its 2048 characters)
TOKEN_PARAM = "token"
_ACCEPTED_GROUPS = frozenset({"PENDING", "DELIVERED"})
_STATES = {
    "ACCEPTED": DeliveryState.SENT,  # in logs: Infobip has it, not yet handed on
    "PENDING": DeliveryState.SENT,
    "DELIVERED": DeliveryState.DELIVERED,
    "UNDELIVERABLE": DeliveryState.UNDELIVERED,
    "EXPIRED": DeliveryState.UNDELIVERED,
    "REJECTED": DeliveryState.FAILED,
}
_MESSAGE_INDEX = re.compile(r"^messages\[(\d+)\]")


class InfobipProvider:
    name = NAME

    def __init__(self, *, api_key: str, session: aiohttp.ClientSession,
                 base_url: str = DEFAULT_BASE_URL, timeouts: Timeouts | None = None,
                 clock: Clock | None = None) -> None:
        self._session = session
        self._url = base_url.rstrip("/") + "/sms/3/messages"
        self._logs_url = base_url.rstrip("/") + "/sms/3/logs"
        self._headers = {"Authorization": f"App {api_key}"}
        self._timeouts = timeouts or Timeouts()
        self._clock = clock or SystemClock()

    async def close(self) -> None:
        """The session is shared and closed by its owner."""

    async def send(self, batch: Sequence[OutboundSms]) -> list[SendOutcome]:
        if not batch:
            return []
        payload = {"messages": [_message(sms) for sms in batch]}
        try:
            response = await post_json(self._session, self._url, payload,
                                       headers=self._headers, timeouts=self._timeouts)
        except NETWORK_ERRORS as exc:
            outcome = outcome_for_exception(exc)
            log.warning("infobip send of %d: %s -> %s", len(batch), describe(exc), outcome)
            return [SendOutcome(s.message_id, outcome, error_message=describe(exc))
                    for s in batch]
        status, data = response.status, response.data
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"),
                                            now=self._clock.now())
            code, text = _error(data, "E429")
            return [SendOutcome(s.message_id, Outcome.RETRY, error_code=code,
                                error_message=text, retry_after=retry_after) for s in batch]
        if status >= 500 or (200 <= status < 300 and not isinstance(data, dict)):
            code, text = _error(data, str(status))
            return [SendOutcome(s.message_id, Outcome.UNKNOWN, error_code=code,
                                error_message=text) for s in batch]
        if status >= 400:
            return _refused(batch, data, status)
        return _accepted(batch, data)


    async def lookup(self, messages: Sequence[SentSms]) -> Lookup:
        """Each message's log entry by our id: its state, or None when Infobip has no
        log of it (only said for messages younger than the logs are kept)."""
        answer: Lookup = {}
        now = self._clock.now()
        for start in range(0, len(messages), LOOKUP_CHUNK):
            chunk = messages[start:start + LOOKUP_CHUNK]
            ids = ",".join(m.message_id for m in chunk)
            try:
                response = await get_json(self._session, self._logs_url,
                                          params={"messageId": ids, "limit": "1000"},
                                          headers=self._headers, timeouts=self._timeouts)
            except NETWORK_ERRORS as exc:
                log.warning("infobip logs for %d message(s): %s", len(chunk), describe(exc))
                continue
            results = response.data.get("results") if isinstance(response.data, dict) \
                else None
            if response.status != 200 or not isinstance(results, list):
                code, _ = _error(response.data, str(response.status))
                log.warning("infobip logs for %d message(s): HTTP %d %s", len(chunk),
                            response.status, code)
                continue
            by_id = {r.message_id: r for r in parse_results(results).receipts}
            for sms in chunk:
                if sms.message_id in by_id:
                    answer[sms.message_id] = by_id[sms.message_id]
                elif now - sms.queued_at < LOGS_KEPT:
                    answer[sms.message_id] = None
        return answer


def _message(sms: OutboundSms) -> dict[str, Any]:
    message: dict[str, Any] = {
        "sender": sms.from_.lstrip("+"),
        "destinations": [{"to": sms.to.lstrip("+"), "messageId": sms.message_id}],
        "content": {"text": sms.body},
    }
    if sms.callback_url:
        message["webhooks"] = {
            "delivery": {"url": sms.callback_url, "intermediateReport": True},
            "contentType": "application/json",
        }
    return message


def _error(data: Any, default: str) -> tuple[str, str | None]:
    """(code, text) from a v3 error document or the older requestError shape."""
    if isinstance(data, dict):
        if "errorCode" in data:
            return str(data["errorCode"]), clip(data.get("description"), 300)
        exception = (data.get("requestError") or {}).get("serviceException") or {}
        if exception:
            return str(exception.get("messageId", default)), clip(exception.get("text"), 300)
    return default, None


def _refused(batch: Sequence[OutboundSms], data: Any, status: int) -> list[SendOutcome]:
    """A 4xx refuses the whole request: nothing was sent. Messages a validation error
    names are REJECTED; the others are safe to RETRY. Without names (auth, quota, ...)
    every message is REJECTED with the error code."""
    code, text = _error(data, str(status))
    named: dict[int, str] = {}
    if status == 400 and isinstance(data, dict):
        for violation in data.get("violations") or []:
            match = _MESSAGE_INDEX.match(str(violation.get("property", "")))
            if match:
                named[int(match.group(1))] = (f"{violation.get('property')}: "
                                              f"{violation.get('violation')}")
    if not named:
        return [SendOutcome(s.message_id, Outcome.REJECTED, error_code=clip(code, 32),
                            error_message=text) for s in batch]
    return [
        SendOutcome(s.message_id, Outcome.REJECTED, error_code=clip(code, 32),
                    error_message=clip(named[i], 300))
        if i in named else
        SendOutcome(s.message_id, Outcome.RETRY, error_code=clip(code, 32),
                    error_message="another message in the request was invalid")
        for i, s in enumerate(batch)
    ]


def _accepted(batch: Sequence[OutboundSms], data: dict[str, Any]) -> list[SendOutcome]:
    by_id: dict[str, dict[str, Any]] = {}
    for item in data.get("messages") or []:
        if isinstance(item, dict) and item.get("messageId"):
            by_id[str(item["messageId"])] = item
    out = []
    for sms in batch:
        item = by_id.get(sms.message_id)
        if item is None:
            out.append(SendOutcome(sms.message_id, Outcome.UNKNOWN,
                                   error_message="missing from Infobip's answer"))
            continue
        state = item.get("status") or {}
        details = item.get("details") or {}
        if state.get("groupName") in _ACCEPTED_GROUPS:
            out.append(SendOutcome(sms.message_id, Outcome.ACCEPTED,
                                   provider_message_id=sms.message_id,
                                   segments=parts(details.get("messageCount"))))
        else:
            out.append(SendOutcome(
                sms.message_id, Outcome.REJECTED, error_code=clip(state.get("id"), 32),
                error_message=clip(f"{state.get('name')}: {state.get('description')}", 300)))
    return out


def verify(request: WebhookRequest, webhook_token: str) -> bool:
    """True when the callback URL carries the list's webhook token (constant time)."""
    return token_matches(query_token(request.query, TOKEN_PARAM), webhook_token)


def parse(request: WebhookRequest) -> WebhookEvents:
    """A batch of delivery reports and/or inbound messages (``{"results": [...]}``).

    Only a body that is not such a batch is refused. An item in it that cannot be read
    (an unmapped status group, a missing field) is left out and logged with the reason:
    refusing the batch would make Infobip retry it forever, and the good reports and
    replies beside it (a STOP among them) would never be stored."""
    data = load_json(request.body)
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise invalid_payload("Infobip webhook without 'results'.")
    return parse_results(results)


def parse_results(results: list[Any]) -> WebhookEvents:
    """The items of a report batch or a logs answer: reports and inbound messages, and
    why any item was left out."""
    receipts: list[Receipt] = []
    inbound: list[InboundSms] = []
    unreadable: list[str] = []
    for i, item in enumerate(results):
        try:
            if not isinstance(item, dict):
                raise invalid_payload(f"Infobip results[{i}] is not an object.")
            if "status" in item:
                receipts.append(_receipt(item, i))
            elif "from" in item:
                inbound.append(_inbound(item, i))
            else:
                raise invalid_payload(f"Infobip results[{i}] is neither a report nor a "
                                      "message.")
        except ValidationError as exc:
            unreadable.append(exc.message)
    return WebhookEvents(receipts=receipts, inbound=inbound,
                         unreadable=left_out(NAME, unreadable, len(results)))


def _receipt(item: Mapping[str, Any], i: int) -> Receipt:
    message_id = item.get("messageId")
    status = item.get("status")
    if not message_id or not isinstance(status, dict):
        raise invalid_payload(f"Infobip results[{i}]: messageId or status missing.")
    state = _STATES.get(str(status.get("groupName")))
    if state is None:
        raise invalid_payload(f"Infobip results[{i}]: unknown status group "
                              f"{clip(status.get('groupName'), 40)!r}.")
    error = item.get("error") if isinstance(item.get("error"), dict) else {}
    code = None
    text = None
    if error and error.get("id") not in (0, None):
        code, text = error.get("id"), f"{error.get('name')}: {error.get('description')}"
    elif state in (DeliveryState.UNDELIVERED, DeliveryState.FAILED):
        code, text = status.get("id"), f"{status.get('name')}: {status.get('description')}"
    ours = clip(message_id, 100)
    return Receipt(provider=NAME, provider_message_id=ours, state=state,
                   message_id=ours, error_code=clip(code, 32),
                   error_message=clip(text, 300),
                   occurred_at=parse_timestamp(item.get("doneAt")),
                   raw_status=clip(status.get("name"), 64),
                   segments=parts(item.get("messageCount")))


def _inbound(item: Mapping[str, Any], i: int) -> InboundSms:
    sender, recipient, message_id = item.get("from"), item.get("to"), item.get("messageId")
    if not sender or not recipient or not message_id:
        raise invalid_payload(f"Infobip results[{i}]: from, to or messageId missing.")
    text = item.get("text")
    return InboundSms(provider=NAME, provider_message_id=str(message_id),
                      from_number=to_e164(str(sender)), to_number=to_e164(str(recipient)),
                      body=text if isinstance(text, str) else "",
                      received_at=parse_timestamp(item.get("receivedAt")))
