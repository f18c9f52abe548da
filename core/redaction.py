"""Keeping API keys out of logs, transcripts and public channels.

A Trackly key is ``trk_`` + 32 alphanumerics. Anything shaped like one (20 or more
characters after ``trk_``) is treated as a key; the 8-character visible prefix that
listings show (``trk_AbCdEfGh``) stays readable."""

from __future__ import annotations

import re

API_KEY_PATTERN = re.compile(r"trk_[A-Za-z0-9]{20,}")
REDACTED = "trk_[redacted]"


def contains_api_key(text: str | None) -> bool:
    return bool(text) and API_KEY_PATTERN.search(text) is not None  # type: ignore[arg-type]


def redact_api_keys(text: str) -> str:
    return API_KEY_PATTERN.sub(REDACTED, text)
