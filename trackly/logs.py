"""Log formatting for ``TRACKLY_LOG_FORMAT=json``."""

from __future__ import annotations

from typing import Any

from pythonjsonlogger.json import JsonFormatter

from core.redaction import redact_api_keys


class RedactingJsonFormatter(JsonFormatter):
    """JSON lines; a traceback is formatted afresh here (the record's cached text, which
    RedactApiKeys rewrites, is not used), so it is redacted here too."""

    def formatException(self, ei: Any) -> str:
        return redact_api_keys(str(super().formatException(ei)))
