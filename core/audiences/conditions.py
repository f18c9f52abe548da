"""An audience's condition tree, parsed from its JSON shape into typed values.

Pure. The shape (API.md, Audience)::

    {"operator": "and" | "or",
     "conditions": [{"field": "state", "operator": "eq", "value": "CA"}, ...],
     "groups": [<the same shape>, ...]}

Depth counts group levels, the root being level 1; at most :data:`MAX_DEPTH`.

What a condition means (what ``core/audiences/compiler.py`` puts in SQL) is written
down once, in :data:`SEMANTICS`, for the API documentation. Errors are
``ValidationError`` with the code API.md names: ``unknown_field``, ``invalid_operator``
(unknown, or not allowed for the field's type), ``invalid_value``, ``too_deep``, plus
``invalid_filter`` for a shape that is not the one above; ``field`` is the path to the
offending part (``filter.groups[0].conditions[1].value``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from core.audiences.models import BoolOperator
from core.contacts.fields import CUSTOM_KEY
from core.contacts.models import LineType, SignupMethod, SubscriptionStatus
from core.errors import ValidationError
from core.text import check_text

MAX_DEPTH = 5
MAX_CONDITIONS = 100  # in the whole tree
MAX_GROUPS = 50
MAX_LIST_VALUES = 1000
MAX_TEXT = 1000  # a custom field value is at most this long anyway
MAX_DAYS = 36_500
MAX_DIGITS = 15  # significant digits a number may have: every backend compares them exactly
MAX_NUMBER = Decimal(10) ** 15
MONEY_PLACES = 4  # revenue columns hold 4 decimal places
MIN_YEAR, MAX_YEAR = 1900, 9998  # so a day's bounds exist in every zone

SEMANTICS = """\
A contact is in the audience when any of its subscriptions on the audience's lists
matches the filter; it counts once. The size counts matching subscriptions whatever their
status (`status` is a field like any other).

- Strings compare trimmed (spaces, tabs, line breaks) and case-insensitively for the
  letters A-Z: `eq, ne, in, not_in, contains, not_contains`.
- A number compares numerically with stored numbers and with numeric strings
  (`"35"`, `" -2.50 "`: an optional sign, digits, optionally a point and digits); other
  stored values do not match it. Numbers have at most 15 significant digits;
  `revenue_total` and `avg_revenue` take at most 4 decimal places.
- `true` / `false` match stored booleans and the strings `"true"` / `"false"` (any case),
  not `1` or `"yes"`.
- `exists`: present, not null and not an empty (or blank) string. `exists` and
  `not_exists` take no value.
- `within_days: N` (1 to 36500): within the last N days of the clock. `before` / `after`
  take an ISO 8601 date or a date and time with its offset; a date means that whole day
  in the account's timezone, so `after: "2026-03-01"` starts on 2 March.
- Each negative operator (`ne, not_in, not_contains, not_exists, not_within_days`) is the
  exact complement of its positive one: a contact without the field matches `ne`.
- Custom fields (`custom.<key>`) take every operator; the value's type chooses the
  comparison. `before`, `after` and `within_days` compare stored strings that start with
  a `YYYY-MM-DD` date (optionally followed by `T` or a space and a time), by that date.
- `avg_revenue` is `revenue_total / conversion_count`, absent without conversions;
  `has_revenue` is `revenue_total > 0`; `on_dnc` is a block of the contact's number on
  that list or on the whole account; `state` and `area_code` come from the number,
  `timezone` from the contact.
