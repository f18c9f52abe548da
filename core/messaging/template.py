"""Message templates: ``{{link1}}``, ``{{first_name}}``, ``{{brand_name}}``,
``{{custom.key|default}}``. Parsed strictly when saved, rendered per recipient."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import ValidationError

MAX_BODY = 1600
MAX_LINKS = 10
_TOKEN = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_LINK = re.compile(r"^link([1-9]|10)$")
_CUSTOM_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
FIELDS = ("first_name", "last_name", "brand_name")


@dataclass(frozen=True, slots=True)
class Placeholder:
    raw: str  # the whole ``{{...}}``
    name: str  # link1, first_name, brand_name, custom.zip
    default: str | None

    @property
    def is_link(self) -> bool:
        return bool(_LINK.match(self.name))


def _invalid(message: str, field: str = "body") -> ValidationError:
    return ValidationError(message, code=f"invalid_{field}", field=field)


def parse(body: str, *, field: str = "body") -> list[Placeholder]:
    """Every placeholder in ``body``; raises ValidationError on anything unknown."""
    found: list[Placeholder] = []
    for match in _TOKEN.finditer(body):
        inner = match.group(1)
        name, sep, default = inner.partition("|")
        name = name.strip()
        placeholder = Placeholder(match.group(0), name, default.strip() if sep else None)
        if placeholder.is_link:
            if sep:
                raise _invalid(f"{match.group(0)}: links take no default.", field)
        elif name.startswith("custom."):
            if not _CUSTOM_KEY.match(name[7:]):
                raise _invalid(f"{match.group(0)}: custom field keys are letters, digits "
                               "and underscores.", field)
        elif name not in FIELDS:
            raise _invalid(
                f"Unknown placeholder {match.group(0)}; use {{{{link1}}}}..{{{{link10}}}}, "
                "{{first_name}}, {{last_name}}, {{brand_name}} or {{custom.<key>}}, "
                "with an optional |default.", field)
        found.append(placeholder)
    rest = _TOKEN.sub("", body)
    if "{{" in rest or "}}" in rest:
        raise _invalid("The body has an unclosed {{ or a stray }}.", field)
    return found


def link_keys(body: str) -> list[str]:
    """The distinct ``linkN`` keys in order of first appearance."""
    seen: dict[str, None] = {}
    for placeholder in parse(body):
        if placeholder.is_link:
            seen.setdefault(placeholder.name)
    return list(seen)


def validate_body(body: str, *, field: str = "body") -> str:
    if body is None or not str(body).strip():
        raise ValidationError("A message body is required.", code=f"missing_{field}",
                              field=field)
    if len(body) > MAX_BODY:
        raise _invalid(f"The body is {len(body)} characters; the limit is {MAX_BODY}.",
                       field)
    parse(body, field=field)
    return body


@dataclass(frozen=True, slots=True)
class RecipientFields:
    first_name: str = ""
    last_name: str = ""
    brand_name: str = ""
    custom: Mapping[str, Any] | None = None


def render(body: str, recipient: RecipientFields, links: Mapping[str, str] | None = None,
           *, link_for: Callable[[str], str] | None = None) -> str:
    """Fill placeholders. ``links`` maps ``link1`` to its short URL (or ``link_for``
    makes one on demand). Empty values fall back to the placeholder's default."""

    def value(match: re.Match[str]) -> str:
        inner = match.group(1)
        name, sep, default = inner.partition("|")
        name = name.strip()
        fallback = default.strip() if sep else ""
        if _LINK.match(name):
            if links is not None and name in links:
                return links[name]
            if link_for is not None:
                return link_for(name)
            raise _invalid(f"No link for {{{{{name}}}}}.")
        if name.startswith("custom."):
            raw = (recipient.custom or {}).get(name[7:])
            text = _as_text(raw)
        else:
            text = getattr(recipient, name, "") or ""
        return text if text.strip() else fallback

    return _TOKEN.sub(value, body)


def _as_text(raw: Any) -> str:
    if raw is None:
        return ""
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)
