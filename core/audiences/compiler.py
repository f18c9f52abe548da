"""A condition tree compiled to one SQL statement, for PostgreSQL or SQLite.

Pure: no connection, only text and parameters; ``queries.py`` runs them. Every value
from the tree is a bound parameter, never text of the statement. Conditions test a
subscription (``list_contact lc``, joined to ``contact c`` only when a condition needs the
contact); a contact is in the audience when any of its subscriptions on the source lists
matches, and counts once.

The semantics are those of ``conditions.SEMANTICS``, and the same on both backends:

- strings: trimmed of space, tab, CR and LF, A-Z lower-cased (SQLite's ``lower`` folds
  only A-Z, so PostgreSQL uses ``translate`` rather than its locale's ``lower``);
- custom fields are read by JSON type (SQLite's ``json_extract`` answers INTEGER for
  ``35`` and TEXT for ``"40"``; PostgreSQL's column is JSONB): numbers, or strings of the
  numeric shape (``GLOB`` patterns on SQLite, a regular expression on PostgreSQL),
  compare as numbers; SQLite reads them with ``CAST(... AS NUMERIC)``, exact for integers
  and for decimals of up to 15 significant digits, the limit values are held to;
- revenue is NUMERIC on PostgreSQL and text on SQLite: read as REAL there (exact to 15
  digits), and ``avg_revenue`` is compared without dividing (``revenue op value x
  conversions``, in integer ten-thousandths on SQLite), so no rounding can differ;
- a negative operator is ``NOT COALESCE(positive, FALSE)``: the exact complement, a
  missing value included. Positive conditions may be NULL (unknown) where a value is
  missing; with no NOT above them, that counts as not matching.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from core.audiences.conditions import (
    MONEY_PLACES,
    Condition,
    Group,
    Kind,
    Operator,
)
from core.audiences.models import BoolOperator
from core.sql import sqlite_ts

POSTGRES = "postgres"
SQLITE = "sqlite"

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TRIM_PG = "' ' || chr(9) || chr(10) || chr(13)"
_TRIM_SQLITE = "char(32, 9, 10, 13)"
# The shapes of conditions.NUMERIC_STRING (around it the spaces TRIM removes) and
# DATE_STRING (on trimmed text), as PostgreSQL regular expressions.
_NUMERIC_RE = r"'^[ \t\n\r]*[+-]?[0-9]+([.][0-9]+)?[ \t\n\r]*$'"
_DATE_RE = "'^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].*)?$'"
_D = "[0-9]"
_DATE_GLOB = f"'{_D * 4}-{_D * 2}-{_D * 2}'"
_DATE_TIME_GLOB = f"'{_D * 4}-{_D * 2}-{_D * 2}[T ]*'"

# field -> column ("c." columns need the contact row)
_TEXT_COLUMNS = {
    "status": "lc.status", "signup_method": "lc.signup_method", "carrier": "c.carrier",
    "line_type": "c.line_type", "timezone": "c.timezone",
    # The contact's, copied onto the subscription (migration 0020): no join for them.
    "state": "lc.state", "area_code": "lc.area_code",
}
# Columns that only ever hold trimmed text in one case: enums core writes, the digits of an
# area code, the two-letter codes of AREA_CODE_STATES. They are compared as stored, the
# condition's (folded) value put in their case, which means the same and lets the planner
# use the column's statistics (a folded column has none: PostgreSQL misjudged a state
# filter by ten times and chose a nested loop over a million rows).
_ASCII_UPPER = str.maketrans(_UPPER.lower(), _UPPER)
_CANONICAL: dict[str, Callable[[str], str]] = {
    "status": str, "signup_method": str, "line_type": str, "area_code": str,
    "state": lambda folded: folded.translate(_ASCII_UPPER),
}
_TIME_COLUMNS = {
    "signup_date": "lc.signup_date", "last_sent_at": "lc.last_sent_at",
    "last_clicked_at": "lc.last_clicked_at", "last_revenue_at": "lc.last_revenue_at",
}
_COUNT_COLUMNS = {
    "send_count": "lc.send_count", "click_count": "lc.click_count",
    "conversion_count": "lc.conversion_count",
}
_COMPARE = {Operator.EQ: "=", Operator.GT: ">", Operator.GTE: ">=", Operator.LT: "<",
            Operator.LTE: "<="}


@dataclass
class _Sql:
    """Parameters and their placeholders: ``$n`` on PostgreSQL, ``?n`` on SQLite (numbered,
    so one parameter can appear several times in the text, in any order)."""

    dialect: str
    params: list[Any] = field(default_factory=list)

    @property
    def pg(self) -> bool:
        return self.dialect == POSTGRES

    def __call__(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}" if self.pg else f"?{len(self.params)}"


@dataclass(frozen=True, slots=True)
class Compiled:
    sql: str
    params: list[Any]


@dataclass(frozen=True, slots=True)
class Scope:
    """Where an audience looks: its account and source lists, and the moment and zone
    that give ``within_days`` and plain dates their meaning."""

    account_id: int
    list_ids: tuple[int, ...]
    now: dt.datetime
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))


def count_sql(tree: Group, scope: Scope, dialect: str) -> Compiled:
    """How many contacts the audience holds (one row, one column).

    Where a PostgreSQL count's time goes (issue 12's goal: a 4-condition count on a
    1,000,000-subscription list at most 3x a bare ``count(*)`` of it): the conditions read
    every subscription of the lists (a seq scan; the bare count is an index-only scan), so
    the cost is deforming each row to the last column the conditions test, and, before
    migration 0020, the hash join to ``contact`` for ``state``. Migration 0020 copied the
    contact's state and area code onto the subscription (no join for them) and put the
    scope and filter columns first, the wide text last (its LAYOUT). Measured on copies
    of the table before it: a covering index INCLUDE-ing every filter column (20k pages
    against the heap's 24k, slower, and every send's counter update non-HOT), a narrow
    copy of the filter columns (~10%), an index on ``(sending_list_id, last_clicked_at)``
    (the bitmap heap scan reads the same pages) did not help. bench/audience_count.py
    measures it: on 1,000,000 subscriptions the example went from 290 to 148 ms, 4 ANDed
    conditions from 284 to 192 ms, next to a 43-46 ms bare count (3.4x and 4.5x: what is
    left is the seq scan itself against an index-only count). On a quiet machine (2 cores,
    parallel seq scan with 2 workers) the three cases measured 118-136 ms against a 41 ms
    bare count (2.9-3.3x). Tried then and left: shared_buffers 4 GB instead of 128 MB (the
    table then stays in PostgreSQL's cache instead of passing through a 256 kB ring: no
    change, the pages come from the kernel's cache cheaply), JIT (jit_above_cost 0: the
    compile costs what the deforming saves, 2.1-2.8x only because the bare count slowed
    more), one parallel worker or none (3.4-5.3x).

    SQLite searches the lists through an index on ``sending_list_id`` and fetches each row
    by rowid in that index's order: with a state condition, the (sending_list_id, state)
    index of migration 0022 keeps that to the state's rows (the example on 1,000,000
    subscriptions 1,422 -> 172 ms). Without one it walks the list by state or by
    (status, signup_date), not in the table's order: at 200,000 subscriptions a custom.age
    count took 423 ms where a table scan took 205 ms (not addressed yet)."""
    sql = _Sql(dialect)
    source, where = _from_where(tree, scope, sql)
    if len(scope.list_ids) == 1:
        # A contact is on a list once (unique list, contact): no need to deduplicate.
        return Compiled(f"SELECT count(*) AS size FROM {source} WHERE {where}", sql.params)
    return Compiled(f"SELECT count(*) AS size FROM (SELECT DISTINCT lc.contact_id FROM "
                    f"{source} WHERE {where}) AS matched", sql.params)


def sample_sql(tree: Group, scope: Scope, dialect: str, limit: int) -> Compiled:
    """Up to ``limit`` contacts of the audience, lowest contact id first, each with its
    first matching subscription: rows of (contact_id, list_contact_id)."""
    sql = _Sql(dialect)
    source, where = _from_where(tree, scope, sql)
    if len(scope.list_ids) == 1:
        # One row per contact already; the (list, contact) index yields them in order.
        return Compiled(f"SELECT lc.contact_id AS contact_id, lc.id AS list_contact_id "
                        f"FROM {source} WHERE {where} ORDER BY lc.contact_id "
                        f"LIMIT {sql(limit)}", sql.params)
    return Compiled(f"SELECT lc.contact_id AS contact_id, min(lc.id) AS list_contact_id "
                    f"FROM {source} WHERE {where} GROUP BY lc.contact_id "
                    f"ORDER BY lc.contact_id LIMIT {sql(limit)}", sql.params)


def matching_sql(tree: Group, scope: Scope, dialect: str,
                 list_contact_ids: Sequence[int]) -> Compiled:
    """Which of these subscriptions match the tree: rows of (list_contact_id). A journey's
    trigger and its field tests ask this of the contacts at hand."""
    sql = _Sql(dialect)
    source, where = _from_where(tree, scope, sql)
    if sql.pg:
        ids = f"lc.id = ANY({sql(list(list_contact_ids))}::bigint[])"
    else:
        ids = "lc.id IN (" + ", ".join(sql(i) for i in list_contact_ids) + ")"
    return Compiled(f"SELECT lc.id AS list_contact_id FROM {source} WHERE {ids} AND {where}",
                    sql.params)


def subscriptions_sql(audiences: list[tuple[Group, Scope]], dialect: str,
                      columns: str = "lc.id, lc.contact_id") -> tuple[str, Any]:
    """The subscriptions that match any of ``audiences`` (each its tree on its lists), as
    a UNION ALL of one SELECT of ``columns`` per audience, to embed in a larger statement.
    Returns the text and the parameter collector, numbered from 1, which the caller
    goes on filling (``param(value)`` answers the next placeholder)."""
    sql = _Sql(dialect)
    parts = []
    for tree, scope in audiences:
        if not scope.list_ids:
            continue
        source, where = _from_where(tree, scope, sql)
        parts.append(f"SELECT {columns} FROM {source} WHERE {where}")
    if not parts:
        parts.append(f"SELECT {columns} FROM list_contact lc WHERE FALSE")
    return " UNION ALL ".join(parts), sql


def _from_where(tree: Group, scope: Scope, sql: _Sql) -> tuple[str, str]:
    if not scope.list_ids:
        raise ValueError("an audience needs at least one source list")
    lists = ", ".join(sql(i) for i in scope.list_ids)
    condition = _Compiler(sql, scope).group(tree)
    source = "list_contact lc"
    if _needs_contact(tree):
        source += " JOIN contact c ON c.id = lc.contact_id"
    if condition == "TRUE":
        # Everyone on the lists: scoped through the lists' owner, so the (list, contact)
        # index answers alone (an index-only scan), as fast as a bare count of the list.
        return source, (f"lc.sending_list_id IN (SELECT sl.id FROM sending_list sl WHERE "
                        f"sl.account_id = {sql(scope.account_id)} AND sl.id IN ({lists}))")
    # The conditions read each subscription's row anyway: its account is free to test.
    return source, (f"lc.sending_list_id IN ({lists}) AND lc.account_id = "
                    f"{sql(scope.account_id)} AND {condition}")


def _needs_contact(tree: Group) -> bool:
    return any(c.field == "on_dnc" or _TEXT_COLUMNS.get(c.field, "").startswith("c.")
               for c in tree.walk())


class _Compiler:
    def __init__(self, sql: _Sql, scope: Scope) -> None:
        self.sql = sql
        self.scope = scope

    def group(self, group: Group) -> str:
        parts = [self.condition(c) for c in group.conditions]
        parts += [self.group(g) for g in group.groups]
        if not parts:
            return "TRUE"
        if len(parts) == 1:
            return parts[0]
        joiner = " AND " if group.operator == BoolOperator.AND else " OR "
        return "(" + joiner.join(parts) + ")"

    def condition(self, c: Condition) -> str:
        positive = self.positive(c)
        return f"NOT COALESCE({positive}, FALSE)" if c.negated else f"({positive})"

    def positive(self, c: Condition) -> str:
        """The condition with its positive operator: TRUE when it matches, FALSE or NULL
        when not."""
        op = c.positive
        if c.kind == Kind.PRESENCE:
            return self.present(c)
        if c.kind == Kind.TEXT:
            if c.field in _CANONICAL:
                cased = _CANONICAL[c.field]
                value = tuple(map(cased, c.value)) if op == Operator.IN else cased(c.value)
                return self.text(_TEXT_COLUMNS[c.field], op, value)
            return self.text(self.text_of(c), op, c.value)
        if c.kind == Kind.NUMBER:
            if c.field == "avg_revenue":
                return self.average(op, c.value)
            return self.number(self.number_of(c), op, c.value)
        if c.kind == Kind.FLAG:
            return self.flag(c)
        if c.kind == Kind.DAYS:
            if c.is_custom:
                today = self.scope.now.astimezone(self.scope.zone).date()
                cutoff = today - dt.timedelta(days=c.value)
                return f"{self.custom_date(c)} >= {self.sql(cutoff.isoformat())}"
            since = self.scope.now - dt.timedelta(days=c.value)
            return f"{_TIME_COLUMNS[c.field]} >= {self.sql(self.ts(since))}"
        if c.kind == Kind.DAY:
            compare = "<" if op == Operator.BEFORE else ">"
            return f"{self.custom_date(c)} {compare} {self.sql(c.value.isoformat())}"
        if c.kind == Kind.INSTANT:
            return self.instant(_TIME_COLUMNS[c.field], op, c.value)
        raise AssertionError(c.kind)

    # -- values ---------------------------------------------------------------------------

    def ts(self, value: dt.datetime) -> Any:
        return value if self.sql.pg else sqlite_ts(value)

    def norm(self, expr: str) -> str:
        if self.sql.pg:
            return (f"translate(btrim({expr}, {_TRIM_PG}), '{_UPPER}', "
                    f"'{_UPPER.lower()}')")
        return f"lower(trim({expr}, {_TRIM_SQLITE}))"

    def trim(self, expr: str) -> str:
        return f"btrim({expr}, {_TRIM_PG})" if self.sql.pg else f"trim({expr}, {_TRIM_SQLITE})"

    def key(self, c: Condition) -> str:
        key = c.custom_key
        assert key is not None
        # The key was checked against CUSTOM_KEY: an identifier, a valid JSON path.
        return self.sql(key) + "::text" if self.sql.pg else self.sql(f"$.{key}")

    def json_type(self, k: str) -> str:
        """The stored JSON type ('null' for a JSON null); NULL when the key is missing."""
        if self.sql.pg:
            return f"jsonb_typeof(lc.custom_fields -> {k})"
        return f"json_type(lc.custom_fields, {k})"

    def custom_string(self, k: str) -> str:
        """The stored value when it is a JSON string, else NULL."""
        if self.sql.pg:
            return (f"(CASE WHEN jsonb_typeof(lc.custom_fields -> {k}) = 'string' "
                    f"THEN lc.custom_fields ->> {k} END)")
        return (f"(CASE WHEN json_type(lc.custom_fields, {k}) = 'text' "
                f"THEN json_extract(lc.custom_fields, {k}) END)")

    def text_of(self, c: Condition) -> str:
        if c.is_custom:
            return self.norm(self.custom_string(self.key(c)))
        return self.norm(_TEXT_COLUMNS[c.field])

    def number_of(self, c: Condition) -> str:
        if c.field == "revenue_total":
            return "lc.revenue_total" if self.sql.pg else "CAST(lc.revenue_total AS REAL)"
        if not c.is_custom:
            return _COUNT_COLUMNS[c.field]
        k = self.key(c)
        if self.sql.pg:
            # numeric's input skips the spaces the pattern lets through, and a JSON number
            # casts straight from jsonb: each row's value is read as few times as can be.
            return (f"(CASE jsonb_typeof(lc.custom_fields -> {k}) "
                    f"WHEN 'number' THEN (lc.custom_fields -> {k})::numeric "
                    f"WHEN 'string' THEN CASE WHEN (lc.custom_fields ->> {k}) ~ {_NUMERIC_RE} "
                    f"THEN (lc.custom_fields ->> {k})::numeric END END)")
        text = self.trim(f"json_extract(lc.custom_fields, {k})")
        # GLOB has no repetition: digits and at most one point, after an optional sign,
        # starting with a digit and not ending with the point.
        numeric = (f"(({text} GLOB '[0-9]*' OR {text} GLOB '[-+][0-9]*') "
                   f"AND {text} NOT GLOB '?*[^0-9.]*' AND {text} NOT GLOB '*.*.*' "
                   f"AND {text} NOT GLOB '*.')")
        return (f"(CASE json_type(lc.custom_fields, {k}) "
                f"WHEN 'integer' THEN json_extract(lc.custom_fields, {k}) "
                f"WHEN 'real' THEN json_extract(lc.custom_fields, {k}) "
                f"WHEN 'text' THEN CASE WHEN {numeric} THEN CAST({text} AS NUMERIC) END END)")

    def custom_date(self, c: Condition) -> str:
        """The YYYY-MM-DD a stored string starts with (see DATE_STRING), else NULL."""
        text = self.trim(self.custom_string(self.key(c)))
        if self.sql.pg:
            return f"(CASE WHEN {text} ~ {_DATE_RE} THEN substr({text}, 1, 10) END)"
        return (f"(CASE WHEN {text} GLOB {_DATE_GLOB} OR {text} GLOB {_DATE_TIME_GLOB} "
                f"THEN substr({text}, 1, 10) END)")

    def number_param(self, value: Decimal) -> str:
        if self.sql.pg:
            return f"{self.sql(value)}::numeric"
        return self.sql(int(value) if value == value.to_integral_value() else float(value))

    # -- predicates -----------------------------------------------------------------------

    def text(self, expr: str, op: Operator, value: Any) -> str:
        if op == Operator.EQ:
            return f"{expr} = {self.sql(value)}"
        if op == Operator.IN:
            if self.sql.pg:
                return f"{expr} = ANY({self.sql(list(value))}::text[])"
            # One JSON parameter, as a PostgreSQL array: a filter may hold 100 lists of
            # 1,000 values, more than SQLite's 32,766 parameters.
            return f"{expr} IN (SELECT value FROM json_each({self.sql(json.dumps(value))}))"
        if op == Operator.CONTAINS:
            find = "strpos" if self.sql.pg else "instr"
            return f"{find}({expr}, {self.sql(value)}) > 0"
        raise AssertionError(op)

    def number(self, expr: str, op: Operator, value: Any) -> str:
        if op == Operator.IN:
            if self.sql.pg:
                return f"{expr} = ANY({self.sql(list(value))}::numeric[])"
            numbers = [int(v) if v == v.to_integral_value() else float(v) for v in value]
            return f"{expr} IN (SELECT value FROM json_each({self.sql(json.dumps(numbers))}))"
        return f"{expr} {_COMPARE[op]} {self.number_param(value)}"

    def average(self, op: Operator, value: Any) -> str:
        """avg_revenue op v, as revenue_total op v x conversion_count: no division."""
        if self.sql.pg:
            revenue = "lc.revenue_total"
            if op == Operator.IN:
                either = (f"{revenue} IN (SELECT v * lc.conversion_count FROM "
                          f"unnest({self.sql(list(value))}::numeric[]) AS v)")
            else:
                either = (f"{revenue} {_COMPARE[op]} {self.sql(value)}::numeric "
                          "* lc.conversion_count")
        else:
            # In integer ten-thousandths: revenue has 4 places, values at most 4.
            revenue = "CAST(round(CAST(lc.revenue_total AS REAL) * 10000) AS INTEGER)"
            scale = Decimal(10) ** MONEY_PLACES
            if op == Operator.IN:
                scaled = json.dumps([int(v * scale) for v in value])
                either = (f"{revenue} IN (SELECT value * lc.conversion_count FROM "
                          f"json_each({self.sql(scaled)}))")
            else:
                either = (f"{revenue} {_COMPARE[op]} {self.sql(int(value * scale))} "
                          "* lc.conversion_count")
        return f"lc.conversion_count > 0 AND {either}"

    def flag(self, c: Condition) -> str:
        wanted: bool = c.value
        if c.is_custom:
            k = self.key(c)
            word = "true" if wanted else "false"
            stored = (f"lc.custom_fields -> {k} = '{word}'::jsonb" if self.sql.pg
                      else f"json_type(lc.custom_fields, {k}) = '{word}'")
            return f"{stored} OR {self.norm(self.custom_string(k))} = '{word}'"
        if c.field == "in_workflow":
            expr = "lc.in_workflow" if self.sql.pg else "lc.in_workflow <> 0"
        elif c.field == "has_revenue":
            expr = ("lc.revenue_total > 0" if self.sql.pg
                    else "CAST(lc.revenue_total AS REAL) > 0")
        elif c.field == "on_dnc":
            expr = ("EXISTS (SELECT 1 FROM block b WHERE b.account_id = lc.account_id "
                    "AND b.phone_number = c.phone_number AND (b.sending_list_id IS NULL "
                    "OR b.sending_list_id = lc.sending_list_id))")
        else:
            raise AssertionError(c.field)
        return expr if wanted else f"NOT ({expr})"

    def present(self, c: Condition) -> str:
        if c.is_custom:
            k = self.key(c)
            kind = self.json_type(k)
            blank = f"{self.trim(self.custom_string(k))} = ''"
            return f"{kind} <> 'null' AND NOT COALESCE({blank}, FALSE)"
        if c.field in _TEXT_COLUMNS:
            return f"{self.trim(_TEXT_COLUMNS[c.field])} <> ''"  # NULL when missing
        if c.field in _TIME_COLUMNS:
            return f"{_TIME_COLUMNS[c.field]} IS NOT NULL"
        if c.field == "avg_revenue":
            return "lc.conversion_count > 0"
        return "TRUE"  # counts, revenue and flags always have a value

    def instant(self, column: str, op: Operator, value: dt.datetime | dt.date) -> str:
        if isinstance(value, dt.datetime):
            compare = "<" if op == Operator.BEFORE else ">"
            return f"{column} {compare} {self.sql(self.ts(value))}"
        # A date is that whole day in the account's zone.
        if op == Operator.BEFORE:
            return f"{column} < {self.sql(self.ts(self.midnight(value)))}"
        return f"{column} >= {self.sql(self.ts(self.midnight(value + dt.timedelta(days=1))))}"

    def midnight(self, day: dt.date) -> dt.datetime:
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.scope.zone).astimezone(dt.UTC)