- A group with no conditions and no groups matches everyone.
"""


class Operator(StrEnum):
    EQ = "eq"
    NE = "ne"
    GT = "gt"
    GTE = "gte"
    LT = "lt"
    LTE = "lte"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    NOT_CONTAINS = "not_contains"
    EXISTS = "exists"
    NOT_EXISTS = "not_exists"
    WITHIN_DAYS = "within_days"
    NOT_WITHIN_DAYS = "not_within_days"
    BEFORE = "before"
    AFTER = "after"


# Each negative operator and the positive one it is the exact complement of.
POSITIVE_OF = {
    Operator.NE: Operator.EQ,
    Operator.NOT_IN: Operator.IN,
    Operator.NOT_CONTAINS: Operator.CONTAINS,
    Operator.NOT_EXISTS: Operator.EXISTS,
    Operator.NOT_WITHIN_DAYS: Operator.WITHIN_DAYS,
}


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    MONEY = "money"
    TIME = "time"
    FLAG = "flag"
    CUSTOM = "custom"


_O = Operator
_PRESENCE = {_O.EXISTS, _O.NOT_EXISTS}
OPERATORS: dict[FieldType, frozenset[Operator]] = {
    FieldType.TEXT: frozenset({_O.EQ, _O.NE, _O.IN, _O.NOT_IN, _O.CONTAINS,
                               _O.NOT_CONTAINS, *_PRESENCE}),
    FieldType.NUMBER: frozenset({_O.EQ, _O.NE, _O.GT, _O.GTE, _O.LT, _O.LTE, _O.IN,
                                 _O.NOT_IN, *_PRESENCE}),
    FieldType.TIME: frozenset({_O.BEFORE, _O.AFTER, _O.WITHIN_DAYS, _O.NOT_WITHIN_DAYS,
                               *_PRESENCE}),
    FieldType.FLAG: frozenset({_O.EQ, _O.NE, *_PRESENCE}),
    FieldType.CUSTOM: frozenset(Operator),
}
OPERATORS[FieldType.MONEY] = OPERATORS[FieldType.NUMBER]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    type: FieldType
    choices: frozenset[str] | None = None  # the values an enum column can hold


FIELDS: dict[str, FieldSpec] = {
    "status": FieldSpec(FieldType.TEXT, frozenset(SubscriptionStatus)),
    "signup_date": FieldSpec(FieldType.TIME),
    "signup_method": FieldSpec(FieldType.TEXT, frozenset(SignupMethod)),
    "last_sent_at": FieldSpec(FieldType.TIME),
    "last_clicked_at": FieldSpec(FieldType.TIME),
    "send_count": FieldSpec(FieldType.NUMBER),
    "click_count": FieldSpec(FieldType.NUMBER),
    "revenue_total": FieldSpec(FieldType.MONEY),
    "avg_revenue": FieldSpec(FieldType.MONEY),
    "has_revenue": FieldSpec(FieldType.FLAG),
    "conversion_count": FieldSpec(FieldType.NUMBER),
    "last_revenue_at": FieldSpec(FieldType.TIME),
    "carrier": FieldSpec(FieldType.TEXT),
    "line_type": FieldSpec(FieldType.TEXT, frozenset(LineType)),
    "timezone": FieldSpec(FieldType.TEXT),
    "state": FieldSpec(FieldType.TEXT),
    "area_code": FieldSpec(FieldType.TEXT),
    "on_dnc": FieldSpec(FieldType.FLAG),
    "in_workflow": FieldSpec(FieldType.FLAG),
}
CUSTOM_PREFIX = "custom."


class Kind(StrEnum):
    """How a condition compares, from its field and its value; says what ``value`` is."""

    TEXT = "text"  # str, or tuple[str, ...] for in/not_in: trimmed, A-Z lower-cased
    NUMBER = "number"  # Decimal, or tuple[Decimal, ...] for in/not_in
    FLAG = "flag"  # bool
    INSTANT = "instant"  # before/after on a time field: aware datetime, or a date
    DAY = "day"  # before/after on a custom field: date (compared with a stored date)
    DAYS = "days"  # within_days / not_within_days: int
    PRESENCE = "presence"  # exists / not_exists: None


@dataclass(frozen=True, slots=True)
class Condition:
    field: str  # "state", "custom.age"
    operator: Operator
    kind: Kind
    value: Any  # as ``kind`` says
    raw: Any = None  # the value as given, echoed back in answers

    @property
    def custom_key(self) -> str | None:
        return self.field.removeprefix(CUSTOM_PREFIX) if self.is_custom else None

    @property
    def is_custom(self) -> bool:
        return self.field.startswith(CUSTOM_PREFIX)

    @property
    def negated(self) -> bool:
        return self.operator in POSITIVE_OF

    @property
    def positive(self) -> Operator:
        """The operator this one is the complement of, or itself."""
        return POSITIVE_OF.get(self.operator, self.operator)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.field, "operator": self.operator.value}
        if self.kind != Kind.PRESENCE:
            out["value"] = self.raw
        return out


@dataclass(frozen=True, slots=True)
class Group:
    operator: BoolOperator = BoolOperator.AND
    conditions: tuple[Condition, ...] = ()
    groups: tuple[Group, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.conditions and not self.groups

    def walk(self) -> list[Condition]:
        """Every condition of the tree."""
        found = list(self.conditions)
        for group in self.groups:
            found.extend(group.walk())
        return found

    def to_json(self) -> dict[str, Any]:
        return {"operator": self.operator.value,
                "conditions": [c.to_json() for c in self.conditions],
                "groups": [g.to_json() for g in self.groups]}


EVERYONE = Group()

# -- text, as both backends compare it -----------------------------------------------------

TRIM = " \t\n\r"
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
NUMERIC_STRING = re.compile(r"[+-]?[0-9]+(?:[.][0-9]+)?")
DATE_STRING = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ].*)?", re.DOTALL)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def normalize(text: str) -> str:
    """How strings compare: trimmed of spaces, tabs and line breaks, A-Z lower-cased.

    Only A-Z: SQLite's lower() folds nothing else, so PostgreSQL is told to do the
    same, and a count is the same on both."""
    return text.strip(TRIM).translate(_ASCII_LOWER)


# -- parsing ------------------------------------------------------------------------------


def parse_filter(raw: Any, *, field: str = "filter") -> Group:
    """The tree of a JSON ``filter`` (None or ``{}`` match everyone)."""
    if raw is None:
        return EVERYONE
    counts = [0, 0]  # conditions, groups
    return _group(raw, field, 1, counts)


_GROUP_KEYS = {"operator", "conditions", "groups"}
_CONDITION_KEYS = {"field", "operator", "value"}


def _group(raw: Any, path: str, depth: int, counts: list[int]) -> Group:
    if depth > MAX_DEPTH:
        raise ValidationError(f"{path} is nested too deep: groups go {MAX_DEPTH} levels "
                              "deep at most, the filter itself being the first.",
                              code="too_deep", field=path)
    if not isinstance(raw, dict):
        raise _shape(path, "must be an object with operator, conditions and groups")
    _no_other_keys(raw, _GROUP_KEYS, path)
    counts[1] += 1
    if counts[1] > MAX_GROUPS:
        raise _shape(path, f"is one group too many: at most {MAX_GROUPS} in a filter")
    operator = _join(raw.get("operator", "and"), f"{path}.operator")
    conditions = _list(raw.get("conditions", []), f"{path}.conditions")
    groups = _list(raw.get("groups", []), f"{path}.groups")
    parsed = []
    for index, item in enumerate(conditions):
        counts[0] += 1
        if counts[0] > MAX_CONDITIONS:
            raise _shape(f"{path}.conditions[{index}]",
                         f"is one condition too many: at most {MAX_CONDITIONS} in a filter")
        parsed.append(parse_condition(item, field=f"{path}.conditions[{index}]"))
    nested = tuple(_group(item, f"{path}.groups[{index}]", depth + 1, counts)
                   for index, item in enumerate(groups))
    return Group(operator, tuple(parsed), nested)


def _join(raw: Any, path: str) -> BoolOperator:
    if isinstance(raw, str):
        text = check_text(raw, field=path).strip().lower()
        if text in ("and", "or"):
            return BoolOperator(text)
    raise ValidationError(f"{path} must be \"and\" or \"or\".", code="invalid_operator",
                          field=path)


def _list(raw: Any, path: str) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise _shape(path, "must be a list")
    return raw


def _no_other_keys(raw: dict[Any, Any], allowed: set[str], path: str) -> None:
    for key in raw:
        if key not in allowed:
            name = check_text(str(key), field=path)[:40]
            raise _shape(f"{path}.{name}",
                         f"is not part of a filter (it has {', '.join(sorted(allowed))})")


def _shape(path: str, why: str) -> ValidationError:
    return ValidationError(f"{path} {why}.", code="invalid_filter", field=path)


def parse_condition(raw: Any, *, field: str = "condition") -> Condition:
    if not isinstance(raw, dict):
        raise _shape(field, "must be an object with field, operator and value")
    _no_other_keys(raw, _CONDITION_KEYS, field)
    name = _field_name(raw.get("field"), f"{field}.field")
    spec = FIELDS.get(name) if not name.startswith(CUSTOM_PREFIX) else FieldSpec(
        FieldType.CUSTOM)
    assert spec is not None  # _field_name knows every name
    operator = _operator(raw.get("operator"), name, spec, f"{field}.operator")
    value = raw.get("value")
    path = f"{field}.value"
    if isinstance(value, str):
        check_text(value, field=path)
    if operator in _PRESENCE:
        if value is not None:
            raise _bad(path, f"{operator} takes no value")
        return Condition(name, operator, Kind.PRESENCE, None)
    kind, parsed = _value(name, spec, operator, value, path)
    return Condition(name, operator, kind, parsed, value)


def _field_name(raw: Any, path: str) -> str:
    if not isinstance(raw, str):
        raise ValidationError(f"{path} must name a field.", code="unknown_field", field=path)
    name = check_text(raw, field=path).strip().lower()
    if name in FIELDS:
        return name
    if name.startswith(CUSTOM_PREFIX):
        if CUSTOM_KEY.match(name.removeprefix(CUSTOM_PREFIX)):
            return name
        raise ValidationError(
            f"{path}: {raw[:80]!r} is not a custom field name (custom.<key>, the key in "
            "lower-case letters, digits and _, not starting with a digit).",
            code="unknown_field", field=path)
    raise ValidationError(f"{path}: unknown field {raw[:80]!r}; the fields are "
                          f"{', '.join(FIELDS)} and custom.<key>.", code="unknown_field",
                          field=path)


def _operator(raw: Any, name: str, spec: FieldSpec, path: str) -> Operator:
    text = check_text(raw, field=path).strip().lower() if isinstance(raw, str) else ""
    try:
        operator = Operator(text)
    except ValueError:
        raise ValidationError(f"{path} must be one of {', '.join(Operator)}.",
                              code="invalid_operator", field=path) from None
    allowed = OPERATORS[spec.type]
    if operator not in allowed:
        names = ", ".join(o for o in Operator if o in allowed)
        raise ValidationError(f"{path}: {operator} does not apply to {name} (a "
                              f"{spec.type} field); use {names}.", code="invalid_operator",
                              field=path)
    return operator


def _bad(path: str, why: str) -> ValidationError:
    return ValidationError(f"{path}: {why}.", code="invalid_value", field=path)


def _value(name: str, spec: FieldSpec, operator: Operator, value: Any, path: str
           ) -> tuple[Kind, Any]:
    kind = _kind_for(spec.type, operator, value, path)
    if kind == Kind.DAYS:
        return kind, _days(value, path)
    if kind == Kind.INSTANT:
        return kind, _instant(value, path)
    if kind == Kind.DAY:
        if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
            raise _bad(path, f"{operator} on a custom field takes a date, YYYY-MM-DD")
        return kind, _date(value.strip(), path)
    if kind == Kind.FLAG:
        if not isinstance(value, bool):
            raise _bad(path, f"{name} is true or false")
        return kind, value
    many = operator in (Operator.IN, Operator.NOT_IN)
    items = _items(value, path) if many else [value]
    if kind == Kind.NUMBER:
        money = spec.type == FieldType.MONEY
        numbers = tuple(_number(v, f"{path}[{i}]" if many else path, money)
                        for i, v in enumerate(items))
        return kind, numbers if many else numbers[0]
    texts = tuple(_text(v, f"{path}[{i}]" if many else path, spec, operator)
                  for i, v in enumerate(items))
    return kind, texts if many else texts[0]


def _kind_for(field_type: FieldType, operator: Operator, value: Any, path: str) -> Kind:
    if operator in (Operator.WITHIN_DAYS, Operator.NOT_WITHIN_DAYS):
        return Kind.DAYS
    if operator in (Operator.BEFORE, Operator.AFTER):
        return Kind.DAY if field_type == FieldType.CUSTOM else Kind.INSTANT
    if field_type == FieldType.FLAG:
        return Kind.FLAG
    if field_type in (FieldType.NUMBER, FieldType.MONEY):
        return Kind.NUMBER
    if field_type == FieldType.TEXT:
        return Kind.TEXT
    # A custom field: the value says how to compare.
    if operator in (Operator.GT, Operator.GTE, Operator.LT, Operator.LTE):
        if not _is_number(value):
            raise _bad(path, f"{operator} compares numbers; give a number (for dates use "
                             "before, after or within_days)")
        return Kind.NUMBER
    if operator in (Operator.CONTAINS, Operator.NOT_CONTAINS):
        return Kind.TEXT
    if operator in (Operator.IN, Operator.NOT_IN):
        items = _items(value, path)
        if all(_is_number(v) for v in items):
            return Kind.NUMBER
        if all(isinstance(v, str) for v in items):
            return Kind.TEXT
        raise _bad(path, f"{operator} takes a list of strings or a list of numbers")
    if isinstance(value, bool):
        return Kind.FLAG
    if _is_number(value):
        return Kind.NUMBER
    if isinstance(value, str):
        return Kind.TEXT
    raise _bad(path, f"{operator} takes a string, a number or true/false")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _items(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list) or not value:
        raise _bad(path, "give a non-empty list")
    if len(value) > MAX_LIST_VALUES:
        raise _bad(path, f"at most {MAX_LIST_VALUES} values")
    for index, item in enumerate(value):
        if isinstance(item, str):
            check_text(item, field=f"{path}[{index}]")
    return value


def _number(value: Any, path: str, money: bool) -> Decimal:
    if not _is_number(value) or (isinstance(value, float) and not math.isfinite(value)):
        raise _bad(path, "give a number")
    # repr: the shortest text that reads back as this float (0.1, not 0.1000000000000000055)
    number = Decimal(value) if isinstance(value, int) else Decimal(repr(value))
    if abs(number) >= MAX_NUMBER or len(number.normalize().as_tuple().digits) > MAX_DIGITS:
        raise _bad(path, f"numbers have at most {MAX_DIGITS} significant digits")
    exponent = number.normalize().as_tuple().exponent
    if money and isinstance(exponent, int) and exponent < -MONEY_PLACES:
        raise _bad(path, f"amounts have at most {MONEY_PLACES} decimal places")
    return number + 0  # -0 and 0 alike


def _text(value: Any, path: str, spec: FieldSpec, operator: Operator) -> str:
    if spec.type == FieldType.TEXT and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # area_code: 415
    if not isinstance(value, str):
        raise _bad(path, "give a string")
    if len(value) > MAX_TEXT:
        raise _bad(path, f"at most {MAX_TEXT} characters")
    text = normalize(value)
    if operator in (Operator.CONTAINS, Operator.NOT_CONTAINS):
        if not text:
            raise _bad(path, f"{operator} needs some text")
    elif spec.choices is not None and text not in spec.choices:
        raise _bad(path, f"{value[:40]!r} is not one of {', '.join(sorted(spec.choices))}")
    return text


def _days(value: Any, path: str) -> int:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DAYS:
        raise _bad(path, f"give a whole number of days from 1 to {MAX_DAYS}")
    return value


def _instant(value: Any, path: str) -> dt.datetime | dt.date:
    if not isinstance(value, str):
        raise _bad(path, "give a date (YYYY-MM-DD) or a date and time with its offset")
    text = value.strip()
    parsed: dt.date | dt.datetime
    if _DATE.fullmatch(text):
        parsed = _date(text, path)
    else:
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise _bad(path, f"{text[:40]!r} is not an ISO 8601 date or date and "
                             "time") from None
        if parsed.tzinfo is None:
            raise _bad(path, "a date and time needs its offset (Z or +00:00)")
        parsed = parsed.astimezone(dt.UTC)
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise _bad(path, f"give a date from {MIN_YEAR} to {MAX_YEAR}")
    return parsed


def _date(text: str, path: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise _bad(path, f"{text[:40]!r} is not a date") from None
