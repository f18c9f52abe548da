"""JSON out: decimals as strings, times as ISO 8601 UTC."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from enum import Enum
from functools import partial
from typing import Any

from aiohttp import web

from core.money import AMOUNT, PRICE, at_scale


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


def amount(value: Decimal | int | None) -> str:
    """A payout or revenue as API.md shows money: ``"12.5000"``, whatever the source."""
    return format(at_scale(value, AMOUNT), "f")


def price(value: Decimal | int | None) -> str:
    """What a message costs: ``"0.004500"``."""
    return format(at_scale(value, PRICE), "f")


dumps = partial(json.dumps, default=_default, ensure_ascii=False)


def respond(data: Any, status: int = 200, headers: dict[str, str] | None = None
            ) -> web.Response:
    return web.json_response(data, status=status, headers=headers, dumps=dumps)
