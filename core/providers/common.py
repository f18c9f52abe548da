"""What every HTTP adapter shares: which network failures are safe to resend, Retry-After,
timeouts, constant-time secret comparison and webhook input checks."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import hmac
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from core.errors import ValidationError
from core.providers.base import Outcome
from core.text import clean_text

log = logging.getLogger(__name__)

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True, slots=True)
class Timeouts:
    """``connect``: a connection that is not up by then never carried our request, so a
    resend is safe. ``total``: past this the request may have been processed; the outcome
    is unknown and must not be resent blindly."""

    total: float = 10.0
    connect: float = 3.0

    def client_timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.total, sock_connect=self.connect,
                                     connect=self.connect)


def outcome_for_exception(exc: BaseException) -> Outcome:
    """RETRY only when the request provably never reached the provider.

    A refused or unreachable connection (``ClientConnectorError``) or a connect timeout
    happens before a byte of the request is written. Everything after that (read timeout,
    reset, server disconnect, a half-read response) may follow a processed request.
    """
    if isinstance(exc, aiohttp.ConnectionTimeoutError | aiohttp.ClientConnectorError):
        return Outcome.RETRY
    return Outcome.UNKNOWN


NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


def describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def parse_retry_after(value: str | None, *, now: dt.datetime) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP date), capped at an hour."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - now).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def token_matches(presented: str | None, expected: str | None) -> bool:
    """Constant-time comparison of a webhook secret (Infobip, CM: the list's token)."""
    if not presented or not expected:
        return False
    return hmac.compare_digest(presented.encode("utf-8"), expected.encode("utf-8"))


def to_e164(number: str) -> str:
    """``+15551234567`` from what providers send: ``15551234567``, ``0015551234567``."""
    digits = number.strip().replace(" ", "")
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif not digits.startswith("+"):
        digits = "+" + digits
    return digits


def invalid_payload(message: str) -> ValidationError:
    return ValidationError(message, code="invalid_webhook_payload")


def load_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_payload("Webhook body is not valid JSON.") from exc


def left_out(provider: str, reasons: list[str], total: int) -> list[str]:
    """Log the items of a provider's batch that could not be read (the rest is used):
    one line each, with the reason and no phone number. Returns the reasons."""
    for reason in reasons:
        log.warning("%s: left out one of %d item(s) it sent: %s", provider, total, reason)
    return reasons


def parse_timestamp(value: Any) -> dt.datetime | None:
    """ISO 8601 (with or without offset, with ``+0000`` style offsets) to aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    match = re.search(r"([+-]\d{2})(\d{2})$", text)
    if match and not re.search(r"[+-]\d{2}:\d{2}$", text):
        text = text[: match.start()] + f"{match.group(1)}:{match.group(2)}"
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class JsonResponse:
    status: int
    headers: Mapping[str, str]
    data: Any  # parsed JSON, or None when the body was not JSON
    text: str


async def post_json(session: aiohttp.ClientSession, url: str, payload: Any, *,
                    headers: Mapping[str, str], timeouts: Timeouts) -> JsonResponse:
    """POST JSON and read the whole answer. Network errors propagate (classify them with
    :func:`outcome_for_exception`)."""
    async with session.post(url, data=json.dumps(payload, separators=(",", ":")),
                            headers={"Content-Type": "application/json",
                                     "Accept": "application/json", **headers},
                            timeout=timeouts.client_timeout(),
                            allow_redirects=False) as resp:
        text = await resp.text()
    return _json_response(resp, text)


async def get_json(session: aiohttp.ClientSession, url: str, *,
                   params: Mapping[str, str], headers: Mapping[str, str],
                   timeouts: Timeouts) -> JsonResponse:
    """GET and read the whole JSON answer. Network errors propagate."""
    async with session.get(url, params=params,
                           headers={"Accept": "application/json", **headers},
                           timeout=timeouts.client_timeout(),
                           allow_redirects=False) as resp:
        text = await resp.text()
    return _json_response(resp, text)


def _json_response(resp: aiohttp.ClientResponse, text: str) -> JsonResponse:
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    return JsonResponse(resp.status, resp.headers, data, text)


def clip(value: Any, length: int) -> str | None:
    """A provider's string as we can store it: cleaned of what text cannot hold (a NUL
    is a 500 on PostgreSQL) and sized for our columns (error_code 32, ...)."""
    if value is None or value == "":
        return None
    text = clean_text(str(value))
    if not text:
        return None
    return text if len(text) <= length else text[: length - 1] + "…"


MAX_PARTS = 255  # a concatenated SMS has at most 255 parts (an 8-bit UDH counter)


def parts(value: Any) -> int | None:
    """A segment count a provider reports (a number or a numeric string), when it is one
    an SMS can have; anything else is None, never a value our column cannot hold."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 3:
        value = int(value.strip())
    return value if isinstance(value, int) and 0 < value <= MAX_PARTS else None


def query_token(query: Mapping[str, str], name: str = "token") -> str | None:
    value = query.get(name)
    return value if isinstance(value, str) else None
