"""Named SQL for journeys: claiming due enrollments, the facts a batch needs, writing a
batch's outcome, and per-step statistics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from core.sql import Params, execute_many, fetch, placeholders, ts

ENROLL_ROWS = 1000  # 8 parameters a row: well inside PostgreSQL's 32,767


async def claim_due(now: dt.datetime, limit: int) -> list[dict[str, Any]]:
    """Due active enrollments, locked for the caller's transaction. PostgreSQL: rows
    another process holds are skipped, so two tickers never take the same one. SQLite is
    single-process and its writer lock serialises ticks."""
    p = Params()
    lock = " FOR UPDATE SKIP LOCKED" if p.pg else ""
    return await fetch(
        "SELECT id, account_id, journey_id, list_contact_id, current_position, steps_run, "
        "enrolled_at FROM journey_enrollment "
        f"WHERE status = 'active' AND next_run_at <= {p(ts(now))} "
        f"ORDER BY next_run_at, id LIMIT {p(limit)}{lock}", p)


async def subscribers(list_contact_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Each subscription with its contact's facts: one query."""
    p = Params()
    rows = await fetch(
        "SELECT lc.id, lc.account_id, lc.contact_id, lc.sending_list_id, lc.status, "
        "lc.first_name, lc.last_name, lc.custom_fields, lc.last_clicked_at, lc.click_count, "
        "c.phone_number, c.timezone, c.state, c.carrier, c.line_type, c.is_valid, "
        "(SELECT 1 FROM account_opt_out o WHERE o.account_id = lc.account_id "
        "AND o.contact_id = lc.contact_id) AS opted_out "
        "FROM list_contact lc JOIN contact c ON c.id = lc.contact_id "
        f"WHERE {p.isin('lc.id', list_contact_ids)}", p)
    return {int(r["id"]): r for r in rows}


async def clicked_and_converted(enrollment_ids: Sequence[int]) -> tuple[set[int], set[int]]:
    """Enrollments one of whose messages has a counted (human) click, and those with an
    attributed conversion."""
    p = Params()
    rows = await fetch(
        "SELECT ms.enrollment_id AS id, count(mc.id) AS clicks, "
        "(SELECT count(*) FROM conversion cv WHERE cv.attributed AND "
        "cv.message_id IN (SELECT m2.id FROM message_sent m2 WHERE m2.enrollment_id = "
        "ms.enrollment_id)) AS conversions "
        "FROM message_sent ms JOIN message_click mc ON mc.message_id = ms.id "
        f"WHERE {p.isin('ms.enrollment_id', enrollment_ids)} GROUP BY ms.enrollment_id", p)
    clicked = {int(r["id"]) for r in rows if r["clicks"]}
    converted = {int(r["id"]) for r in rows if r["conversions"]}
    return clicked, converted


async def write_runs(rows: Sequence[tuple[Any, ...]]) -> None:
    """(account, journey, enrollment, seq, position, step_type, outcome, message, ran_at).
    (enrollment, seq) is unique: a step run twice would fail the whole batch."""
    cols = ("account_id", "journey_id", "enrollment_id", "seq", "position", "step_type",
            "outcome", "message_id", "ran_at")
    marks = ", ".join(placeholders(len(cols)))
    await execute_many(f"INSERT INTO journey_step_run ({', '.join(cols)}) VALUES ({marks})",
                       [(*r[:-1], ts(r[-1])) for r in rows])


async def move_enrollments(rows: Sequence[tuple[Any, ...]]) -> None:
    """(position, status, next_run_at, steps_run, finished_at, exit_reason, id, old
    steps_run): each moves only from the state it was read in."""
    marks = placeholders(8)
    await execute_many(
        f"UPDATE journey_enrollment SET current_position = {marks[0]}, status = {marks[1]}, "
        f"next_run_at = {marks[2]}, steps_run = {marks[3]}, finished_at = {marks[4]}, "
        f"exit_reason = {marks[5]}, claim_token = NULL "
        f"WHERE id = {marks[6]} AND steps_run = {marks[7]}",
        [(pos, status, ts(nra), run, ts(fin), reason, ident, old)
         for pos, status, nra, run, fin, reason, ident, old in rows])


async def out_of_workflow(list_contact_ids: Sequence[int], now: dt.datetime) -> None:
    """Clear ``in_workflow`` unless another journey still holds the subscription."""
    if not list_contact_ids:
        return
    p = Params()
    await fetch(
        f"UPDATE list_contact SET in_workflow = {p(False)}, updated_at = {p(ts(now))} "
        f"WHERE {p.isin('id', list_contact_ids)} AND NOT EXISTS (SELECT 1 FROM "
        "journey_enrollment e WHERE e.list_contact_id = list_contact.id "
        "AND e.status = 'active')", p)


async def into_workflow(list_contact_ids: Sequence[int], now: dt.datetime) -> None:
    if not list_contact_ids:
        return
    p = Params()
    await fetch(f"UPDATE list_contact SET in_workflow = {p(True)}, updated_at = {p(ts(now))} "
                f"WHERE {p.isin('id', list_contact_ids)}", p)


async def enroll(journey_id: int, account_id: int, list_contact_ids: Sequence[int],
                 now: dt.datetime, first_position: int) -> list[int]:
    """One enrollment per subscription per journey: a repeat inserts nothing. Returns the
    subscriptions newly enrolled."""
    enrolled: list[int] = []
    for start in range(0, len(list_contact_ids), ENROLL_ROWS):
        p = Params()
        rows = ", ".join(
            f"({p(account_id)}, {p(journey_id)}, {p(lc)}, {p(first_position)}, 'active', "
            f"{p(ts(now))}, {p(ts(now))}, 0)"
            for lc in list_contact_ids[start:start + ENROLL_ROWS])
        got = await fetch(
            "INSERT INTO journey_enrollment (account_id, journey_id, list_contact_id, "
            "current_position, status, next_run_at, enrolled_at, steps_run) "
            f"VALUES {rows} ON CONFLICT DO NOTHING RETURNING list_contact_id", p)
        enrolled += [int(r["list_contact_id"]) for r in got]
    return enrolled


async def step_stats(journey_id: int) -> list[dict[str, Any]]:
    """Per step: entered (runs), sent, clicked (counted clicks on its messages), converted
    and revenue (attributed conversions on them), exited (runs that ended the journey)."""
    p = Params()
    return await fetch(
        "SELECT r.position, count(*) AS entered, count(r.message_id) AS sent, "
        "count(mc.id) AS clicked, "
        "count(CASE WHEN r.outcome IN ('exited', 'unsubscribed') THEN 1 END) AS exited, "
        "coalesce(sum(cv.conversions), 0) AS converted, "
        "coalesce(sum(cv.revenue), 0) AS revenue "
        "FROM journey_step_run r "
        "LEFT JOIN message_click mc ON mc.message_id = r.message_id "
        "LEFT JOIN (SELECT message_id, count(*) AS conversions, sum(revenue) AS revenue "
        "FROM conversion WHERE attributed AND message_id IN (SELECT message_id FROM "
        f"journey_step_run WHERE journey_id = {p(journey_id)}) GROUP BY message_id) cv "
        "ON cv.message_id = r.message_id "
        f"WHERE r.journey_id = {p(journey_id)} GROUP BY r.position ORDER BY r.position", p)


async def exits_by_status(journey_id: int) -> dict[str, int]:
    p = Params()
    rows = await fetch("SELECT status, count(*) AS n FROM journey_enrollment WHERE "
                       f"journey_id = {p(journey_id)} GROUP BY status", p)
    return {r["status"]: int(r["n"]) for r in rows}

