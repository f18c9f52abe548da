"""The report SQL: one statement per report, on both backends, over indexed columns.

Performance counts every message that went to a provider in the period (its
``sent_at``, or ``failed_at`` for one refused at send: index (account_id, sent_at) and
(failed_at)), with what happened to it joined from per-message aggregates: raw clicks
(message_short_link_click, bots apart), counted clicks (message_click), attributed
conversions, and opt-outs (an inbound STOP belongs to the last message its sender
received from that list before it). Everything is keyed by the message, so each
message's clicks, revenue and opt-outs land in its own group, whatever day they came."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from core.sql import Params, fetch, ts

# group_by -> the key expression over message_sent m (and contact c for carrier).
_KEYS_SQLITE = {
    "day": "substr(COALESCE(m.sent_at, m.failed_at), 1, 10)",
    "list": "m.sending_list_id", "schedule": "m.schedule_id", "creative": "m.creative_id",
    "offer": "m.offer_id", "journey": "m.journey_id", "carrier": "c.carrier",
}
_KEYS_PG = {
    **_KEYS_SQLITE,
    "day": "to_char(COALESCE(m.sent_at, m.failed_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
}
GROUPS = tuple(_KEYS_SQLITE)
OPTING_OUT = ("unsubscribed", "complaint_unsubscribed")
NEGATIVE = ("refund", "chargeback")


async def performance(account_id: int, group_by: str, since: dt.datetime,
                      until: dt.datetime) -> list[dict[str, Any]]:
    """Raw counts and sums per group: key, sends, delivered, failed, segments, cost,
    clicks, bot_clicks, unique_clicks, conversions, revenue, opt_outs."""
    p = Params()
    key = (_KEYS_PG if p.pg else _KEYS_SQLITE)[group_by]
    start, end = ts(since), ts(until)
    contact = "JOIN contact c ON c.id = m.contact_id " if group_by == "carrier" else ""
    # Placeholders are handed out in the order they appear in the text (SQLite's "?").
    clicks = (
        "LEFT JOIN (SELECT message_id, COUNT(*) AS clicks, "
        "SUM(CASE WHEN is_bot THEN 1 ELSE 0 END) AS bot_clicks "
        f"FROM message_short_link_click WHERE account_id = {p(account_id)} "
        f"AND clicked_at >= {p(start)} GROUP BY message_id) k ON k.message_id = m.id ")
    counted = (
        "LEFT JOIN (SELECT message_id, COUNT(*) AS n FROM message_click "
        f"WHERE account_id = {p(account_id)} AND clicked_at >= {p(start)} "
        "GROUP BY message_id) u ON u.message_id = m.id ")
    conversions = (
        "LEFT JOIN (SELECT message_id, SUM(CASE WHEN event_type IN ("
        + ", ".join(p(t) for t in NEGATIVE) + ") THEN 0 ELSE 1 END) AS n, "
        "SUM(revenue) AS revenue FROM conversion "
        f"WHERE account_id = {p(account_id)} AND attributed = {p(True)} "
        # A day's margin: a network's conversion time may run a little behind ours.
        f"AND occurred_at >= {p(ts(since - dt.timedelta(days=1)))} "
        "AND message_id IS NOT NULL GROUP BY message_id) v ON v.message_id = m.id ")
    opt_outs = (
        "LEFT JOIN (SELECT x.message_id, COUNT(*) AS n FROM (SELECT "
        "(SELECT m2.id FROM message_sent m2 WHERE m2.contact_id = i.contact_id "
        f"AND m2.sending_list_id = i.sending_list_id AND m2.is_reply = {p(False)} "
        "AND m2.sent_at IS NOT NULL AND m2.sent_at <= i.received_at "
        "ORDER BY m2.sent_at DESC, m2.id DESC LIMIT 1) AS message_id "
        f"FROM inbound_message i WHERE i.account_id = {p(account_id)} "
        f"AND i.received_at >= {p(start)} AND i.action_taken IN ("
        + ", ".join(p(a) for a in OPTING_OUT) + ")) x "
        "GROUP BY x.message_id) o ON o.message_id = m.id ")
    sql = (
        f"SELECT {key} AS key, COUNT(*) AS sends, "
        "SUM(CASE WHEN m.status = 'delivered' THEN 1 ELSE 0 END) AS delivered, "
        "SUM(CASE WHEN m.status IN ('undelivered', 'failed') THEN 1 ELSE 0 END) AS failed, "
        "SUM(m.segments) AS segments, SUM(m.price) AS cost, "
        "SUM(COALESCE(k.clicks, 0)) AS clicks, SUM(COALESCE(k.bot_clicks, 0)) AS bot_clicks, "
        "SUM(COALESCE(u.n, 0)) AS unique_clicks, SUM(COALESCE(v.n, 0)) AS conversions, "
        "SUM(COALESCE(v.revenue, 0)) AS revenue, SUM(COALESCE(o.n, 0)) AS opt_outs "
        f"FROM message_sent m {contact}{clicks}{counted}{conversions}{opt_outs}"
        f"WHERE m.account_id = {p(account_id)} AND m.status IN "
        "('sent', 'delivered', 'undelivered', 'failed') AND ("
        f"(m.sent_at >= {p(start)} AND m.sent_at < {p(end)}) OR (m.sent_at IS NULL "
        f"AND m.failed_at >= {p(start)} AND m.failed_at < {p(end)})) "
        "GROUP BY 1 ORDER BY 1")
    return await fetch(sql, p)


HORIZONS = (7, 30, 90)


async def cohorts(account_id: int, since: dt.datetime, until: dt.datetime
                  ) -> list[dict[str, Any]]:
    """Per signup week (Monday, UTC): subscriptions made, and the attributed revenue
    they earned within 7, 30 and 90 days of each one's own signup."""
    p = Params()
    if p.pg:
        week = ("to_char(date_trunc('week', lc.signup_date AT TIME ZONE 'UTC'), "
                "'YYYY-MM-DD')")

        def within(days: int) -> str:
            return f"v.occurred_at < lc.signup_date + interval '{days} days'"
    else:
        week = "date(lc.signup_date, 'weekday 0', '-6 days')"

        def within(days: int) -> str:
            return f"julianday(v.occurred_at) < julianday(lc.signup_date) + {days}"
    sums = ", ".join(f"SUM(CASE WHEN {within(d)} THEN v.revenue ELSE 0 END) AS revenue_{d}"
                     for d in HORIZONS)
    sql = (
        f"SELECT {week} AS week, COUNT(DISTINCT lc.id) AS contacts, {sums} "
        "FROM list_contact lc LEFT JOIN conversion v ON v.contact_id = lc.contact_id "
        "AND v.sending_list_id = lc.sending_list_id AND v.account_id = lc.account_id "
        f"AND v.attributed = {p(True)} "
        f"WHERE lc.account_id = {p(account_id)} AND lc.signup_date >= {p(ts(since))} "
        f"AND lc.signup_date < {p(ts(until))} GROUP BY 1 ORDER BY 1")
    return await fetch(sql, p)


_NAMES = {"list": ("sending_list", "COALESCE(NULLIF(name, ''), phone_number)"),
          "schedule": ("schedule", "name"), "creative": ("message_creative", "name"),
          "offer": ("offer", "name"), "journey": ("welcome_journey", "name")}


async def names(account_id: int, group_by: str, ids: Sequence[int]) -> dict[int, str]:
    """What to call each key of an id dimension (a list's name or number...)."""
    if group_by not in _NAMES or not ids:
        return {}
    table, column = _NAMES[group_by]
    p = Params()
    rows = await fetch(f"SELECT id, {column} AS name FROM {table} WHERE "
                       f"account_id = {p(account_id)} AND {p.isin('id', ids)}", p)
    return {r["id"]: r["name"] for r in rows}
