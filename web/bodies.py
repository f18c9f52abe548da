"""Reading request bodies and query strings into validated values.

Every JSON body is a :class:`Body`: unknown fields are refused, JSON types are strict (a
boolean is ``true`` or ``false``, an integer is a number) and every string is
:data:`core.text.Text`. A failure becomes one error from a small, documented set of codes
(:data:`VALIDATION_CODES`): ``missing_<field>``, ``invalid_<field>`` or ``unknown_field``,
named by the top-level field; the full path goes in the error's ``field``."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, TypeVar, overload

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic import ValidationError as PydanticError
from pydantic_core import ErrorDetails

from core.errors import NotFound, TracklyError, ValidationError
from core.text import TEXT_ERROR, clean_text, text_problem
from core.validation import MAX_BULK, MAX_ID, BulkError, bulk_size

M = TypeVar("M", bound=BaseModel)
MAX_PAGE = 1_000_000
# An id in a request body: a row id our tables can hold.
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]
# A field whose JSON type is read leniently, where the contract says so (money: a decimal
# string or a number). Put it on the member of a union: ``Annotated[Decimal, Lenient]``.
Lenient = Field(strict=False)

# The codes a body's validation can produce, for the OpenAPI document.
VALIDATION_CODES = {
    "invalid_json": "the body is not a JSON object",
    "unknown_field": "a field the operation does not know",
    "missing_<field>": "a required field is absent or null",
    "invalid_<field>": "a field (or something inside it: see `field`) has the wrong JSON "
                       "type, is out of range, or holds text that cannot be stored (NUL, "
                       "an unpaired surrogate, a control character)",
}


class Body(BaseModel):
    """A JSON request body. Every ``str`` field is ``Text`` (tests/test_body_models.py
    checks it), so nothing that cannot be stored gets past the edge."""

    model_config = ConfigDict(extra="forbid", strict=True)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        # Strict JSON: Python would accept NaN and Infinity, which no column can store.
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError):
        raise ValidationError("The request body is not valid JSON.",
                              code="invalid_json") from None


async def parse_body(request: web.Request, model: type[M]) -> M:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ValidationError("The request body must be a JSON object.", code="invalid_json")
    return validate(model, data)


def validate(model: type[M], data: dict[str, Any], *, prefix: str = "") -> M:
    """``data`` as ``model``, or the first problem as one ``ValidationError`` whose code is
    named by the top-level field (``invalid_link_bindings``) and whose ``field`` is the
    path (``link_bindings.link1.offer_id``; ``prefix`` goes before it: ``messages[3].``)."""
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        raise _refusal(model, data, exc.errors(include_url=False), prefix) from None


def _refusal(model: type[BaseModel], data: dict[str, Any], errors: list[ErrorDetails],
             prefix: str) -> ValidationError:
    first = errors[0]
    path = _data_path(data, first["loc"], missing=first["type"] == "missing")
    where = prefix + _dotted(path) if path else prefix.rstrip(".") or None
    top = str(path[0]) if path else None
    if first["type"] == "extra_forbidden":
        # One code whatever the key: a key such as "phone" must not produce a code
        # ("invalid_phone") that means something else.
        known = f"; the fields are: {', '.join(sorted(model.model_fields))}" \
            if len(path) == 1 else ""
        return ValidationError(f"Unknown field {str(where)[:60]!r}{known}.",
                               code="unknown_field", field=where)
    if top is None:
        return ValidationError(_sentence(first["msg"]), code="invalid_json", field=where)
    if first["type"] == "missing" or (len(path) == 1 and data.get(top) is None):
        code = f"missing_{top}" if len(path) == 1 else f"invalid_{top}"
        return ValidationError(f"{where} is required.", code=code, field=where)
    # Text that cannot be stored is refused for that reason, whichever check met it first
    # (a length limit meets an unpaired surrogate before the text rule does).
    problem = _text_problem_at(data, path)
    if problem is not None:
        return ValidationError(f"{where} {problem}.", code=f"invalid_{top}", field=where)
    # A union answers once per member it tried: the text rule's refusal (inside a JSON
    # object) says what is wrong; otherwise say every form the value may take.
    same = [e for e in errors if _data_path(data, e["loc"], missing=False) == path]
    text = next((e for e in same if e["type"] == TEXT_ERROR), None)
    if text is not None:
        ctx = text.get("ctx") or {}
        inner = str(ctx.get("path", ""))
        if inner:
            where = f"{where}{inner}" if inner.startswith("[") else f"{where}.{inner}"
        return ValidationError(f"{where} {ctx.get('problem', 'is not valid text')}.",
                               code=f"invalid_{top}", field=where)
    if first["type"] in ("too_long", "string_too_long") and "max_length" in first.get(
            "ctx", {}):
        return ValidationError(f"{where} is longer than {first['ctx']['max_length']} "
                               "characters.", code=f"invalid_{top}", field=where)
    wanted = list(dict.fromkeys(_sentence(e["msg"]) for e in same))
    if all(w.startswith(_SHOULD) for w in wanted):  # "to should be a string or an integer"
        said = f" should be {' or '.join(w.removeprefix(_SHOULD) for w in wanted)}"
    else:
        said = f": {'; '.join(wanted)}"
    return ValidationError(f"{where}{said}.", code=f"invalid_{top}", field=where)


def _data_path(data: Any, loc: tuple[int | str, ...], *, missing: bool) -> list[int | str]:
    """The part of a pydantic error location that is in the client's data: pydantic adds
    the union member it tried ("str", "function-after[...]"), which means nothing to them."""
    path: list[int | str] = []
    here = data
    for position, part in enumerate(loc):
        if isinstance(here, dict) and isinstance(part, str) and part in here:
            here = here[part]
        elif isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here):
            here = here[part]
        elif missing and position == len(loc) - 1 and isinstance(here, dict):
            pass  # the key that is absent
        else:
            break
        path.append(part)
    return path


def _text_problem_at(data: Any, path: Sequence[int | str]) -> str | None:
    value = data
    for part in path:
        value = value[part]
    return text_problem(value) if isinstance(value, str) else None


def _dotted(path: Sequence[int | str]) -> str:
    """``a.b[2].c``; a key the client made up is shown without what text cannot hold."""
    out = ""
    for part in path:
        key = clean_text(part) if isinstance(part, str) else part
        out += f"[{key}]" if isinstance(key, int) else f".{key}" if out else key
    return out


_SHOULD = "Input should be "


def _sentence(msg: str) -> str:
    return msg.removeprefix("Value error, ").rstrip(".")


# -- bulk bodies ---------------------------------------------------------------------------


class BulkItems(WithJsonSchema):
    """Annotation of a bulk body's list of records: ``Annotated[list[Any],
    BulkItems.of(ContactIn)]``. The list is read as raw JSON, so that one bad record is
    that record's error (:func:`validate_items`); the document shows the item model."""

    @classmethod
    def of(cls, item: type[BaseModel], *, optional: Sequence[str] = ()) -> BulkItems:
        schema = item.model_json_schema()
        assert "$defs" not in schema, "a bulk item model has no nested models"
        schema.pop("title", None)
        schema["required"] = [f for f in schema.get("required", []) if f not in optional]
        return cls({"type": "array", "items": schema, "minItems": 1, "maxItems": MAX_BULK})


