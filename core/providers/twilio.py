"""Twilio through the official SDK and its async HTTP client.

Two things the SDK does by default that a never-twice sender cannot accept are turned
off: its retry layer (``max_retries``: aiohttp-retry re-POSTs on 5xx, which can send a
message twice) and request logging (it logs phone numbers at INFO). Our HTTP client is
the SDK's ``AsyncTwilioHttpClient`` with the shared session, explicit timeouts and the
response kept per task, so a 429's Retry-After reaches the executor.

Our message id rides in the StatusCallback URL, so a receipt that arrives after a crash
or a timeout still finds its row.

A message whose send outcome we never learned is looked up: by its sid when the send got
that far, otherwise among the Messages from our number to the recipient (Twilio keeps
no id of ours), where exactly one created since we queued it with our body is it, and
none at all means Twilio never took it.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import datetime as dt
import hashlib
import hmac
import logging
from collections.abc import Mapping, Sequence
from urllib.parse import parse_qsl, urlencode, urlparse, urlsplit, urlunsplit

import aiohttp
from twilio.base import values
from twilio.base.exceptions import (
    TwilioException,
    TwilioRestException,
    TwilioServiceException,
)
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import (
    HMAC_SHA1,
    HMAC_SHA256,
    SIGNATURE_HEADER,
    SIGNATURE_SETTINGS_HEADER,
    add_port,
    get_signature_algorithm,
    remove_port,
)
from twilio.rest import Client

from core.clock import Clock, SystemClock
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
    outcome_for_exception,
    parse_retry_after,
    parts,
)

log = logging.getLogger(__name__)

NAME = "twilio"
DEFAULT_BASE_URL = "https://api.twilio.com"
MESSAGE_ID_PARAM = "message_id"  # our id in the StatusCallback query string
RATE_LIMITED_CODE = 20429
# 4xx answers that say "not now" rather than "never": nothing was queued, resend later.
# 21611: the From number's queue is full; 14107: the account's send rate was exceeded.
RETRY_CODES = frozenset({RATE_LIMITED_CODE, 21611, 14107})

_STATES: dict[str, DeliveryState] = {
    "sent": DeliveryState.SENT,
    "delivered": DeliveryState.DELIVERED,
    "read": DeliveryState.DELIVERED,
    "undelivered": DeliveryState.UNDELIVERED,
    "failed": DeliveryState.FAILED,
    "canceled": DeliveryState.FAILED,
}
# Progress Twilio reports before the carrier has it; no state change for us.
# Twilio's Advanced Opt-Out answers these itself (and blocks the number after an opt-out,
# so a reply of ours would fail with 21610): exact keywords, any case.
SELF_ANSWERED_KEYWORDS = frozenset({
    "STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT",
    "OPT OUT", "REVOKE", "START", "YES", "UNSTOP", "HELP", "INFO",
})

_IGNORED = frozenset({"queued", "accepted", "scheduled", "sending", "partially_delivered"})
# A Message resource in one of these has left us: Twilio holds it and will send it.
_HELD = frozenset({"queued", "accepted", "scheduled", "sending"})
LOOKUP_PAGE = 20  # Messages read per recipient when the sid is unknown
CLOCK_SKEW = dt.timedelta(minutes=1)  # between our queued_at and Twilio's date_created

_last_response: contextvars.ContextVar[Response | None] = contextvars.ContextVar(
    "twilio_last_response", default=None
)


class SdkHttpClient(AsyncTwilioHttpClient):
    """The SDK's async client on a shared aiohttp session, without retries or logging."""

    def __init__(self, session: aiohttp.ClientSession, timeouts: Timeouts) -> None:
        super().__init__(pool_connections=False, timeout=timeouts.total, max_retries=None)
        self.session = session
        self._client_timeout = timeouts.client_timeout()

    async def request(self, method: str, url: str, params: dict[str, object] | None = None,
                      data: dict[str, object] | None = None,
                      headers: dict[str, str] | None = None,
                      auth: tuple[str, str] | None = None,
                      timeout: float | None = None,  # noqa: ASYNC109 (the SDK's signature)
                      allow_redirects: bool = False) -> Response:
        headers = dict(headers or {})
        if auth is not None:
            # aiohttp deprecates its auth= argument; the header is the same bytes.
            headers["Authorization"] = aiohttp.encode_basic_auth(auth[0], auth[1])
        async with self.session.request(
            method.upper(), url, params=params, data=data,  # type: ignore[arg-type]
            headers=headers,
            timeout=self._client_timeout, allow_redirects=allow_redirects,
        ) as raw:
            text = await raw.text()
        response = Response(raw.status, text, raw.headers)
        _last_response.set(response)  # per task: concurrent sends never see each other's
        return response

    async def close(self) -> None:
        """The session is shared and closed by its owner (the registry)."""


