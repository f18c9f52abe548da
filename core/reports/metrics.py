"""Report metrics from raw counts: the rates and money PRODUCT.md section 6 lists,
derived the same way for a group and for the totals (pure; no database).

- sends: messages that went to a provider; delivered; failed (undelivered or failed).
- delivery_rate, failure_rate: over sends.
- clicks: every request to the message's links; bot_clicks: those judged bots, previews
  or scanners; human_clicks: the rest; unique_clicks: counted clicks (the first human
  click of a contact on a message).
- click_rate: unique clicks over delivered messages.
- conversions: attributed conversion events other than refunds and chargebacks;
  conversion_rate: over unique clicks.
- revenue: attributed revenue, refunds and chargebacks subtracted.
- epc: revenue per unique click; revenue_per_send; rpm: revenue per thousand sends.
- segments; cost: what the messages cost; profit: revenue less cost.
- opt_outs: STOPs answering the message; opt_out_rate: over delivered messages.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from core.money import AMOUNT

RATE = Decimal("0.0001")
COUNTS = ("sends", "delivered", "failed", "segments", "clicks", "bot_clicks",
          "unique_clicks", "conversions", "opt_outs")


@dataclass
class Totals:
    """The raw counts and sums of a group."""

    sends: int = 0
    delivered: int = 0
    failed: int = 0
    segments: int = 0
    clicks: int = 0
    bot_clicks: int = 0
    unique_clicks: int = 0
    conversions: int = 0
    opt_outs: int = 0
    cost: Decimal = Decimal(0)
    revenue: Decimal = Decimal(0)

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Totals:
        counts = {name: int(row[name] or 0) for name in COUNTS}
        return cls(**counts, cost=as_decimal(row["cost"]),
                   revenue=as_decimal(row["revenue"]))

    def add(self, other: Totals) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def metrics(self) -> dict[str, Any]:
        """Every metric, in the order the API and the CSV show them."""
        revenue = self.revenue
        return {
            "sends": self.sends, "delivered": self.delivered, "failed": self.failed,
            "delivery_rate": _rate(self.delivered, self.sends),
            "failure_rate": _rate(self.failed, self.sends),
            "clicks": self.clicks, "human_clicks": self.clicks - self.bot_clicks,
            "bot_clicks": self.bot_clicks, "unique_clicks": self.unique_clicks,
            "click_rate": _rate(self.unique_clicks, self.delivered),
            "conversions": self.conversions,
            "conversion_rate": _rate(self.conversions, self.unique_clicks),
            "revenue": _money(revenue),
            "epc": _money(revenue / self.unique_clicks if self.unique_clicks else 0),
            "revenue_per_send": _money(revenue / self.sends if self.sends else 0),
            "rpm": _money(revenue * 1000 / self.sends if self.sends else 0),
            "segments": self.segments, "cost": _money(self.cost),
            "profit": _money(revenue - self.cost),
            "opt_outs": self.opt_outs, "opt_out_rate": _rate(self.opt_outs, self.delivered),
        }



def as_decimal(value: Any) -> Decimal:
    # SQLite sums NUMERIC columns as floats: back to the stored scale via their text.
    return Decimal(str(value)) if value is not None else Decimal(0)


def _rate(part: int, whole: int) -> str:
    return format((Decimal(part) / whole if whole else Decimal(0)).quantize(RATE), "f")


def _money(value: Decimal | int) -> str:
    return format(Decimal(value).quantize(AMOUNT), "f")


METRICS = tuple(Totals().metrics())  # the metric names, in order
