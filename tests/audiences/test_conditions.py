"""Parsing and validating an audience filter: what a client sending a bad one is told."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from core.audiences.conditions import (
    FIELDS,
    Kind,
    Operator,
    parse_condition,
    parse_filter,
)
from core.errors import ValidationError

EXAMPLE = {"operator": "and",
           "conditions": [{"field": "state", "operator": "eq", "value": "CA"},
                          {"field": "custom.age", "operator": "gte", "value": 30}],
           "groups": [{"operator": "or",
                       "conditions": [{"field": "last_clicked_at", "operator": "within_days",
                                       "value": 30},
                                      {"field": "has_revenue", "operator": "eq",
                                       "value": True}],
                       "groups": []}]}


def refused(raw: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        parse_filter(raw)
    return caught.value


def condition(field: str, operator: str, value: Any = None, **extra: Any) -> dict[str, Any]:
    out = {"field": field, "operator": operator, **extra}
    if value is not None:
        out["value"] = value
    return out


def one(cond: dict[str, Any]) -> dict[str, Any]:
    return {"operator": "and", "conditions": [cond], "groups": []}


def nested(levels: int) -> dict[str, Any]:
    tree: dict[str, Any] = {"operator": "and", "conditions": [], "groups": []}
    for _ in range(levels - 1):
        tree = {"operator": "or", "conditions": [], "groups": [tree]}
    return tree


def test_the_api_example_parses_and_reads_back_the_same():
    tree = parse_filter(EXAMPLE)
    assert tree.to_json() == EXAMPLE
    state, age = tree.conditions
    assert (state.kind, state.value) == (Kind.TEXT, "ca")
    assert (age.kind, age.value, age.custom_key) == (Kind.NUMBER, Decimal(30), "age")


def test_an_empty_filter_matches_everyone():
    for raw in (None, {}, {"operator": "or", "conditions": [], "groups": []}):
        assert parse_filter(raw).is_empty


def test_five_levels_is_the_limit_counting_the_filter_itself():
    assert parse_filter(nested(5))
    error = refused(nested(6))
    assert error.code == "too_deep"
    assert error.field == "filter" + ".groups[0]" * 5


@pytest.mark.parametrize("name", ["colour", "custom.", "custom.Bad-Key", "custom.9lives",
                                  "", 7, None])
def test_unknown_fields(name):
    error = refused(one({"field": name, "operator": "eq", "value": "x"}))
    assert error.code == "unknown_field"
    assert error.field == "filter.conditions[0].field"


def test_field_names_are_read_trimmed_and_in_any_case():
    tree = parse_filter(one(condition(" State ", "EQ", "ca")))
    assert tree.conditions[0].field == "state"
    assert tree.conditions[0].operator == Operator.EQ


@pytest.mark.parametrize(("field", "operator"), [
    ("state", "gt"), ("state", "within_days"), ("send_count", "contains"),
    ("send_count", "before"), ("signup_date", "eq"), ("signup_date", "in"),
    ("has_revenue", "gt"), ("on_dnc", "contains"), ("revenue_total", "after"),
    ("state", "like"), ("state", None),
])
def test_operators_not_allowed_for_the_fields_type(field, operator):
    error = refused(one({"field": field, "operator": operator, "value": 1}))
    assert error.code == "invalid_operator"
    assert error.field == "filter.conditions[0].operator"


def test_every_field_takes_exists():
    for name in [*FIELDS, "custom.anything"]:
        parsed = parse_condition(condition(name, "not_exists"))
        assert parsed.kind == Kind.PRESENCE


@pytest.mark.parametrize("cond", [
    condition("state", "exists", "CA"),  # exists takes no value
    condition("custom.age", "not_exists", False),
    condition("state", "eq", True),
    condition("state", "in", []),
    condition("state", "in", "CA"),
    condition("status", "eq", "actve"),  # not a status
    condition("line_type", "in", ["cell", "pager"]),
    condition("carrier", "contains", "  "),
    condition("send_count", "gt", "3"),
    condition("send_count", "eq", True),
    condition("send_count", "gt", 1234567890123456),  # 16 significant digits
    condition("revenue_total", "gte", 1.23456),  # money has 4 places
    condition("avg_revenue", "lt", 0.00001),
    condition("has_revenue", "eq", "true"),
    condition("signup_date", "within_days", 0),
    condition("signup_date", "within_days", 36_501),
    condition("signup_date", "within_days", 2.5),
    condition("signup_date", "before", "2026-03-01T10:00:00"),  # no offset
    condition("signup_date", "before", "yesterday"),
    condition("signup_date", "after", "1800-01-01"),
    condition("custom.joined", "before", "2026-03-01T10:00:00Z"),  # custom dates are days
    condition("custom.joined", "after", "2026-02-30"),
    condition("custom.age", "gt", "30"),  # gt compares numbers
    condition("custom.age", "in", [30, "thirty"]),
    condition("custom.age", "in", [True]),
    condition("custom.age", "eq", {"a": 1}),
    {"field": "custom.age", "operator": "eq", "value": None},
    condition("custom.tier", "contains", 5),
    condition("custom.tier", "eq", "gold\x00"),
])
def test_bad_values(cond):
    error = refused(one(cond))
    assert error.code in ("invalid_value", "invalid_filter")
    assert error.field.startswith("filter.conditions[0].value")


def test_a_value_with_a_nul_is_refused_by_the_text_rule():
    error = refused(one(condition("custom.tier", "eq", "gold\x00")))
    assert "NUL" in error.message


@pytest.mark.parametrize("raw", [
    [], "and", {"operator": "and", "conditions": {}},
    {"operator": "and", "conditions": [], "groups": [], "extra": 1},
    {"operator": "and", "conditions": ["state = CA"]},
    {"operator": "and", "conditions": [{"field": "state", "operator": "eq", "value": "CA",
                                        "negate": True}]},
    {"operator": "and", "conditions": [condition("state", "exists")] * 101},
])
def test_shapes_that_are_not_a_filter(raw):
    assert refused(raw).code == "invalid_filter"


def test_group_operator_must_be_and_or_or():
    error = refused({"operator": "xor", "conditions": [], "groups": []})
    assert (error.code, error.field) == ("invalid_operator", "filter.operator")


def test_values_are_typed_for_the_compiler():
    def value(cond: dict[str, Any]) -> tuple[Kind, Any]:
        parsed = parse_condition(cond)
        return parsed.kind, parsed.value

    assert value(condition("state", "in", [" ca ", "NY"])) == (Kind.TEXT, ("ca", "ny"))
    assert value(condition("area_code", "eq", 415)) == (Kind.TEXT, "415")
    assert value(condition("revenue_total", "gte", 12.5)) == (Kind.NUMBER, Decimal("12.5"))
    assert value(condition("send_count", "in", [1, 2.5])) == (Kind.NUMBER,
                                                              (Decimal(1), Decimal("2.5")))
    assert value(condition("signup_date", "after", "2026-03-01")) == (
        Kind.INSTANT, dt.date(2026, 3, 1))
    assert value(condition("signup_date", "before", "2026-03-01T10:00:00-06:00")) == (
        Kind.INSTANT, dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC))
    assert value(condition("last_sent_at", "not_within_days", 7)) == (Kind.DAYS, 7)
    assert value(condition("custom.vip", "eq", True)) == (Kind.FLAG, True)
    assert value(condition("custom.age", "eq", 35)) == (Kind.NUMBER, Decimal(35))
    assert value(condition("custom.tier", "ne", " Gold ")) == (Kind.TEXT, "gold")
    assert value(condition("custom.tier", "in", ["a", "B"])) == (Kind.TEXT, ("a", "b"))
    assert value(condition("custom.joined", "before", "2026-03-01")) == (
        Kind.DAY, dt.date(2026, 3, 1))
    assert value(condition("custom.joined", "within_days", 30)) == (Kind.DAYS, 30)
