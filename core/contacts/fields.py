"""Validating what is stored on a subscription: custom fields, dates, consent evidence.

Pure. Each validator returns the clean value or raises ``ValidationError`` with the code
API.md names; the CSV reader uses the same rules row by row.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from core.contacts.models import LineType
from core.errors import ValidationError

CUSTOM_KEY = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
MAX_CUSTOM_FIELDS = 100
MAX_CUSTOM_VALUE = 1000
CustomValue = str | int | float | bool
MAX_SAFE_INTEGER = 2**53 - 1  # what JSON readers (JavaScript) keep exactly

# Dates as PRODUCT.md lists them: YYYY-MM-DD, MM/DD/YYYY, MM-DD-YYYY, ISO 8601.
_YMD = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_MDY = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# A date without a time is "that day somewhere": it is only in the future once that
# day has begun nowhere on Earth yet (UTC+14).
_EARLIEST_ZONE = dt.timedelta(hours=14)
DATE_FORMATS = "YYYY-MM-DD, MM/DD/YYYY, MM-DD-YYYY or ISO 8601"

LINE_TYPE_ALIASES = {
    "cell": LineType.CELL, "mobile": LineType.CELL, "wireless": LineType.CELL,
    "cellular": LineType.CELL, "landline": LineType.LANDLINE, "fixed": LineType.LANDLINE,
    "fixed line": LineType.LANDLINE, "fixedline": LineType.LANDLINE,
    "fixed_line": LineType.LANDLINE, "wireline": LineType.LANDLINE,
    "land line": LineType.LANDLINE, "voip": LineType.VOIP, "unknown": LineType.UNKNOWN,
}


class FieldError(ValueError):
    """A bad value; ``code`` is the snake_case error code."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def parse_date(text: str, *, now: dt.datetime, what: str = "consent date") -> dt.datetime:
    """A past or present date/time as aware UTC. Naive times are read as UTC."""
    value = text.strip()
    parsed: dt.datetime | None = None
    date_only = False
    try:
        if m := _YMD.match(value):
            parsed = dt.datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=dt.UTC)
            date_only = True
        elif m := _MDY.match(value):
            parsed = dt.datetime(int(m[3]), int(m[1]), int(m[2]), tzinfo=dt.UTC)
            date_only = True
        elif len(value) >= 10 and value[4] == "-":
            parsed = dt.datetime.fromisoformat(value.replace("z", "Z"))
            parsed = (parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None
                      else parsed.astimezone(dt.UTC))
    except ValueError:
        parsed = None
    if parsed is None or parsed.year < 1970:
        raise FieldError("invalid_date",
                         f"The {what} {value[:40]!r} is not a date ({DATE_FORMATS}).")
    limit = now + _EARLIEST_ZONE if date_only else now + dt.timedelta(minutes=5)
    if parsed > limit:
        raise FieldError("future_date", f"The {what} {value[:40]} is in the future.")
    return parsed


def clean_custom_fields(values: Any, *, field: str = "custom_fields"
                        ) -> dict[str, CustomValue | None]:
    """Keys like identifiers (``{{custom.key}}`` in messages); values a string, number or
    boolean. ``None`` is kept: on a merge it removes the key."""
    if not isinstance(values, Mapping):
        raise ValidationError("custom_fields must be an object of key: value pairs.",
                              code="invalid_custom_fields", field=field)
    if len(values) > MAX_CUSTOM_FIELDS:
        raise ValidationError(f"At most {MAX_CUSTOM_FIELDS} custom fields are allowed.",
                              code="invalid_custom_fields", field=field)
    clean: dict[str, CustomValue | None] = {}
    for key, value in values.items():
        if not isinstance(key, str) or not CUSTOM_KEY.match(key):
            raise ValidationError(
                f"Custom field name {str(key)[:40]!r} is not allowed: use lower-case "
                "letters, digits and _ (up to 64), not starting with a digit.",
                code="invalid_custom_fields", field=field)
        clean[key] = _clean_value(key, value, field)
    return clean


def _clean_value(key: str, value: Any, field: str) -> CustomValue | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise ValidationError(
                f"Custom field {key!r} is too large a whole number (at most "
                f"{MAX_SAFE_INTEGER:,} either way); send it as a string.",
                code="invalid_custom_fields", field=field)
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"Custom field {key!r} is not a finite number.",
                                  code="invalid_custom_fields", field=field)
        return value
    if isinstance(value, str):
        if len(value) > MAX_CUSTOM_VALUE:
            raise ValidationError(
                f"Custom field {key!r} is longer than {MAX_CUSTOM_VALUE} characters.",
                code="invalid_custom_fields", field=field)
        return value
    raise ValidationError(
        f"Custom field {key!r} must be a string, number or boolean, not "
        f"{type(value).__name__}.", code="invalid_custom_fields", field=field)


def merge_custom_fields(current: Mapping[str, Any], changes: Mapping[str, Any], *,
                        replace: bool = False) -> dict[str, Any]:
    """Merge (default) or replace; a ``None`` value removes the key either way."""
    merged = {} if replace else dict(current)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def custom_key_for(header: str) -> str | None:
    """A CSV column name as a custom field key ("Favourite Colour" -> favourite_colour)."""
    key = re.sub(r"[^a-z0-9]+", "_", header.strip().lower()).strip("_")[:64]
    if not key:
        return None
    if key[0].isdigit():
        key = f"_{key}"[:64]
    return key if CUSTOM_KEY.match(key) else None


def clean_ip(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ValidationError(f"{str(value)[:60]!r} is not an IP address.",
                              code="invalid_ip_address", field="ip_address") from None


def clean_url(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 2048:
        raise ValidationError("url must be an http(s) address of at most 2048 characters.",
                              code="invalid_url", field="url")
    return text


def clean_short_text(value: str | None, *, field: str, max_length: int) -> str | None:
    """A short single-line text (names and the like), None when absent."""
    if value is None:
        return None
    text = " ".join(str(value).split())
    if len(text) > max_length:
        raise FieldError(f"invalid_{field}",
                         f"{field} is longer than {max_length} characters.")
    return text


def clean_contact_email(value: str | None) -> str | None:
    if value is None:
        return None
    email = value.strip().lower()
    if not email:
        return ""
    if len(email) > 254 or not _EMAIL.match(email):
        raise FieldError("invalid_email", f"{value.strip()[:60]!r} is not an email address.")
    return email


def parse_line_type(value: str) -> LineType | None:
    text = value.strip().lower()
    if not text:
        return None
    found = LINE_TYPE_ALIASES.get(text)
    if found is None:
        raise FieldError("invalid_line_type",
                         f"Line type {value.strip()[:30]!r} is not cell, voip or landline.")
    return found