class TwilioProvider:
    """One Twilio account (one sending list's credentials)."""

    name = NAME

    def __init__(self, *, account_sid: str, auth_token: str, session: aiohttp.ClientSession,
                 base_url: str = DEFAULT_BASE_URL, timeouts: Timeouts | None = None,
                 concurrency: int = 50, clock: Clock | None = None) -> None:
        self._http = SdkHttpClient(session, timeouts or Timeouts())
        # A non-empty environment keeps TWILIO_EDGE / TWILIO_REGION in os.environ from
        # rewriting the host we were told to use.
        client = Client(account_sid, auth_token, http_client=self._http,
                        environment={"TRACKLY": "1"})
        client.api.base_url = base_url.rstrip("/")  # the SDK's domain, pointed elsewhere
        self._messages = client.api.v2010.accounts(account_sid).messages
        self._limit = asyncio.Semaphore(concurrency)
        self._clock = clock or SystemClock()

    async def send(self, batch: Sequence[OutboundSms]) -> list[SendOutcome]:
        return list(await asyncio.gather(*(self._send_one(sms) for sms in batch)))

    async def close(self) -> None:
        await self._http.close()

    async def lookup(self, messages: Sequence[SentSms]) -> Lookup:
        answers = await asyncio.gather(*(self._lookup_one(sms) for sms in messages))
        return {sms.message_id: found for sms, (known, found)
                in zip(messages, answers, strict=True) if known}

    async def _lookup_one(self, sms: SentSms) -> tuple[bool, Receipt | None]:
        """(could tell, what Twilio has). Errors and ambiguity cannot tell."""
        async with self._limit:
            try:
                if sms.provider_message_id:
                    try:
                        found = await self._messages(sms.provider_message_id).fetch_async()
                    except TwilioRestException as exc:
                        if int(exc.status) == 404:
                            return True, None
                        raise
                    receipt = _as_receipt(sms, found)
                    return receipt is not None, receipt
                page = await self._messages.page_async(to=sms.to, from_=sms.from_,
                                                       page_size=LOOKUP_PAGE)
                listed = list(page)
            except (TwilioException, *NETWORK_ERRORS, ValueError) as exc:
                log.warning("twilio lookup of %s: %s", sms.message_id, describe(exc))
                return False, None
        since = sms.queued_at - CLOCK_SKEW
        recent = [m for m in listed if m.date_created is None or m.date_created >= since]
        if len(listed) == LOOKUP_PAGE and len(recent) == len(listed):
            return False, None  # more than a page since then: the list is not complete
        if not recent:
            return True, None  # nothing from us to them since we queued it
        ours = [m for m in recent if m.body == sms.body]
        if len(ours) != 1:
            return False, None  # Twilio changed the body, or two look alike
        receipt = _as_receipt(sms, ours[0])
        return receipt is not None, receipt

    async def _send_one(self, sms: OutboundSms) -> SendOutcome:
        async with self._limit:
            _last_response.set(None)
            callback = (status_callback_url(sms.callback_url, sms.message_id)
                        if sms.callback_url else None)
            try:
                created = await self._messages.create_async(
                    to=sms.to, from_=sms.from_, body=sms.body,
                    status_callback=callback if callback else values.unset)
            except (TwilioRestException, TwilioServiceException) as exc:
                return self._from_error(sms, exc)
            except NETWORK_ERRORS as exc:
                outcome = outcome_for_exception(exc)
                log.warning("twilio send %s: %s -> %s", sms.message_id, describe(exc), outcome)
                return SendOutcome(sms.message_id, outcome, error_message=describe(exc))
            except ValueError as exc:  # a 2xx whose body is not JSON: it may have been sent
                return SendOutcome(sms.message_id, Outcome.UNKNOWN, error_message=describe(exc))
        if not created.sid:
            return SendOutcome(sms.message_id, Outcome.UNKNOWN,
                               error_message="Twilio answered without a message sid")
        return SendOutcome(sms.message_id, Outcome.ACCEPTED, provider_message_id=created.sid,
                           segments=parts(created.num_segments))

    def _from_error(self, sms: OutboundSms,
                    exc: TwilioRestException | TwilioServiceException) -> SendOutcome:
        status = int(exc.status)
        code = exc.code
        message = getattr(exc, "msg", None) or getattr(exc, "detail", None) or str(status)
        message = clip(str(message).removeprefix("Unable to create record: "), 300)
        if status == 429 or (status < 500 and code in RETRY_CODES):
            response = _last_response.get()
            headers: Mapping[str, str] = response.headers if response is not None else {}
            retry_after = parse_retry_after(headers.get("Retry-After"), now=self._clock.now())
            return SendOutcome(sms.message_id, Outcome.RETRY, error_code=str(code or status),
                               error_message=message, retry_after=retry_after)
        if status >= 500:
            # Twilio may have queued it before failing: never resend blindly.
            return SendOutcome(sms.message_id, Outcome.UNKNOWN, error_code=str(code or status),
                               error_message=message)
        return SendOutcome(sms.message_id, Outcome.REJECTED, error_code=str(code or status),
                           error_message=message)


