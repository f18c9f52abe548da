"""What an inbound SMS means: opt-out, opt-in, help, complaint, or nothing, and why.

Pure, fast and deterministic: the same text always gives the same answer, with the rule
that decided it (stored with the inbound message, so support can answer "why was I
unsubscribed?") and a ``needs_review`` flag for replies not read as an opt-out that still
hold an opt-out word. Designed for intent rather than a word list: normalise (look-alike
letters, invisible characters, held-down letters, digit and space disguises), find the
keyword or phrase, English or Spanish, then read its scope (a negation, our own "Reply
STOP" line quoted back, a reaction, a name, another sense) before deciding. See engine.py.
"""

from __future__ import annotations

from core.compliance.keywords.engine import MAX_TEXT, NOTHING, KeywordMatch, classify
from core.compliance.keywords.intent import InboundIntent

__all__ = ["MAX_TEXT", "NOTHING", "InboundIntent", "KeywordMatch", "classify"]