@dataclass(frozen=True, slots=True)
class ItemError:
    index: int
    code: str
    error: str
    field: str | None = None

    def out(self) -> dict[str, Any]:
        body: dict[str, Any] = {"index": self.index, "code": self.code, "error": self.error}
        if self.field:
            body["field"] = self.field
        return body


@dataclass
class ValidItems(Generic[M]):
    """The records of a bulk body that passed their model, each with its index in the
    request, and an error for every one that did not."""

    valid: list[tuple[int, M]] = field(default_factory=list)
    errors: list[ItemError] = field(default_factory=list)

    @property
    def models(self) -> list[M]:
        return [model for _, model in self.valid]

    def index_of(self, position: int) -> int:
        """The request index of ``self.models[position]``."""
        return self.valid[position][0]

    def all_errors(self, later: Iterable[BulkError] = ()) -> list[dict[str, Any]]:
        """These errors and the service's (indexed by position in :attr:`models`), in
        request order, as API.md's ``errors`` member."""
        found = [*self.errors, *(ItemError(self.index_of(e.index), e.code, e.error)
                                 for e in later)]
        return [e.out() for e in sorted(found, key=lambda e: e.index)]


def validate_items(model: type[M], items: Any, *, field: str, noun: str,
                   defaults: dict[str, Any] | None = None) -> ValidItems[M]:
    """Each record of a bulk body on its own: ``model`` validates it (``defaults`` fill
    fields a record leaves out), and a record that fails is an ``{index, code, error}``
    entry instead of failing the request. The list itself must hold 1 to MAX_BULK."""
    if not isinstance(items, list):
        raise ValidationError(f"{field} must be a list.", code=f"invalid_{field}",
                              field=field)
    bulk_size(items, field=field, noun=noun)
    out: ValidItems[M] = ValidItems()
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise ValidationError(f"Each of {field} must be an object.",
                                      code=f"invalid_{noun}", field=f"{field}[{index}]")
            data = {**{k: v for k, v in (defaults or {}).items() if v is not None}, **item}
            out.valid.append((index, validate(model, data, prefix=f"{field}[{index}].")))
        except TracklyError as exc:
            out.errors.append(ItemError(index, exc.code, exc.message, exc.field))
    return out


