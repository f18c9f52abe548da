"""Reports: performance by a dimension, LTV cohorts by signup week, and their CSV."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from core.accounts.models import Account
from core.audit.service import AuditLog
from core.clock import Clock
from core.errors import ValidationError
from core.permissions import Action, Actor
from core.reports import periods, queries
from core.reports.metrics import METRICS, Totals, as_decimal
from core.reports.periods import GROUPINGS, Period

DEFAULT_DAYS = 30
MAX_DAYS = 366
COHORT_WEEKS = 26


@dataclass(frozen=True)
class Performance:
    group_by: str
    since: dt.datetime
    until: dt.datetime
    rows: list[dict[str, Any]]  # key, name, then every metric
    totals: dict[str, Any]


@dataclass(frozen=True)
class Cohorts:
    since: dt.datetime
    until: dt.datetime
    rows: list[dict[str, Any]]


EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def _period(now: dt.datetime, since: dt.datetime | None, until: dt.datetime | None,
            default: dt.timedelta) -> tuple[dt.datetime, dt.datetime]:
    for name, value in (("since", since), ("until", until)):
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValidationError(f"{name} must be between 2000 and 2200.",
                                  code=f"invalid_{name}", field=name)
    until = until or now
    since = since or until - default
    if since >= until:
        raise ValidationError("since must be before until.", code="invalid_since",
                              field="since")
    if until - since > dt.timedelta(days=MAX_DAYS):
        raise ValidationError(f"A report covers at most {MAX_DAYS} days.",
                              code="invalid_since", field="since")
    return since, until


class ReportService:
    def __init__(self, *, clock: Clock, audit: AuditLog | None = None) -> None:
        self.clock = clock
        self.audit = audit or AuditLog(clock=clock)

    async def performance(self, actor: Actor, *, group_by: str = "day",
                          since: dt.datetime | None = None, until: dt.datetime | None = None,
                          export: bool = False) -> Performance:
        """Every metric of core.reports.metrics per ``group_by`` key (day in UTC, list,
        schedule, creative, offer, journey, carrier) for messages sent in [since,
        until) (the last 30 days by default), and the totals."""
        actor.require(Action.READ)
        if group_by not in queries.GROUPS:
            raise ValidationError(f"group_by must be one of {', '.join(queries.GROUPS)}.",
                                  code="invalid_group_by", field="group_by")
        since, until = _period(self.clock.now(), since, until,
                               dt.timedelta(days=DEFAULT_DAYS))
        if export:  # a data export is a sensitive action: it goes into the audit trail
            await self.audit.record(actor, "export.performance", changes={
                "group_by": group_by, "since": since.isoformat(), "until": until.isoformat()})
        raw = await queries.performance(actor.account_id, group_by, since, until)
        named = await queries.names(actor.account_id, group_by,
                                    [r["key"] for r in raw if r["key"] is not None])
        total = Totals()
        rows = []
        # Messages without the dimension (no schedule, no carrier known) come last.
        for row in sorted(raw, key=lambda r: (r["key"] is None or r["key"] == "",
                                              r["key"] or 0)):
            counts = Totals.from_row(row)
            total.add(counts)
            key = row["key"]
            name = named.get(key, key) if group_by in ("list", "schedule", "creative",
                                                       "offer", "journey") else key
            rows.append({"key": key if key != "" else None, "name": name or None,
                         **counts.metrics()})
        return Performance(group_by, since, until, rows, total.metrics())

    async def for_period(self, actor: Actor, *, period: str, grouping: str = "day",
                         since: str | None = None, until: str | None = None
                         ) -> tuple[Period, Performance]:
        """A report for a named period in the account's timezone (the bot's /report and
        the daily summary): grouping as operators name it (campaign, not schedule)."""
        actor.require(Action.READ)
        if grouping not in GROUPINGS:
            raise ValidationError(f"group must be one of {', '.join(GROUPINGS)}.",
                                  code="invalid_group_by", field="group")
        account = await Account.get(id=actor.account_id)
        bounds = periods.period(period, self.clock.now(), account.default_timezone,
                                since=since, until=until)
        report = await self.performance(actor, group_by=GROUPINGS[grouping],
                                        since=bounds.since, until=bounds.until)
        return bounds, report

    async def cohorts(self, actor: Actor, *, since: dt.datetime | None = None,
                      until: dt.datetime | None = None, export: bool = False) -> Cohorts:
        """LTV by signup week: subscriptions made each week and the attributed revenue
        they brought within 7, 30 and 90 days of signup, in all and per subscription.
        ``complete_<n>d`` says whether every subscription of the week has had its n
        days (a younger cohort's figure can still grow)."""
        actor.require(Action.READ)
        now = self.clock.now()
        since, until = _period(now, since, until, dt.timedelta(weeks=COHORT_WEEKS))
        if export:
            await self.audit.record(actor, "export.cohorts", changes={
                "since": since.isoformat(), "until": until.isoformat()})
        rows = []
        for row in await queries.cohorts(actor.account_id, since, until):
            week = dt.date.fromisoformat(str(row["week"])[:10])
            contacts = int(row["contacts"])
            week_end = dt.datetime.combine(week + dt.timedelta(days=7), dt.time(),
                                           dt.UTC)
            out: dict[str, Any] = {"week": week.isoformat(), "contacts": contacts}
            for days in queries.HORIZONS:
                revenue = as_decimal(row[f"revenue_{days}"])
                out[f"revenue_{days}d"] = _fmt(revenue)
                out[f"ltv_{days}d"] = _fmt(revenue / contacts if contacts else Decimal(0))
                out[f"complete_{days}d"] = now >= week_end + dt.timedelta(days=days)
            rows.append(out)
        return Cohorts(since, until, rows)


def _fmt(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.0001")), "f")


def performance_csv(report: Performance) -> str:
    """The rows and a last ``total`` row, one column per metric."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["key", "name", *METRICS])
    for row in report.rows:
        writer.writerow([_cell(row["key"]), _cell(row["name"]),
                         *(row[m] for m in METRICS)])
    writer.writerow(["total", "", *(report.totals[m] for m in METRICS)])
    return out.getvalue()


def cohorts_csv(report: Cohorts) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    columns = ["week", "contacts"] + [f"{what}_{d}d" for d in queries.HORIZONS
                                      for what in ("revenue", "ltv", "complete")]
    writer.writerow(columns)
    for row in report.rows:
        writer.writerow([str(row[c]).lower() if isinstance(row[c], bool) else row[c]
                         for c in columns])
    return out.getvalue()


def _cell(value: Any) -> str:
    """A cell no spreadsheet runs as a formula (a carrier or a name is outside text)."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