def _as_receipt(sms: SentSms, found: object) -> Receipt | None:
    """A Message resource as a receipt for our message (None: not one we can use)."""
    status = str(getattr(found, "status", "") or "").lower()
    state = DeliveryState.SENT if status in _HELD else _STATES.get(status)
    sid = clip(getattr(found, "sid", None), 100)
    if state is None or sid is None:
        return None
    code = getattr(found, "error_code", None)
    when = (getattr(found, "date_updated", None) or getattr(found, "date_sent", None)
            or getattr(found, "date_created", None))
    return Receipt(provider=NAME, provider_message_id=sid, state=state,
                   message_id=sms.message_id,
                   error_code=clip(code, 32) if code else None,
                   error_message=clip(getattr(found, "error_message", None), 300),
                   occurred_at=when if isinstance(when, dt.datetime) else None,
                   raw_status=clip(status, 64),
                   segments=parts(getattr(found, "num_segments", None)))


def answers_itself(body: str) -> bool:
    """Did Twilio already reply to this inbound text with its own confirmation?"""
    return " ".join(body.upper().split()).strip(".!") in SELF_ANSWERED_KEYWORDS


def status_callback_url(callback_url: str, message_id: str) -> str:
    """``callback_url`` with ``message_id=<our id>`` added to its query string."""
    parts = urlsplit(callback_url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k != MESSAGE_ID_PARAM]
    query.append((MESSAGE_ID_PARAM, message_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def verify(request: WebhookRequest, auth_token: str) -> bool:
    """True when X-Twilio-Signature matches the SDK's scheme for this URL and form.

    ``request.url`` must be the public URL Twilio called, exactly (scheme, host, path,
    query); as the SDK's validator, it is tried with and without the default port. The
    SDK computes both HMACs every time (and, given a plain dict, raises and catches two
    AttributeErrors a parameter): here the URL as called is tried first, and the other
    form only when that fails, so a genuine callback costs one HMAC.
    """
    signature = _header(request.headers, SIGNATURE_HEADER)
    if not signature or not auth_token:
        return False
    algorithm = get_signature_algorithm(_header(request.headers, SIGNATURE_SETTINGS_HEADER))
    digest = _HASHES.get(algorithm.upper())
    if digest is None:
        log.warning("unsupported Twilio webhook signature algorithm %r", algorithm)
        return False
    form = request.form
    signed = "".join(k + form[k] for k in sorted(form))
    key = auth_token.encode("utf-8")
    parsed = urlparse(request.url)
    given = signature.encode("utf-8")
    for uri in dict.fromkeys((request.url, remove_port(parsed), add_port(parsed))):
        mac = hmac.new(key, (uri + signed).encode("utf-8"), digest)
        if hmac.compare_digest(base64.b64encode(mac.digest()), given):
            return True
    return False


_HASHES = {HMAC_SHA1: hashlib.sha1, HMAC_SHA256: hashlib.sha256}


def parse(request: WebhookRequest) -> WebhookEvents:
    """A status callback or an inbound message, normalised. Raises ValidationError
    (``invalid_webhook_payload``) when the form is not one Twilio sends."""
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsSid")
    if not sid:
        raise invalid_payload("Twilio webhook without MessageSid.")
    status = _status(form)
    if _is_inbound(form):
        return WebhookEvents(inbound=[_inbound(form, sid)])
    if status in _IGNORED:
        return WebhookEvents()
    state = _STATES.get(status)
    if state is None:
        # A status word we do not know is no reason to make Twilio retry a signed
        # callback: nothing changes, and the log says what came.
        return WebhookEvents(unreadable=left_out(
            NAME, [f"unknown MessageStatus {clip(status, 40)!r}"], 1))
    # Sized for our columns, cleaned of what text cannot hold: an oversized or odd
    # value must not turn the receipt into a 500 (and Twilio's retries into a loss).
    receipt = Receipt(
        provider=NAME, provider_message_id=clip(sid, 100), state=state,
        message_id=clip(request.query.get(MESSAGE_ID_PARAM), 100),
        error_code=clip(form.get("ErrorCode"), 32),
        error_message=clip(form.get("ErrorMessage"), 300),
        raw_status=clip(status, 64),
    )
    return WebhookEvents(receipts=[receipt])


def our_number(form: Mapping[str, str]) -> str:
    """The number of ours a request is about, whose list's auth token must sign it: To
    on an inbound message, From on a status callback."""
    return form.get("To" if _is_inbound(form) else "From") or ""


def _status(form: Mapping[str, str]) -> str:
    return (form.get("MessageStatus") or form.get("SmsStatus") or "").lower()


def _is_inbound(form: Mapping[str, str]) -> bool:
    status = _status(form)
    return status == "received" or (not status and "Body" in form)


def _inbound(form: Mapping[str, str], sid: str) -> InboundSms:
    sender, recipient = form.get("From"), form.get("To")
    if not sender or not recipient:
        raise invalid_payload("Twilio inbound message without From or To.")
    return InboundSms(provider=NAME, provider_message_id=sid, from_number=sender,
                      to_number=recipient, body=form.get("Body", ""))


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value
