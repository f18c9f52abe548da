"""Keys never reach a log line: discord.py logs whole gateway events at DEBUG, and an
interaction carrying ``/sms link <api_key>`` is one of them."""

from __future__ import annotations

import logging

from core.redaction import contains_api_key, redact_api_keys

REDACTED_LOGGERS = ("", "discord", "bot", "aiohttp", "asyncio")


class RedactApiKeys(logging.Filter):
    """Rewrites a record whose message or traceback contains an API key."""

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


def install_key_redaction(prefixes: tuple[str, ...] = REDACTED_LOGGERS) -> None:
    """Put the filter on every existing logger under ``prefixes`` (a logger's filters only
    see records logged on that very logger, so each one needs it). Idempotent."""
    names = {name for name in logging.root.manager.loggerDict
             if any(p and (name == p or name.startswith(p + ".")) for p in prefixes)}
    loggers = [logging.getLogger(name) for name in sorted(names)]
    if "" in prefixes:
        loggers.append(logging.getLogger())
    for logger in loggers:
        if not any(isinstance(f, RedactApiKeys) for f in logger.filters):
            logger.addFilter(RedactApiKeys())
