"""Offer tracking-URL macros: validated when an offer is saved, filled at click time."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

from core.errors import ValidationError

MACROS = frozenset(
    {"click_id", "message_id", "contact_id", "offer_id", "sub1", "sub2", "sub3", "sub4", "sub5"}
)
_MACRO = re.compile(r"\{([^{}]*)\}")


def validate_tracking_url(url: str, *, field: str = "tracking_url") -> str:
    url = (url or "").strip()
    if not url:
        raise ValidationError("A tracking URL is required.", code=f"missing_{field}",
                              field=field)
    if len(url) > 2048:
        raise ValidationError("The tracking URL is longer than 2048 characters.",
                              code=f"invalid_{field}", field=field)
    parts = urlsplit(_MACRO.sub("x", url))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValidationError("The tracking URL must be an http(s) URL with a host.",
                              code=f"invalid_{field}", field=field)
    unknown = sorted({m for m in _MACRO.findall(url) if m not in MACROS})
    if unknown:
        raise ValidationError(
            f"Unknown macro(s) {', '.join('{' + m + '}' for m in unknown)}; known: "
            + ", ".join("{" + m + "}" for m in sorted(MACROS)),
            code=f"invalid_{field}", field=field)
    return url


def fill(url: str, values: Mapping[str, object]) -> str:
    """Replace known macros with URL-escaped values; unknown or missing ones become ''."""

    def sub(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in MACROS:
            return match.group(0)
        value = values.get(name)
        return quote(str(value), safe="") if value is not None else ""

    return _MACRO.sub(sub, url)
