"""Small validators shared by every domain's service."""

from __future__ import annotations

import re
from collections.abc import Sized
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

from core.errors import ValidationError

E = TypeVar("E", bound=StrEnum)

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
# The largest row id or ticket number (a 32-bit INTEGER column on PostgreSQL). Faces bound
# the numbers they accept by it, so an absurd id is "not found", never a driver overflow.
MAX_ID = 2**31 - 1
MAX_BULK = 1000  # records per bulk request (API.md)


def clean_email(value: str, *, field: str = "email") -> str:
    email = (value or "").strip().lower()
    if not email:
        raise ValidationError("An email address is required.", code=f"missing_{field}",
                              field=field)
    if len(email) > 254 or not _EMAIL.match(email):
        raise ValidationError(f"{value!r} is not a valid email address.",
                              code=f"invalid_{field}", field=field)
    return email


def clean_name(value: str, *, field: str = "name", max_length: int = 200) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise ValidationError(f"A {field} is required.", code=f"missing_{field}", field=field)
    if len(name) > max_length:
        raise ValidationError(f"The {field} is longer than {max_length} characters.",
                              code=f"invalid_{field}", field=field)
    return name


@dataclass(frozen=True, slots=True)
class BulkError:
    """One record of a bulk call that was not done: its position among the records the
    service was given, the code and the sentence."""

    index: int
    code: str
    error: str


def bulk_size(items: Sized, *, field: str, noun: str, minimum: int = 1) -> None:
    """A bulk request holds ``minimum`` (1) to ``MAX_BULK`` records: ``missing_<field>`` or
    ``too_many_<field>`` otherwise (``noun`` is one record: "contact"). Services take
    ``minimum=0``: the face has refused an empty request and dropped the records it could
    not read, which may be all of them."""
    if len(items) < minimum:
        raise ValidationError(f"{field} must hold at least one {noun}.",
                              code=f"missing_{field}", field=field)
    if len(items) > MAX_BULK:
        raise ValidationError(f"At most {MAX_BULK} {field} per request.",
                              code=f"too_many_{field}", field=field)


def choice(enum: type[E], value: Any, field: str) -> E:
    """One of ``enum``'s values (any case, surrounding spaces ignored), or
    ``invalid_<field>`` naming the choices."""
    try:
        return enum(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(e.value for e in enum)
        raise ValidationError(f"{field} must be one of: {choices}.", code=f"invalid_{field}",
                              field=field) from None
