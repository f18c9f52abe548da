"""A journey's steps: parsed from their JSON shape, and the graph checked. Pure.

A step (API.md, journeys)::

    {"position": 0, "type": "send", "config": {...},
     "next": 5,                 # optional: where to go after it (default: next position)
     "yes": 3, "no": 4}         # condition only

Configs: ``send`` ``{"creative_id": 7}`` | ``{"body": "text"}`` |
``{"creative_ids": [7, 8], "two_step": false, "automated_percent": 80}`` (left to the
selector for ``automated_percent`` of contacts, default the journey's; the rest is a
uniform control split among the creatives); ``wait``
``{"days"|"hours"|"minutes"|"seconds": n}`` (summed); ``wait_until`` ``{"time": "10:00"}``
(the next such time in the contact's zone); ``condition`` ``{"test": "clicked"}`` |
``{"test": "converted"}`` | ``{"test": "field", "condition": <an audience condition on
custom.<key> or signup_method>}``; ``set_field`` ``{"field": "key", "value": v}``;
``unsubscribe`` and ``exit`` ``{}``.

The graph: every jump lands on a step; every loop holds a wait; every path ends (an
``exit``, an ``unsubscribe``, or a step with nothing after it).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from core.audiences.conditions import Condition, Group, parse_condition
from core.audiences.models import BoolOperator
from core.errors import ValidationError
from core.journeys.models import StepType
from core.text import check_text

MAX_STEPS = 100
MAX_WAIT_SECONDS = 366 * 86_400
MAX_CANDIDATES = 20
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_UNIT_SECONDS = {"days": 86_400, "hours": 3_600, "minutes": 60, "seconds": 1}
TRIGGER_FIELDS = ("signup_method",)  # and custom.<key>
FIELD_OPERATORS = {"eq", "ne", "in", "not_in", "exists", "contains"}


@dataclass(frozen=True)
class Step:
    position: int
    type: StepType
    config: dict[str, Any]
    next: int | None = None
    yes: int | None = None
    no: int | None = None
    condition: Condition | None = field(default=None, compare=False)

    @property
    def waits(self) -> bool:
        return self.type in (StepType.WAIT, StepType.WAIT_UNTIL)

    @property
    def ends(self) -> bool:
        return self.type in (StepType.EXIT, StepType.UNSUBSCRIBE)

    @property
    def wait_seconds(self) -> int:
        return sum(int(self.config.get(unit, 0)) * s for unit, s in _UNIT_SECONDS.items())

    @property
    def wait_until(self) -> dt.time:
        hh, mm = self.config["time"].split(":")
        return dt.time(int(hh), int(mm))

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"position": self.position, "type": self.type.value,
                               "config": self.config}
        for key in ("next", "yes", "no"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out


class Graph:
    def __init__(self, steps: list[Step]) -> None:
        self.steps = {s.position: s for s in steps}
        self.order = sorted(self.steps)

    @property
    def first(self) -> int | None:
        return self.order[0] if self.order else None

    def successor(self, step: Step) -> int | None:
        """Where a step that is not a condition goes: None when the journey is done."""
        if step.ends:
            return None
        if step.next is not None:
            return step.next
        later = [p for p in self.order if p > step.position]
        return later[0] if later else None

    def exits(self, step: Step) -> list[int]:
        if step.type == StepType.CONDITION:
            return [p for p in (step.yes, step.no) if p is not None]
        nxt = self.successor(step)
        return [] if nxt is None else [nxt]


def _bad(message: str, code: str, path: str) -> ValidationError:
    return ValidationError(message, code=code, field=path)


def parse_steps(raw: Any, *, field_name: str = "steps") -> Graph:
    if not isinstance(raw, list) or not raw:
        raise _bad("steps must be a non-empty list.", "invalid_steps", field_name)
    if len(raw) > MAX_STEPS:
        raise _bad(f"A journey has at most {MAX_STEPS} steps.", "invalid_steps", field_name)
    steps: list[Step] = []
    seen: set[int] = set()
    for i, item in enumerate(raw):
        path = f"{field_name}[{i}]"
        step = _step(item, path)
        if step.position in seen:
            raise _bad(f"Position {step.position} is used twice.", "invalid_steps",
                       f"{path}.position")
        seen.add(step.position)
        steps.append(step)
    graph = Graph(steps)
    check_graph(graph, field_name)
    return graph


def _int(value: Any, path: str, *, low: int = 0, high: int = 10_000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(f"Expected a whole number from {low} to {high}.", "invalid_steps", path)
    return value


def _step(item: Any, path: str) -> Step:
    if not isinstance(item, dict):
        raise _bad("A step is an object.", "invalid_steps", path)
    unknown = set(item) - {"position", "type", "config", "next", "yes", "no"}
    if unknown:
        raise _bad(f"Unknown key {sorted(map(str, unknown))[0]!r}.", "invalid_steps", path)
    position = _int(item.get("position"), f"{path}.position")
    try:
        kind = StepType(str(item.get("type")))
    except ValueError:
        raise _bad("type is one of " + ", ".join(t.value for t in StepType) + ".",
                   "invalid_step_type", f"{path}.type") from None
    config = item.get("config", {})
    if not isinstance(config, dict):
        raise _bad("config is an object.", "invalid_steps", f"{path}.config")
    jumps = {k: (None if item.get(k) is None else _int(item[k], f"{path}.{k}"))
             for k in ("next", "yes", "no")}
    condition = None
    cpath = f"{path}.config"
    if kind == StepType.SEND:
        config = _send_config(config, cpath)
    elif kind == StepType.WAIT:
        config = _wait_config(config, cpath)
    elif kind == StepType.WAIT_UNTIL:
        when = config.get("time")
        if not isinstance(when, str) or not _HHMM.match(when) or set(config) != {"time"}:
            raise _bad('wait_until takes {"time": "HH:MM"} (24-hour).', "invalid_steps",
                       f"{cpath}.time")
    elif kind == StepType.CONDITION:
        config, condition = _condition_config(config, cpath)
        if jumps["yes"] is None or jumps["no"] is None:
            raise _bad("A condition needs both yes and no.", "dangling_branch", path)
    elif kind == StepType.SET_FIELD:
        key = config.get("field")
        value = config.get("value")
        if (not isinstance(key, str) or not key.strip() or len(key) > 64
                or set(config) != {"field", "value"}
                or not (value is None or isinstance(value, str | int | float | bool))):
            raise _bad('set_field takes {"field": "key", "value": <text, number, true/false '
                       'or null>}.', "invalid_steps", cpath)
        check_text(key, field=f"{cpath}.field")
        if isinstance(value, str):
            check_text(value, field=f"{cpath}.value")
    elif config:
        raise _bad(f"{kind.value} takes no settings.", "invalid_steps", cpath)
    if kind != StepType.CONDITION and (jumps["yes"] is not None or jumps["no"] is not None):
        raise _bad("Only a condition has yes and no.", "invalid_steps", path)
    if kind in (StepType.EXIT, StepType.UNSUBSCRIBE) and jumps["next"] is not None:
        raise _bad(f"{kind.value} ends the journey: it has no next.", "invalid_steps", path)
    return Step(position, kind, config, jumps["next"], jumps["yes"], jumps["no"], condition)


def _send_config(config: dict[str, Any], path: str) -> dict[str, Any]:
    keys = set(config)
    if keys == {"creative_id"}:
        _int(config["creative_id"], f"{path}.creative_id", low=1, high=2**31 - 1)
        return config
    if keys == {"body"}:
        body = config["body"]
        if not isinstance(body, str) or not body.strip():
            raise _bad("body is the message text.", "invalid_steps", f"{path}.body")
        check_text(body, field=f"{path}.body")
        return config
    if keys and keys <= {"creative_ids", "two_step", "automated_percent"} and (
            "creative_ids" in keys):
        ids = config["creative_ids"]
        if (not isinstance(ids, list) or not 1 <= len(ids) <= MAX_CANDIDATES
                or len(set(map(str, ids))) != len(ids)):
            raise _bad(f"creative_ids lists 1 to {MAX_CANDIDATES} different creatives.",
                       "invalid_steps", f"{path}.creative_ids")
        for j, ident in enumerate(ids):
            _int(ident, f"{path}.creative_ids[{j}]", low=1, high=2**31 - 1)
        if not isinstance(config.get("two_step", False), bool):
            raise _bad("two_step is true or false.", "invalid_steps", f"{path}.two_step")
        if "automated_percent" in config:
            _int(config["automated_percent"], f"{path}.automated_percent", high=100)
        return config
    raise _bad("send takes creative_id, body, or creative_ids.", "invalid_steps", path)


def _wait_config(config: dict[str, Any], path: str) -> dict[str, Any]:
    if not config or not set(config) <= set(_UNIT_SECONDS):
        raise _bad("wait takes days, hours, minutes and/or seconds.", "invalid_steps", path)
    total = 0
    for unit, value in config.items():
        total += _int(value, f"{path}.{unit}", high=MAX_WAIT_SECONDS) * _UNIT_SECONDS[unit]
    if not 1 <= total <= MAX_WAIT_SECONDS:
        raise _bad("A wait lasts from 1 second to 366 days.", "invalid_steps", path)
    return config


def _condition_config(config: dict[str, Any], path: str) -> tuple[dict[str, Any],
                                                                   Condition | None]:
    test = config.get("test")
    if test in ("clicked", "converted") and set(config) == {"test"}:
        return config, None
    if test == "field" and set(config) == {"test", "condition"}:
        condition = parse_condition(config["condition"], field=f"{path}.condition")
        check_field_condition(condition, f"{path}.condition")
        return config, condition
    raise _bad('condition takes {"test": "clicked"}, {"test": "converted"} or {"test": '
               '"field", "condition": {...}}.', "invalid_steps", path)


def check_field_condition(condition: Condition, path: str) -> None:
    if not (condition.is_custom or condition.field in TRIGGER_FIELDS):
        raise _bad("Journeys test custom.<key> fields and signup_method.", "unknown_field",
                   f"{path}.field")
    if condition.operator.value not in FIELD_OPERATORS:
        raise _bad("operator is one of " + ", ".join(sorted(FIELD_OPERATORS)) + ".",
                   "invalid_operator", f"{path}.operator")


def check_trigger(tree: Group, path: str = "trigger") -> None:
    for i, condition in enumerate(tree.walk()):
        check_field_condition(condition, f"{path}.conditions[{i}]")


def one_condition(condition: Condition) -> Group:
    return Group(BoolOperator.AND, (condition,), ())


def check_graph(graph: Graph, path: str = "steps") -> None:
    for step in graph.steps.values():
        for target in (step.next, step.yes, step.no):
            if target is not None and target not in graph.steps:
                raise _bad(f"Step {step.position} jumps to {target}, which is no step.",
                           "dangling_branch", path)
    # A loop without a wait: a cycle among the non-waiting steps (a wait cuts the edge).
    state: dict[int, int] = {}  # 1 on the stack, 2 done

    def visit(position: int) -> None:
        state[position] = 1
        step = graph.steps[position]
        if not step.waits:
            for target in graph.exits(step):
                if state.get(target) == 1:
                    raise _bad(f"Steps loop back to {target} without a wait.",
                               "loop_without_wait", path)
                if target not in state:
                    visit(target)
        state[position] = 2

    for position in graph.order:
        if position not in state:
            visit(position)
    # Every path ends: from each step reachable from the first, an end is reachable.
    ends = {p for p, s in graph.steps.items() if not graph.exits(s)}
    reaches_end = set(ends)
    changed = True
    while changed:
        changed = False
        for p, s in graph.steps.items():
            if p not in reaches_end and any(t in reaches_end for t in graph.exits(s)):
                reaches_end.add(p)
                changed = True
    first = graph.first
    reachable: set[int] = set()
    todo = [first] if first is not None else []
    while todo:
        p = todo.pop()
        if p in reachable:
            continue
        reachable.add(p)
        todo += graph.exits(graph.steps[p])
    stuck = sorted(reachable - reaches_end)
    if stuck:
        raise _bad(f"From step {stuck[0]} no path ends.", "endless_path", path)
