"""Reading request bodies and query strings into validated values."""

from __future__ import annotations

import json
from typing import Annotated, Any, TypeVar, overload

from aiohttp import web
from pydantic import BaseModel, Field
from pydantic import ValidationError as PydanticError

from core.errors import NotFound, ValidationError
from core.validation import MAX_ID

M = TypeVar("M", bound=BaseModel)
MAX_PAGE = 1_000_000
# An id in a request body: a row id our tables can hold.
ObjectId = Annotated[int, Field(ge=1, le=MAX_ID)]


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


def validate(model: type[M], data: dict[str, Any]) -> M:
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or None
        if err["type"] == "extra_forbidden":
            # Named by one code, whatever the key: a key such as "phone" must not produce
            # a code ("invalid_phone") that means something else.
            known = ", ".join(sorted(model.model_fields))
            raise ValidationError(f"Unknown field {str(field)[:60]!r}; the fields are: "
                                  f"{known}.", code="unknown_field", field=field) from None
        if err["type"] == "missing" and field:
            raise ValidationError(f"{field} is required.", code=f"missing_{field}",
                                  field=field) from None
        message = err["msg"].removeprefix("Value error, ")
        raise ValidationError(f"{field}: {message}" if field else message,
                              code=f"invalid_{field}" if field else "validation_error",
                              field=field) from None


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
