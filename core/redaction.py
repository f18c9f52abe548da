"""Keeping API keys out of logs, transcripts and public channels.

A Trackly key is ``trk_`` + 32 alphanumerics. Anything shaped like one (20 or more
characters after ``trk_``) is treated as a key; the 8-character visible prefix that
listings show (``trk_AbCdEfGh``) stays readable."""

from __future__ import annotations

import logging
import re

API_KEY_PATTERN = re.compile(r"trk_[A-Za-z0-9]{20,}")
REDACTED = "trk_[redacted]"


def contains_api_key(text: str | None) -> bool:
    return bool(text) and API_KEY_PATTERN.search(text) is not None  # type: ignore[arg-type]


def redact_api_keys(text: str) -> str:
    return API_KEY_PATTERN.sub(REDACTED, text)


class RedactApiKeys(logging.Filter):
    """Rewrites a log record whose message or traceback contains an API key.

    On a handler it covers every logger that reaches the handler; on a logger only that
    logger's own records (Python runs a logger's filters for its own records alone)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the handler's problem, not ours
            return True
        if contains_api_key(message):
            record.msg, record.args = redact_api_keys(message), None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            if contains_api_key(text):
                record.exc_text = redact_api_keys(text)
        return True
