"""Blocked content (PRODUCT.md section 3): phishing words, bank names, crypto scams and
public link shorteners, wherever they sit in a message."""

from __future__ import annotations

import pytest

from core.messaging.content import blocked_reason


@pytest.mark.parametrize("text", [
    "Verify your Chase account now",
    "Your CHASE card has been locked: call us",
    "Chase: unusual sign in on your account",
    "Log in to Chase online banking today",
    "Wells Fargo: confirm your details",
    "Bank of America customer? Claim your bonus",
    "Your Citi card is on hold",
    "Discover card alert: verify a payment",
    "Capital One: update now",
    "verify your bank account to continue",
    "Please confirm your Wells   Fargo account",
    "Claim at bit.ly/x",
    "Go to https://tinyurl.com/abc",
    "Double your bitcoin today",
    "Ｃｈａｓｅ account locked",  # full-width letters read as Chase
    "Claim at ｂｉｔ.ｌｙ/x",
])
def test_blocked(text):
    assert blocked_reason(text) is not None, text


@pytest.mark.parametrize("text", [
    "Chase your dreams: 20% off solar this week",
    "Discover our spring deals",
    "Don't chase deals, we bring them to you",
    "Your solar quote is ready: https://deals.example/q",
    "Acme: your order shipped. Reply STOP to opt out.",
    "Rally your team for game night",
    "Come see us bank holiday weekend",
    "Open your account at Acme Solar today",
    "Check out bitly-style links? No: https://acme.example/abc",
])
def test_not_blocked(text):
    assert blocked_reason(text) is None, (text, blocked_reason(text))


def test_the_reason_names_what_was_found():
    assert "chase" in (blocked_reason("Verify your Chase account now") or "").lower()
    assert blocked_reason("Claim at bit.ly/x") == "public link shortener bit.ly"
