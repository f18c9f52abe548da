"""Must-show 1 of issue 12: random condition trees over random contact data; the count
the database answers for the compiled query equals a plain-Python reading of the same
tree, on SQLite and on PostgreSQL.

The reading below (``matches``) is written from the semantics in API terms
(``conditions.SEMANTICS``), on the JSON tree and the Python values, sharing no code with
the compiler."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.audiences.compiler import Scope
from core.audiences.conditions import parse_filter
from core.audiences.queries import count_audience, sample_audience
from tests.audiences.data import (
    OTHER,
    OWN,
    Block,
    Dataset,
    Lists,
    Person,
    Subscription,
    load,
    make_lists,
)

NOW = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)
ZONES = [ZoneInfo("UTC"), ZoneInfo("America/Chicago"), ZoneInfo("Pacific/Kiritimati")]

# -- random contact data -------------------------------------------------------------------

AREAS = [("415", "CA", "America/Los_Angeles"), ("212", "NY", "America/New_York"),
         ("312", "IL", "America/Chicago"), ("303", "CO", "America/Denver"),
         ("602", "AZ", "America/Phoenix"), (None, None, None)]
CARRIERS = ["", "Verizon Wireless", " T-Mobile ", "AT&T", "verizon wireless"]
LINE_TYPES = ["cell", "voip", "landline", "unknown"]
STATUSES = ["active", "unsubscribed"]
METHODS = ["api", "import", "form", "keyword", "manual", "journey"]
KEYS = ["age", "tier", "joined"]  # few, so conditions meet stored values often

NUMBER_STRINGS = ["35", " 40 ", "-2.5", "+7", "3.0", "0", "007", "1e3", "12abc", ".5", "5.",
                  "1.2.3", "--1", "35\n", "\t12.25"]
TEXT_STRINGS = ["gold", " Gold ", "GOLD", "silver", "", "   ", "true", "FALSE", " True\n",
                "yes", "1", "Ünïcode", "ÜNÏCODE", "gold plus", "null"]
DATE_STRINGS = ["2026-02-01", "2026-03-01T23:00:00Z", " 2026-03-03 08:00", "2025-12-31",
                "2026-13-45", "02/01/2026", "2026-3-1", "2026-03-02x", "2026-02-28T"]
CUSTOM_VALUES = st.one_of(
    st.integers(-50, 100), st.sampled_from([2.5, -0.5, 35.0, 12.25, 0.1, 99.99]),
    st.sampled_from(NUMBER_STRINGS), st.sampled_from(NUMBER_STRINGS),
    st.sampled_from(TEXT_STRINGS), st.sampled_from(TEXT_STRINGS),
    st.sampled_from(DATE_STRINGS), st.booleans(), st.none(),
    st.sampled_from([{"a": 1}, [1, 2], [], {}]))

MONEY = st.sampled_from([Decimal(0), Decimal("10"), Decimal("12.5"), Decimal("0.3"),
                         Decimal("33.3333"), Decimal("100"), Decimal("7.25")])


def moments(nullable: bool) -> st.SearchStrategy[dt.datetime | None]:
    some = st.integers(-200 * 24, 24).map(lambda h: NOW + dt.timedelta(hours=h, minutes=17))
    return st.one_of(st.none(), some) if nullable else some


@st.composite
def datasets(draw: st.DrawFn) -> Dataset:
    people, subscriptions, blocks = [], [], []
    for index in range(draw(st.integers(0, 14))):
        area, state, zone = draw(st.sampled_from(AREAS))
        phone = f"+1{area}555{index:04d}" if area else f"+44791100{index:04d}"
        person = Person(id=index + 1, phone=phone, carrier=draw(st.sampled_from(CARRIERS)),
                        line_type=draw(st.sampled_from(LINE_TYPES)),
                        timezone=draw(st.sampled_from([zone, None, "America/Chicago"])),
                        state=state, area_code=area)
        people.append(person)
        for list_key in draw(st.lists(st.sampled_from("ABC"), min_size=1, max_size=3,
                                      unique=True)):
            conversions = draw(st.integers(0, 4))
            subscriptions.append(Subscription(
                id=len(subscriptions) + 1, contact_id=person.id, list_key=list_key,
                status=draw(st.sampled_from(STATUSES)),
                signup_method=draw(st.sampled_from(METHODS)),
                signup_date=draw(moments(False)), last_sent_at=draw(moments(True)),
                last_clicked_at=draw(moments(True)), send_count=draw(st.integers(0, 6)),
                click_count=draw(st.integers(0, 3)), conversion_count=conversions,
                revenue_total=draw(MONEY) if conversions else Decimal(0),
                last_revenue_at=draw(moments(True)), in_workflow=draw(st.booleans()),
                custom=draw(st.dictionaries(st.sampled_from(KEYS), CUSTOM_VALUES,
                                            max_size=4))))
        if draw(st.integers(0, 3)) == 0:
            blocks.append(Block(phone, draw(st.sampled_from([OWN, OTHER])),
                                draw(st.sampled_from([None, "A", "B"]))))
    blocks = [b for b in blocks if not (b.account == OTHER and b.list_key)]  # C is theirs
    return Dataset(people, subscriptions, blocks)


# -- random trees ---------------------------------------------------------------------------

TEXT_VALUES = {
    "status": ["active", "unsubscribed", " Active "],
    "signup_method": ["api", "import", "KEYWORD"],
    "line_type": ["cell", "voip", "Landline"],
    "carrier": ["verizon wireless", "T-MOBILE", "at&t", ""],
    "timezone": ["america/chicago", "America/New_York", "America/Phoenix"],
    "state": ["CA", "ny", " il "],
    "area_code": ["415", "212", "602"],
}
CONTAINS = ["o", "ve", "NEW", "a", "t-", "1"]
NUMBER_FIELDS = {"send_count": [0, 1, 2, 3, 5, 2.5], "click_count": [0, 1, 3],
                 "conversion_count": [0, 1, 2, 4], "revenue_total": [0, 10, 12.5, 0.3, 100],
                 "avg_revenue": [0, 0.1, 2.5, 3.3333, 10, 12.5, 33.3333]}
TIME_FIELDS = ["signup_date", "last_sent_at", "last_clicked_at", "last_revenue_at"]
FLAG_FIELDS = ["has_revenue", "on_dnc", "in_workflow"]
DATES = ["2026-01-15", "2026-02-28", "2026-03-01", "2026-03-03", "2025-10-01"]
INSTANTS = ["2026-03-01T12:00:00Z", "2026-02-14T00:00:00-06:00", "2026-03-03T15:17:00+00:00"]
CUSTOM_NUMBERS = [35, 40, -2.5, 7, 3, 0, 12.25, 0.1, 100, 2.5]
CUSTOM_TEXTS = ["gold", "GOLD ", "silver", "true", "ünïcode", "null", "1", "35", ""]
NUMBER_OPS = ["eq", "ne", "gt", "gte", "lt", "lte"]
PRESENCE = ["exists", "not_exists"]


def _some(draw: st.DrawFn, values: list[Any], size: int = 3) -> list[Any]:
    return draw(st.lists(st.sampled_from(values), min_size=1, max_size=size))


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    family = draw(st.sampled_from(["text", "number", "time", "flag", "custom", "custom"]))
    if family == "text":
        name = draw(st.sampled_from(sorted(TEXT_VALUES)))
        op = draw(st.sampled_from(["eq", "ne", "in", "not_in", "contains", "not_contains",
                                   *PRESENCE]))
        if op in ("in", "not_in"):
            return {"field": name, "operator": op, "value": _some(draw, TEXT_VALUES[name])}
        if op in ("contains", "not_contains"):
            return {"field": name, "operator": op, "value": draw(st.sampled_from(CONTAINS))}
        if op in PRESENCE:
            return {"field": name, "operator": op}
        return {"field": name, "operator": op,
                "value": draw(st.sampled_from(TEXT_VALUES[name]))}
    if family == "number":
        name = draw(st.sampled_from(sorted(NUMBER_FIELDS)))
        op = draw(st.sampled_from([*NUMBER_OPS, "in", "not_in", *PRESENCE]))
        if op in PRESENCE:
            return {"field": name, "operator": op}
        if op in ("in", "not_in"):
            return {"field": name, "operator": op, "value": _some(draw, NUMBER_FIELDS[name])}
        return {"field": name, "operator": op,
                "value": draw(st.sampled_from(NUMBER_FIELDS[name]))}
    if family == "time":
        name = draw(st.sampled_from(TIME_FIELDS))
        op = draw(st.sampled_from(["before", "after", "within_days", "not_within_days",
                                   *PRESENCE]))
        if op in PRESENCE:
            return {"field": name, "operator": op}
        if op in ("within_days", "not_within_days"):
            return {"field": name, "operator": op, "value": draw(st.integers(1, 120))}
        return {"field": name, "operator": op,
                "value": draw(st.sampled_from(DATES + INSTANTS))}
    if family == "flag":
        name = draw(st.sampled_from(FLAG_FIELDS))
        op = draw(st.sampled_from(["eq", "ne", *PRESENCE]))
        if op in PRESENCE:
            return {"field": name, "operator": op}
        return {"field": name, "operator": op, "value": draw(st.booleans())}
    name = "custom." + draw(st.sampled_from([*KEYS, "absent"]))
    op = draw(st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in",
                               "contains", "not_contains", "exists", "not_exists",
                               "within_days", "not_within_days", "before", "after"]))
    if op in PRESENCE:
        return {"field": name, "operator": op}
    if op in ("gt", "gte", "lt", "lte"):
        value: Any = draw(st.sampled_from(CUSTOM_NUMBERS))
    elif op in ("in", "not_in"):
        value = _some(draw, draw(st.sampled_from([CUSTOM_NUMBERS, CUSTOM_TEXTS[:-1]])))
    elif op in ("contains", "not_contains"):
        value = draw(st.sampled_from(CONTAINS))
    elif op in ("within_days", "not_within_days"):
        value = draw(st.integers(1, 120))
    elif op in ("before", "after"):
        value = draw(st.sampled_from(DATES))
    else:
        value = draw(st.one_of(st.sampled_from(CUSTOM_NUMBERS), st.sampled_from(CUSTOM_TEXTS),
                               st.booleans()))
    return {"field": name, "operator": op, "value": value}


def groups(depth: int = 1) -> st.SearchStrategy[dict[str, Any]]:
    """A group at ``depth`` (the root is 1); down to the deepest level allowed, 5."""
    children = (st.lists(st.deferred(lambda: groups(depth + 1)), max_size=2 if depth < 3 else 1)
                if depth < 5 else st.just([]))
    return st.fixed_dictionaries({
        "operator": st.sampled_from(["and", "or"]),
        "conditions": st.lists(conditions(), max_size=3 if depth < 3 else 2),
        "groups": children,
    })


# -- the plain-Python reading ---------------------------------------------------------------

SPACE = " \t\n\r"
NUMERIC = re.compile(r"[+-]?[0-9]+([.][0-9]+)?")
STORED_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].*)?", re.DOTALL)
NEGATIVE = {"ne": "eq", "not_in": "in", "not_contains": "contains", "not_exists": "exists",
            "not_within_days": "within_days"}
MISSING = object()


def fold(text: str) -> str:
    """Trimmed, A-Z lower-cased (other letters as they are)."""
    return "".join(chr(ord(ch) + 32) if "A" <= ch <= "Z" else ch
                   for ch in text.strip(SPACE))


def as_number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str) and NUMERIC.fullmatch(value.strip(SPACE)):
        return Decimal(value.strip(SPACE))
    return None


def compare(left: Any, op: str, right: Any) -> bool:
    return {"eq": left == right, "gt": left > right, "gte": left >= right,
            "lt": left < right, "lte": left <= right}[op]


def present(value: Any) -> bool:
    return value is not MISSING and value is not None and not (
        isinstance(value, str) and value.strip(SPACE) == "")


class Reading:
    def __init__(self, lists: Lists, data: Dataset, zone: ZoneInfo) -> None:
        self.lists = lists
        self.people = {p.id: p for p in data.people}
        self.blocks = data.blocks
        self.zone = zone

    def day_start(self, text: str) -> dt.datetime:
        day = dt.date.fromisoformat(text)
        return dt.datetime.combine(day, dt.time(0), tzinfo=self.zone)

    def group(self, group: dict[str, Any], sub: Subscription) -> bool:
        results = [self.condition(c, sub) for c in group["conditions"]]
        results += [self.group(g, sub) for g in group["groups"]]
        if not results:
            return True
        return all(results) if group["operator"] == "and" else any(results)

    def condition(self, c: dict[str, Any], sub: Subscription) -> bool:
        op = c["operator"]
        if op in NEGATIVE:
            return not self.positive(c["field"], NEGATIVE[op], c.get("value"), sub)
        return self.positive(c["field"], op, c.get("value"), sub)

    def stored(self, name: str, sub: Subscription) -> Any:
        person = self.people[sub.contact_id]
        if name.startswith("custom."):
            return sub.custom.get(name[len("custom."):], MISSING)
        if name in ("carrier", "line_type", "timezone", "state", "area_code"):
            return getattr(person, name)
        if name == "has_revenue":
            return sub.revenue_total > 0
        if name == "avg_revenue":
            if not sub.conversion_count:
                return None
            return Fraction(sub.revenue_total) / sub.conversion_count
        if name == "on_dnc":
            account = OTHER if sub.list_key == "C" else OWN
            return any(b.phone == person.phone and b.account == account
                       and b.list_key in (None, sub.list_key) for b in self.blocks)
        return getattr(sub, name)

    def positive(self, name: str, op: str, value: Any, sub: Subscription) -> bool:
        stored = self.stored(name, sub)
        if op == "exists":
            return present(stored)
        if name.startswith("custom."):
            return self.custom(op, value, stored)
        if name in TEXT_VALUES:
            if stored is None:
                return False
            if op == "in":
                return fold(stored) in {fold(v) for v in value}
            if op == "contains":
                return fold(value) in fold(stored)
            return fold(stored) == fold(value)
        if name in NUMBER_FIELDS:
            if stored is None:
                return False
            if op == "in":
                return any(Fraction(stored) == Fraction(Decimal(repr(v))) for v in value)
            return compare(Fraction(stored), op, Fraction(Decimal(repr(value))))
        if name in FLAG_FIELDS:
            return stored == value
        return self.time(op, value, stored)

    def time(self, op: str, value: Any, stored: dt.datetime | None) -> bool:
        if stored is None:
            return False
        if op == "within_days":
            return stored >= NOW - dt.timedelta(days=value)
        if len(value) == 10:  # a whole day in the zone
            if op == "before":
                return stored < self.day_start(value)
            return stored >= self.day_start(value) + dt.timedelta(days=1)
        instant = dt.datetime.fromisoformat(value)
        return stored < instant if op == "before" else stored > instant

    def custom(self, op: str, value: Any, stored: Any) -> bool:
        if op in ("before", "after", "within_days"):
            if not isinstance(stored, str) or not STORED_DATE.fullmatch(stored.strip(SPACE)):
                return False
            day = stored.strip(SPACE)[:10]
            if op == "within_days":
                today = NOW.astimezone(self.zone).date()
                return day >= (today - dt.timedelta(days=value)).isoformat()
            return day < value if op == "before" else day > value
        if isinstance(value, bool):
            if isinstance(stored, bool):
                return stored == value
            return isinstance(stored, str) and fold(stored) == ("true" if value else "false")
        if op == "contains":
            return isinstance(stored, str) and fold(value) in fold(stored)
        if op == "in":
            if all(isinstance(v, str) for v in value):
                return isinstance(stored, str) and fold(stored) in {fold(v) for v in value}
            number = as_number(stored)
            return number is not None and any(number == as_number(v) for v in value)
        if isinstance(value, str):
            return isinstance(stored, str) and fold(stored) == fold(value)
        number = as_number(stored)
        return number is not None and compare(number, op, as_number(value))

    def audience(self, tree: dict[str, Any], subscriptions: list[Subscription],
                 list_keys: list[str]) -> list[int]:
        """The contact ids in the audience, in order."""
        return sorted({s.contact_id for s in subscriptions
                       if s.list_key in list_keys and s.list_key != "C"
                       and self.group(tree, s)})


def leaves(tree: dict[str, Any]) -> list[dict[str, Any]]:
    found = list(tree["conditions"])
    for group in tree["groups"]:
        found += leaves(group)
    return found


# -- the test -------------------------------------------------------------------------------

CASES = st.tuples(datasets(),
                  st.lists(st.tuples(groups(), st.lists(st.sampled_from("ABC"), min_size=1,
                                                        max_size=3, unique=True),
                                     st.sampled_from(ZONES)), min_size=1, max_size=6))


async def test_compiled_count_equals_a_plain_python_reading(db):
    lists = await make_lists()
    loop = asyncio.get_running_loop()

    async def check(data: Dataset, trees: list[Any]) -> None:
        await load(data, lists, NOW)
        for tree, keys, zone in trees:
            scope = Scope(account_id=lists.account_id,
                          list_ids=tuple(lists.ids[k] for k in keys), now=NOW, zone=zone)
            reading = Reading(lists, data, zone)
            expected = reading.audience(tree, data.subscriptions, keys)
            parsed = parse_filter(tree)
            assert await count_audience(parsed, scope) == len(expected), tree
            sample = await sample_audience(parsed, scope, limit=3)
            assert [s.contact_id for s in sample] == expected[:3], tree
            # Each condition alone too: in a big tree one wrong leaf is often outvoted.
            for leaf in leaves(tree):
                alone = {"operator": "and", "conditions": [leaf], "groups": []}
                expected = reading.audience(alone, data.subscriptions, keys)
                assert await count_audience(parse_filter(alone), scope) == len(expected), leaf

    # Hypothesis drives a synchronous function; it runs in a thread and hands each example
    # to this test's event loop, where the database connection lives.
    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(CASES)
    def run(case: tuple[Dataset, list[Any]]) -> None:
        asyncio.run_coroutine_threadsafe(check(*case), loop).result()

    await asyncio.to_thread(run)
