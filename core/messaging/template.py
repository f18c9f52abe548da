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


# A compiled template's pieces: literal text, or (kind, name, fallback) for a placeholder,
# kind being "link", "custom", "field" (first_name, last_name, brand_name) or "none".
_Piece = str | tuple[str, str, str]
_NO_LINKS: Mapping[str, str] = {}


@dataclass(frozen=True, slots=True)
class Compiled:
    """A template parsed once, for rendering it to many recipients: ``render`` gives what
    :func:`render` gives, without a regular expression and a closure per recipient (a
    100,000-recipient launch spent most of its Python time there)."""

    pieces: tuple[_Piece, ...]
    # The placeholders that are not links: what varies between recipients besides their
    # short links.
    fields: tuple[tuple[str, str, str], ...]

    @classmethod
    def of(cls, pieces: tuple[_Piece, ...]) -> Compiled:
        return cls(pieces, tuple(p for p in pieces if isinstance(p, tuple) and p[0] != "link"))

    def __add__(self, other: Compiled) -> Compiled:
        return Compiled.of(self.pieces + other.pieces)

    def render(self, recipient: RecipientFields, links: Mapping[str, str]) -> str:
        value = self._value
        return "".join(piece if isinstance(piece, str) else value(piece, recipient, links)
                       for piece in self.pieces)

    def values(self, recipient: RecipientFields) -> tuple[str, ...]:
        """The recipient's value of each non-link placeholder, in order."""
        value = self._value
        return tuple(value(p, recipient, _NO_LINKS) for p in self.fields)

    @staticmethod
    def _value(piece: tuple[str, str, str], recipient: RecipientFields,
               links: Mapping[str, str]) -> str:
        kind, name, fallback = piece
        if kind == "link":
            if name in links:
                return links[name]
            raise _invalid(f"No link for {{{{{name}}}}}.")
        if kind == "custom":
            text = _as_text((recipient.custom or {}).get(name))
        elif kind == "field":
            text = getattr(recipient, name) or ""
        else:
            text = ""
        return text if text.strip() else fallback


def compile_template(body: str) -> Compiled:
    """``body`` parsed for :meth:`Compiled.render` (placeholders read as :func:`render`
    reads them)."""
    pieces: list[_Piece] = []
    at = 0
    for match in _TOKEN.finditer(body):
        if match.start() > at:
            pieces.append(body[at:match.start()])
        at = match.end()
        name, sep, default = match.group(1).partition("|")
        name = name.strip()
        fallback = default.strip() if sep else ""
        if _LINK.match(name):
            pieces.append(("link", name, fallback))
        elif name.startswith("custom."):
            pieces.append(("custom", name[7:], fallback))
        elif name in FIELDS:
            pieces.append(("field", name, fallback))
        else:  # render's getattr(recipient, name, "") of an unknown name
            pieces.append(("none", name, fallback))
    if at < len(body):
        pieces.append(body[at:])
    return Compiled.of(tuple(pieces))
