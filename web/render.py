"""JSON out: decimals as strings, times as ISO 8601 UTC."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any

from aiohttp import web


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"cannot serialise {type(value).__name__}")


dumps = partial(json.dumps, default=_default, ensure_ascii=False)


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None
            ) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)
