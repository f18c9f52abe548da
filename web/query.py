"""Reading query-string values: text through core.text's rule, times as ISO 8601."""

from __future__ import annotations

import datetime as dt

from aiohttp import web

from core.errors import ValidationError
from core.text import check_text


def query_text(request: web.Request, *names: str, max_length: int = 200) -> str | None:
    """The first of ``names`` present and not blank, checked as text; None if none."""
    for name in names:
        raw = request.query.get(name)
        if raw is not None and raw.strip():
            value = check_text(raw.strip(), field=name)
            if len(value) > max_length:
                raise ValidationError(f"{name} is longer than {max_length} characters.",
                                      code=f"invalid_{name}", field=name)
            return value
    return None


def parse_time(raw: str, name: str) -> dt.datetime:
    """ISO 8601, in UTC; a time without an offset is read as UTC."""
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        # 0001-01-01T00:00+01:00 has no UTC time (OverflowError).
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ValidationError(f"{name} must be an ISO 8601 time, e.g. 2026-03-01T00:00:00Z.",
                              code=f"invalid_{name}", field=name) from None


def query_time(request: web.Request, name: str) -> dt.datetime | None:
    raw = query_text(request, name, max_length=64)
    return parse_time(raw, name) if raw is not None else None
