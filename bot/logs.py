"""Keys never reach a log line: discord.py logs whole gateway events at DEBUG, and an
interaction carrying ``/sms link <api_key>`` is one of them.

Two nets: anything shaped like a Trackly key is redacted wherever it appears (core's
filter), and the value of a slash-command option named in SECRET_OPTIONS is hidden whatever
the user typed (a mistyped key is still most of a key). A command with a new secret option
adds its name here."""

from __future__ import annotations

import logging
from typing import Any

from core.redaction import RedactApiKeys

REDACTED_LOGGERS = ("", "discord", "bot", "aiohttp", "asyncio")
SECRET_OPTIONS = frozenset({"api_key"})
HIDDEN = "[redacted]"


def scrub_options(value: Any) -> Any:
    """A copy of a gateway payload with the values of secret options hidden."""
    if isinstance(value, dict):
        if value.get("name") in SECRET_OPTIONS and "value" in value:
            return {**value, "value": HIDDEN}
        return {k: scrub_options(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_options(v) for v in value]
    return value


class RedactSecrets(RedactApiKeys):
    """Core's key redaction, plus secret slash-command options in gateway payloads."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            try:
                message = record.getMessage()
            except Exception:
                return True
            if any(name in message for name in SECRET_OPTIONS):
                # discord.py passes the event dict itself as an argument: copy, never mutate.
                # (A lone dict argument is stored as the mapping itself, not in a tuple.)
                record.args = scrub_options(record.args) if isinstance(record.args, dict) \
                    else tuple(scrub_options(a) for a in record.args)
                record.msg, record.args = record.getMessage(), None
        return super().filter(record)


def install_key_redaction(prefixes: tuple[str, ...] = REDACTED_LOGGERS) -> None:
    """Put the filter on every existing logger under ``prefixes`` (each logger needs its
    own: a logger's filters see only records logged on it) and on the root. Idempotent."""
    names = {name for name in logging.root.manager.loggerDict
             if any(p and (name == p or name.startswith(p + ".")) for p in prefixes)}
    loggers = [logging.getLogger(name) for name in sorted(names)]
    if "" in prefixes:
        loggers.append(logging.getLogger())
    for logger in loggers:
        if not any(isinstance(f, RedactSecrets) for f in logger.filters):
            logger.addFilter(RedactSecrets())
