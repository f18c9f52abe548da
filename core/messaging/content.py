"""Blocked content: what no message from Trackly may carry, whoever wrote it.

Carriers filter phishing-shaped traffic and public link shorteners hard; a message that
looks like it is dropped with a reason instead of costing the account its number."""

from __future__ import annotations

import re
import unicodedata

from core.messaging.template import RecipientFields, render

# Public shorteners hide the destination; carriers block them on sight.
SHORTENER_DOMAINS = (
    "bit.ly", "bitly.com", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly",
    "rebrand.ly", "cutt.ly", "shorturl.at", "rb.gy", "t.ly", "tiny.cc", "bl.ink", "s.id",
    "v.gd", "x.co", "lnkd.in", "soo.gd", "clck.ru", "shorte.st", "adf.ly",
)
# Phrases that mark phishing and crypto scams.
BLOCKED_PHRASES = (
    "account has been suspended", "account will be suspended", "confirm your identity",
    "unusual activity", "your card has been locked", "update your billing",
    "social security number", "wire transfer", "gift card code", "irs refund", "tax refund",
    "double your bitcoin", "crypto giveaway", "bitcoin giveaway", "send btc",
    "guaranteed returns", "seed phrase", "recovery phrase", "wallet validation",
)
# "Verify your account" with anything short in between: "verify your Chase account".
_VERIFY_ACCOUNT = re.compile(
    r"\b(?:verify|confirm|unlock|reactivate)\s+your\s+(?:[\w'-]+\s+){0,2}?"
    r"(?:account|card|login|password)\b")
# Bank and payment names no marketing text needs: impersonating them is the phishing
# carriers filter hardest.
BANK_NAMES = (
    "bank of america", "wells fargo", "jpmorgan", "jp morgan", "chase bank", "citibank",
    "capital one", "u.s. bank", "pnc bank", "td bank", "truist", "navy federal",
    "usaa", "american express", "barclays", "hsbc", "santander", "fifth third", "paypal",
)
# Bank names that are ordinary words too ("chase your dreams", "discover our deals"):
# blocked beside a banking word ("your Chase account", "Citi card on hold").
AMBIGUOUS_BANK_NAMES = ("chase", "citi", "discover", "ally", "regions")
BANKING_WORDS = (
    "account", "accounts", "card", "cards", "bank", "banking", "login", "log in", "sign in",
    "sign-in", "online", "debit", "credit", "payment", "statement", "verify", "locked",
    "suspended", "fraud", "security",
)
_SHORTENER = re.compile(
    r"(?<![\w.-])(?:https?://)?(?:www\.)?(" + "|".join(re.escape(d) for d in SHORTENER_DOMAINS)
    + r")(?=/|\b)", re.IGNORECASE)
_BANK = re.compile(r"\b(" + "|".join(re.escape(b) for b in BANK_NAMES) + r")\b")
_NEAR = r"(?:\W+[\w'-]+){0,2}?\W+"  # up to two words apart
_AMBIGUOUS = "|".join(AMBIGUOUS_BANK_NAMES)
_BANKING = "|".join(re.escape(w) for w in BANKING_WORDS)
_AMBIGUOUS_BANK = re.compile(
    rf"\b(?:({_AMBIGUOUS}){_NEAR}(?:{_BANKING})|(?:{_BANKING}){_NEAR}({_AMBIGUOUS}))\b")


def template_blocked_reason(body: str) -> str | None:
    """Why a template (a creative's body) could never be sent, or None: its own text
    with placeholders at their defaults (links left out; they are our short links)."""
    return blocked_reason(render(body, RecipientFields(), link_for=lambda _: ""))


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.split())


def blocked_reason(text: str) -> str | None:
    """Why ``text`` may not be sent, or None."""
    normal = _normalise(text)  # full-width and other look-alike letters read as ASCII
    match = _SHORTENER.search(normal)
    if match:
        return f"public link shortener {match.group(1)}"
    for phrase in BLOCKED_PHRASES:
        if phrase in normal:
            return f"blocked phrase '{phrase}'"
    if found := _VERIFY_ACCOUNT.search(normal):
        return f"blocked phrase '{found.group()}'"
    if found := _BANK.search(normal):
        return f"bank name '{found.group(1)}'"
    if found := _AMBIGUOUS_BANK.search(normal):
        return f"bank name '{found.group(1) or found.group(2)}'"
    return None
