"""Money: a Decimal, never a float, at one scale per kind of amount, so the same amount
reads the same on create and on read, from every backend (API.md: decimal strings).

The scales are the columns': payouts and revenue NUMERIC(_, 4), what a message costs
NUMERIC(_, 6). A model fresh from ``create`` holds what Python gave it (``0`` for a
default) until it is read back, so amounts are put at their scale when they are shown.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from core.errors import ValidationError

AMOUNT = Decimal("0.0001")  # payouts, revenue, conversions
PRICE = Decimal("0.000001")  # the price of a message, the cost of a creative
MAX_AMOUNT = Decimal("100000000")  # NUMERIC(12, 4) holds 8 digits before the point


def at_scale(value: Decimal | int | None, scale: Decimal = AMOUNT) -> Decimal:
    """``value`` (None is nothing: zero) with exactly ``scale``'s decimal places."""
    return Decimal(value or 0).quantize(scale)


def parse_money(value: Any, *, field: str, scale: Decimal = AMOUNT,
                maximum: Decimal = MAX_AMOUNT) -> Decimal:
    """An amount from a request: a decimal string (``"12.50"``) or a JSON number, read as
    a Decimal and put at ``scale``; ``invalid_<field>`` for anything else, a negative
    amount or one the column cannot hold.

    A JSON number arrives as the parser's float; it is read from its shortest decimal
    form, which is the number the client wrote for any amount a column holds (up to
    15 significant digits)."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise _invalid(field)
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else str(value))
    except (InvalidOperation, ValueError):
        raise _invalid(field) from None
    if not amount.is_finite() or amount < 0 or amount >= maximum:
        raise ValidationError(f"{field} must be between 0 and {maximum - scale:,}.",
                              code=f"invalid_{field}", field=field)
    return amount.quantize(scale)


def _invalid(field: str) -> ValidationError:
    return ValidationError(f'{field} must be a decimal amount like "12.50".',
                           code=f"invalid_{field}", field=field)
