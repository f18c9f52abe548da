"""How an outbound webhook is signed: the Standard Webhooks way (``webhook-id``,
``webhook-timestamp``, ``webhook-signature``, with the ``standardwebhooks`` package) and,
for simpler receivers, ``X-Trackly-Signature``: the hex HMAC-SHA256 of the raw body, keyed
with the secret exactly as it was shown (UTF-8)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets

from standardwebhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> str:
    """``whsec_`` and 32 random bytes in base64, the form Standard Webhooks libraries
    take as it is."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def headers(secret: str, *, event_id: str, at: dt.datetime, body: str) -> dict[str, str]:
    # standardwebhooks replaces the timestamp's zone with UTC instead of converting to
    # it (its issue 251): a time in any other zone would be signed hours off.
    utc = at.astimezone(dt.UTC)
    return {
        "webhook-id": event_id,
        "webhook-timestamp": str(int(utc.timestamp())),
        "webhook-signature": Webhook(secret).sign(event_id, utc, body),
        "X-Trackly-Signature": hmac.new(secret.encode("utf-8"), body.encode("utf-8"),
                                        hashlib.sha256).hexdigest(),
        "Content-Type": "application/json",
        "User-Agent": "Trackly-Webhooks/1",
    }
