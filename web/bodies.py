"""Reading request bodies and query strings into validated values."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel
from pydantic import ValidationError as PydanticError

from core.errors import ValidationError

M = TypeVar("M", bound=BaseModel)


async def read_json(request: web.Request) -> Any:
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
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
        if err["type"] == "missing" and field:
            raise ValidationError(f"{field} is required.", code=f"missing_{field}",
                                  field=field) from None
        message = err["msg"].removeprefix("Value error, ")
        raise ValidationError(f"{field}: {message}" if field else message,
                              code=f"invalid_{field}" if field else "validation_error",
                              field=field) from None


def page_params(request: web.Request, *, max_per_page: int = 100) -> tuple[int, int]:
    page = _positive_int(request, "page", 1)
    per_page = _positive_int(request, "per_page", 50)
    if per_page > max_per_page:
        raise ValidationError(f"per_page may be at most {max_per_page}.",
                              code="invalid_per_page", field="per_page")
    return page, per_page


def _positive_int(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError(f"{name} must be a whole number.", code=f"invalid_{name}",
                              field=name) from None
    if value < 1:
        raise ValidationError(f"{name} must be 1 or more.", code=f"invalid_{name}",
                              field=name)
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
    in_query = request.query.get("confirm", "").lower() in ("1", "true", "yes")
    if not (in_query or (body or {}).get("confirm") is True):
        raise ValidationError('This operation needs "confirm": true.', code="confirm_required",
                              field="confirm")


def iso(value: Any) -> str | None:
    """ISO 8601 in UTC with offset, or None."""
    return value.isoformat() if value is not None else None
