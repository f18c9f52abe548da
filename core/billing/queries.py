"""Billing's SQL: claiming usage for an invoice and counting segments, both backends."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from core.sql import Params, execute, fetch, read_ts, ts

# A usage record is billed on the provider's count where it gave one (set on the message
# by core.messaging.receipts), else on ours. Once invoiced, the record keeps what it was
# billed on (billed_segments), whatever arrives later.


@dataclass(frozen=True)
class Counts:
    billed: int = 0  # what is charged for
    ours: int = 0  # our own count of the same messages
    records: int = 0
    differing: int = 0  # records whose provider count is not ours
    list_cost: Decimal = Decimal(0)  # what the records carried at the list price


async def claim(invoice_id: int, account_id: int, *, since: dt.datetime | None,
                upto: dt.datetime) -> int:
    """Usage of the account not yet invoiced, in [since, upto), now belongs to the
    invoice, with the count it is billed on fixed. Records another invoice took first
    are not touched (a re-run or a second worker claims nothing twice)."""
    p = Params()  # (placeholders in the order they appear: SQLite's are positional)
    sql = (f"UPDATE usage_record SET invoice_id = {p(invoice_id)}, billed_segments = v.b "
           "FROM (SELECT u.id, COALESCE(NULLIF(m.provider_segments, 0), u.segments) AS b "
           "FROM usage_record u LEFT JOIN message_sent m ON m.id = u.message_id "
           f"WHERE u.account_id = {p(account_id)} AND u.invoice_id IS NULL "
           f"AND u.occurred_at < {p(ts(upto))}")
    if since is not None:
        sql += f" AND u.occurred_at >= {p(ts(since))}"
    # One pass: each record takes the invoice and its billed count (the provider's where
    # it gave one, else ours) in the same write.
    return await execute(sql + ") AS v WHERE usage_record.id = v.id "
                         "AND usage_record.invoice_id IS NULL", p)


async def counts(account_id: int, *, lo: dt.datetime | None, hi: dt.datetime | None,
                 scope: str, invoice_id: int | None = None) -> Counts:
    """Segments of the account in [lo, hi). ``scope``: ``invoice`` (of ``invoice_id``),
    ``before`` (invoiced by any other invoice), ``pending`` (not invoiced) or ``all``."""
    p = Params()
    where = [f"u.account_id = {p(account_id)}"]
    if lo is not None:
        where.append(f"u.occurred_at >= {p(ts(lo))}")
    if hi is not None:
        where.append(f"u.occurred_at < {p(ts(hi))}")
    if scope == "invoice":
        where.append(f"u.invoice_id = {p(invoice_id)}")
    elif scope == "before":
        where.append("u.invoice_id IS NOT NULL")
        if invoice_id is not None:
            where.append(f"u.invoice_id <> {p(invoice_id)}")
    elif scope == "pending":
        where.append("u.invoice_id IS NULL")
    # Each row's billed count once (a join, not a subquery per use), then the sums.
    rows = await fetch(
        "SELECT COALESCE(SUM(b), 0) AS billed, COALESCE(SUM(s), 0) AS ours, "
        "COUNT(*) AS records, COALESCE(SUM(CASE WHEN b <> s THEN 1 ELSE 0 END), 0) "
        "AS differing, COALESCE(SUM(pr), 0) AS list_cost FROM ("
        "SELECT CASE WHEN u.invoice_id IS NULL THEN "
        "COALESCE(NULLIF(m.provider_segments, 0), u.segments) ELSE u.billed_segments END "
        "AS b, u.segments AS s, u.price AS pr FROM usage_record u "
        "LEFT JOIN message_sent m ON m.id = u.message_id AND u.invoice_id IS NULL "
        f"WHERE {' AND '.join(where)}) AS x", p)
    row = rows[0]
    return Counts(int(row["billed"]), int(row["ours"]), int(row["records"]),
                  int(row["differing"]), Decimal(str(row["list_cost"])))


async def billed_since(account_id: int, *, month: dt.datetime, cycle: dt.datetime
                       ) -> tuple[int, int]:
    """Segments billed (or to be billed) since the month began and since the cycle began,
    in one read of the rows (what an estimate needs before a launch)."""
    p = Params()  # (in the order they appear: SQLite's placeholders are positional)
    sql = (f"SELECT COALESCE(SUM(CASE WHEN t >= {p(ts(month))} THEN b ELSE 0 END), 0) AS m, "
           f"COALESCE(SUM(CASE WHEN t >= {p(ts(cycle))} THEN b ELSE 0 END), 0) AS c FROM ("
           "SELECT u.occurred_at AS t, CASE WHEN u.invoice_id IS NULL THEN "
           "COALESCE(NULLIF(m.provider_segments, 0), u.segments) ELSE u.billed_segments END "
           "AS b FROM usage_record u "
           "LEFT JOIN message_sent m ON m.id = u.message_id AND u.invoice_id IS NULL "
           f"WHERE u.account_id = {p(account_id)} "
           f"AND u.occurred_at >= {p(ts(min(month, cycle)))}) AS x")
    row = (await fetch(sql, p))[0]
    return int(row["m"]), int(row["c"])


async def claimed_span(invoice_id: int) -> tuple[dt.datetime, dt.datetime] | None:
    """When the first and the last usage of an invoice happened."""
    p = Params()
    rows = await fetch("SELECT MIN(occurred_at) AS lo, MAX(occurred_at) AS hi "
                       f"FROM usage_record WHERE invoice_id = {p(invoice_id)}", p)
    lo, hi = read_ts(rows[0]["lo"]), read_ts(rows[0]["hi"])
    return None if lo is None or hi is None else (lo, hi)
