"""Advancing one enrollment: from its current step, run steps until a wait or an end.
Pure: the facts it needs (clicked, converted, field tests) are read for the whole batch
beforehand, and what it decides comes back as effects for the service to write.

A wait step moves the enrollment to the step after it and sets ``next_run_at``: when
that time comes, the enrollment resumes there. Nothing else is remembered between runs,
so a restart resumes exactly where the database says.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from core.journeys.graph import Graph, Step
from core.journeys.models import EnrollmentStatus, StepType

MAX_STEPS_PER_RUN = 200  # a loop always holds a wait; this only bounds a bad graph


@dataclass(frozen=True)
class Facts:
    clicked: bool = False
    converted: bool = False
    field_tests: frozenset[int] = frozenset()  # positions whose field test holds
    opted_out: bool = False
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))


@dataclass
class StepRun:
    seq: int
    position: int
    type: StepType
    outcome: str
    send: dict[str, Any] | None = None  # the send step's config


@dataclass
class Advance:
    position: int
    status: EnrollmentStatus
    next_run_at: dt.datetime | None
    steps_run: int
    runs: list[StepRun] = field(default_factory=list)
    set_fields: dict[str, Any] = field(default_factory=dict)
    unsubscribe: bool = False
    exit_reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.status != EnrollmentStatus.ACTIVE


def next_local_time(now: dt.datetime, at: dt.time, zone: ZoneInfo) -> dt.datetime:
    """The first instant from ``now`` on whose wall-clock time in ``zone`` is ``at``. A time
    a DST change skips is read as the same wall time an hour on (as zoneinfo folds it)."""
    local = now.astimezone(zone)
    for offset in range(3):
        day = local.date() + dt.timedelta(days=offset)
        candidate = dt.datetime.combine(day, at, tzinfo=zone).astimezone(dt.UTC)
        if candidate >= now:
            return candidate
    raise AssertionError("a wall time comes back within two days")  # pragma: no cover


def advance(graph: Graph, *, position: int, steps_run: int, facts: Facts,
            now: dt.datetime) -> Advance:
    out = Advance(position, EnrollmentStatus.ACTIVE, None, steps_run)
    if facts.opted_out:
        return _finish(out, EnrollmentStatus.EXITED, "opted_out")
    current: int | None = position
    for _ in range(MAX_STEPS_PER_RUN):
        if current is None:
            return _finish(out, EnrollmentStatus.COMPLETED, "completed")
        step = graph.steps.get(current)
        if step is None:  # the journey was edited under it: nothing sensible to resume
            return _finish(out, EnrollmentStatus.EXITED, "step_removed")
        out.position = current
        outcome, current = _run(graph, step, facts, now, out)
        out.runs.append(StepRun(out.steps_run, step.position, step.type, outcome,
                                step.config if step.type == StepType.SEND else None))
        out.steps_run += 1
        if out.finished:
            return out
        if step.waits:
            if current is None:
                return _finish(out, EnrollmentStatus.COMPLETED, "completed")
            out.position = current
            return out
    out.next_run_at = now  # pragma: no cover - a bad graph: carry on at the next tick
    return out  # pragma: no cover


def _run(graph: Graph, step: Step, facts: Facts, now: dt.datetime,
         out: Advance) -> tuple[str, int | None]:
    if step.type == StepType.SEND:
        return "sent", graph.successor(step)
    if step.type == StepType.WAIT:
        out.next_run_at = now + dt.timedelta(seconds=step.wait_seconds)
        return "waiting", graph.successor(step)
    if step.type == StepType.WAIT_UNTIL:
        out.next_run_at = next_local_time(now, step.wait_until, facts.zone)
        return "waiting", graph.successor(step)
    if step.type == StepType.CONDITION:
        test = step.config["test"]
        holds = (facts.clicked if test == "clicked" else facts.converted
                 if test == "converted" else step.position in facts.field_tests)
        return ("yes", step.yes) if holds else ("no", step.no)
    if step.type == StepType.SET_FIELD:
        out.set_fields[step.config["field"].strip()] = step.config["value"]
        return "set", graph.successor(step)
    if step.type == StepType.UNSUBSCRIBE:
        out.unsubscribe = True
        _finish(out, EnrollmentStatus.EXITED, "unsubscribe_step")
        return "unsubscribed", None
    _finish(out, EnrollmentStatus.COMPLETED, "exit_step")
    return "exited", None


def _finish(out: Advance, status: EnrollmentStatus, reason: str) -> Advance:
    out.status = status
    out.exit_reason = reason
    out.next_run_at = None
    return out
