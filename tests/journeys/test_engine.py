"""The pure state machine: where an enrollment goes and when, from its facts."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from core.journeys.engine import Facts, advance, next_local_time
from core.journeys.graph import parse_steps
from core.journeys.models import EnrollmentStatus
from tests.journeys.helpers import welcome_steps

NOW = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)
GRAPH = parse_steps(welcome_steps({"welcome": 1, "b": 2, "c": 3}))
LA = ZoneInfo("America/Los_Angeles")


def test_next_local_time_is_today_or_tomorrow_in_the_contacts_zone() -> None:
    assert next_local_time(NOW, dt.time(10), ZoneInfo("America/New_York")) == NOW
    assert next_local_time(NOW, dt.time(10), LA) == dt.datetime(2026, 3, 3, 18, 0,
                                                                tzinfo=dt.UTC)
    assert next_local_time(NOW, dt.time(9), ZoneInfo("America/New_York")) == dt.datetime(
        2026, 3, 4, 14, 0, tzinfo=dt.UTC)
    # Across the spring-forward night (8 March 2026 in the US): 10:00 PDT is 17:00 UTC.
    before = dt.datetime(2026, 3, 7, 19, 0, tzinfo=dt.UTC)
    assert next_local_time(before, dt.time(10), LA) == dt.datetime(2026, 3, 8, 17, 0,
                                                                   tzinfo=dt.UTC)


def test_the_welcome_graph_step_by_step() -> None:
    first = advance(GRAPH, position=0, steps_run=0, facts=Facts(), now=NOW)
    assert [(r.position, r.outcome) for r in first.runs] == [(0, "sent"), (1, "waiting")]
    assert (first.position, first.next_run_at) == (2, NOW + dt.timedelta(days=1))
    day = NOW + dt.timedelta(days=1)
    yes = advance(GRAPH, position=2, steps_run=2, facts=Facts(clicked=True), now=day)
    assert [(r.position, r.outcome) for r in yes.runs] == [(2, "yes"), (3, "sent"),
                                                            (6, "exited")]
    assert yes.status == EnrollmentStatus.COMPLETED and yes.steps_run == 5
    no = advance(GRAPH, position=2, steps_run=2, facts=Facts(zone=LA), now=day)
    assert [(r.position, r.outcome) for r in no.runs] == [(2, "no"), (4, "waiting")]
    assert no.next_run_at == dt.datetime(2026, 3, 4, 18, 0, tzinfo=dt.UTC)
    last = advance(GRAPH, position=5, steps_run=4, facts=Facts(zone=LA),
                   now=no.next_run_at)
    assert [(r.seq, r.position, r.outcome) for r in last.runs] == [(4, 5, "sent"),
                                                                   (5, 6, "exited")]


def test_an_opt_out_exits_before_any_step() -> None:
    out = advance(GRAPH, position=2, steps_run=2, facts=Facts(opted_out=True), now=NOW)
    assert out.runs == [] and out.status == EnrollmentStatus.EXITED
    assert out.exit_reason == "opted_out"