def paging(max_per_page: int = 100, *, default: int = 50, what: str = "Page"
           ) -> list[tuple[str, str, str, dict[str, Any]]]:
    """``page`` and ``per_page`` as the OpenAPI document describes them (``operation``'s
    ``query``), with the bounds :func:`page_params` enforces."""
    return [("page", "integer", f"{what}, from 1",
             {"minimum": 1, "maximum": MAX_PAGE, "default": 1}),
            ("per_page", "integer", f"Items per page, up to {max_per_page}",
             {"minimum": 1, "maximum": max_per_page, "default": default})]


def page_params(request: web.Request, *, max_per_page: int = 100) -> tuple[int, int]:
    page = positive_int(request, "page", default=1, maximum=MAX_PAGE)
    per_page = positive_int(request, "per_page", default=50, maximum=max_per_page)
    return page, per_page


@overload
def positive_int(request: web.Request, name: str, *, default: int,
                 maximum: int = ...) -> int: ...


@overload
def positive_int(request: web.Request, name: str, *, default: None = None,
                 maximum: int = ...) -> int | None: ...


def positive_int(request: web.Request, name: str, *, default: int | None = None,
                 maximum: int = MAX_ID) -> int | None:
    """Query parameter ``name``: a whole number from 1 to ``maximum``, or ``default``."""
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number.", code=f"invalid_{name}",
                              field=name) from None
    if not 1 <= value <= maximum:
        raise ValidationError(f"{name} must be from 1 to {maximum:,}.",
                              code=f"invalid_{name}", field=name)
    return value


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@overload
def flag(raw: str | None, name: str, *, default: bool) -> bool: ...


@overload
def flag(raw: str | None, name: str, *, default: None = None) -> bool | None: ...


def flag(raw: str | None, name: str, *, default: bool | None = None) -> bool | None:
    """A true/false query or form value, the one way every route reads one: true, 1,
    yes, on / false, 0, no, off (any case); ``default`` when absent or empty;
    ``invalid_<name>`` otherwise."""
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValidationError(f"{name} must be true or false.", code=f"invalid_{name}", field=name)


def path_id(request: web.Request, name: str, thing: str) -> int:
    """The id in the path (routes match it with ``\\d+``); one no table can hold is, like
    any missing one, ``<thing>_not_found``."""
    raw = request.match_info[name]
    value = int(raw)
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"No {thing.replace('_', ' ')} {raw[:20]}.", code=f"{thing}_not_found")
    return value


def paginated(data: list[Any], *, page: int, per_page: int, total: int) -> dict[str, Any]:
    return {
        "data": data,
        "pagination": {
            "page": page,
            "per_page": per_page,
            "total": total,
            "total_pages": (total + per_page - 1) // per_page,
        },
    }


def confirmed(request: web.Request, body: dict[str, Any] | None = None) -> None:
    """Destructive operations need ``"confirm": true`` (body) or ``?confirm=true``."""
    in_query = flag(request.query.get("confirm"), "confirm", default=False)
    if not (in_query or (body or {}).get("confirm") is True):
        raise ValidationError('This operation needs "confirm": true.', code="confirm_required",
                              field="confirm")


def iso(value: Any) -> str | None:
    """ISO 8601 in UTC with offset, or None."""
    return value.isoformat() if value is not None else None


def time_param(request: web.Request, name: str) -> dt.datetime | None:
    """Query parameter ``name``: an ISO 8601 time, in UTC (no offset means UTC)."""
    raw = request.query.get(name)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
        # In UTC, as stored: 0001-01-01T00:00+01:00 has no UTC time (OverflowError).
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ValidationError(f"{name} must be an ISO 8601 time, e.g. 2026-03-01T00:00:00Z.",
                              code=f"invalid_{name}", field=name) from None
