"""Blocked content: what no message from Trackly may carry, whoever wrote it.

Carriers filter phishing-shaped traffic and public link shorteners hard; a message that
looks like it is dropped with a reason instead of costing the account its number."""

from __future__ import annotations

import re
import unicodedata

# Public shorteners hide the destination; carriers block them on sight.
SHORTENER_DOMAINS = (
    "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly",
    "rebrand.ly", "cutt.ly", "shorturl.at", "rb.gy", "t.ly", "tiny.cc", "bl.ink", "s.id",
    "v.gd", "x.co", "lnkd.in", "soo.gd", "clck.ru", "shorte.st", "adf.ly",
)
# Phrases that mark phishing, bank impersonation and crypto scams.
BLOCKED_PHRASES = (
    "verify your account", "account has been suspended", "account will be suspended",
    "confirm your identity", "unusual activity", "your card has been locked",
    "update your billing", "social security number", "wire transfer", "gift card code",
    "bank of america", "wells fargo", "chase bank", "citibank", "capital one", "paypal",
    "irs refund", "tax refund", "double your bitcoin", "crypto giveaway", "bitcoin giveaway",
    "send btc", "guaranteed returns", "seed phrase", "recovery phrase", "wallet validation",
)
_SHORTENER = re.compile(
    r"(?<![\w.-])(?:https?://)?(?:www\.)?(" + "|".join(re.escape(d) for d in SHORTENER_DOMAINS)
    + r")(?=/|\b)", re.IGNORECASE)


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.split())


def blocked_reason(text: str) -> str | None:
    """Why ``text`` may not be sent, or None."""
    match = _SHORTENER.search(text)
    if match:
        return f"public link shortener {match.group(1).lower()}"
    normal = _normalise(text)
    for phrase in BLOCKED_PHRASES:
        if phrase in normal:
            return f"blocked phrase '{phrase}'"
    return None
