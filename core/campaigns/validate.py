"""A schedule's fields as the API gives them, checked into stored values (pure but for
nothing: the ids it returns are checked against the database by the service)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from core.campaigns.models import Recurrence, SendType, WinnerMetric
from core.compliance.quiet_hours import zone
from core.errors import ValidationError
from core.messaging.links import clean_bindings
from core.messaging.template import link_keys, validate_body
from core.validation import clean_name

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
METRICS = {"click_rate": WinnerMetric.CTR, "ctr": WinnerMetric.CTR,
           "epc": WinnerMetric.EPC, "revenue_per_send": WinnerMetric.REVENUE_PER_SEND,
           "opt_out_rate": WinnerMetric.OPT_OUT_RATE}
METRIC_NAMES = {WinnerMetric.CTR: "click_rate", WinnerMetric.EPC: "epc",
                WinnerMetric.REVENUE_PER_SEND: "revenue_per_send",
                WinnerMetric.OPT_OUT_RATE: "opt_out_rate"}
MAX_BLASTS = 10
MAX_AUDIENCES = 50


@dataclass
class BlastSpec:
    creative_id: int | None
    body: str | None
    link_bindings: dict[str, Any]
    percent_audience: int


@dataclass
class ScheduleSpec:
    fields: dict[str, Any]
    audience_ids: list[int] | None = None
    blasts: list[BlastSpec] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _bad(code: str, message: str, where: str) -> ValidationError:
    return ValidationError(message, code=code, field=where)


def _int(value: Any, where: str, low: int, high: int, code: str | None = None) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise _bad(code or f"invalid_{where}", f"{where} must be a whole number from {low} "
                   f"to {high}.", where)
    return value


def _date(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _bad(f"invalid_{where}", f"{where} must be a date (YYYY-MM-DD).",
                   where) from None


def _time(value: Any) -> dt.time | None:
    if value is None:
        return None
    try:
        if not isinstance(value, str) or len(value) not in (5, 8):
            raise ValueError
        parsed = dt.time.fromisoformat(value)
        if parsed.tzinfo is not None:
            raise ValueError
        return parsed
    except ValueError:
        raise _bad("invalid_send_time", "send_time must be a time of day (HH:MM), "
                   "without a zone.", "send_time") from None


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise _bad(f"invalid_{where}", f"{where} must be true or false.", where)
    return value


def _ids(value: Any, where: str, most: int) -> list[int]:
    if (not isinstance(value, list) or len(value) > most
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in value)):
        raise _bad(f"invalid_{where}", f"{where} must be a list of up to {most} ids.", where)
    return list(dict.fromkeys(value))


def clean_schedule(data: dict[str, Any]) -> ScheduleSpec:
    """The given fields, each checked on its own; whole-schedule rules are
    :func:`check_whole`'s."""
    out: dict[str, Any] = {}
    spec = ScheduleSpec(out)
    for key, value in data.items():
        match key:
            case "name":
                if value in (None, ""):
                    raise _bad("missing_name", "name is required.", "name")
                out["name"] = clean_name(value)
            case "list_id":
                if value is None:
                    raise _bad("source_list_not_found", "list_id is required.", "list_id")
                out["sending_list_id"] = _int(value, "list_id", 1, 2**31 - 1,
                                              "source_list_not_found")
            case "audience_ids":
                spec.audience_ids = [] if value is None else _ids(value, "audience_ids",
                                                                  MAX_AUDIENCES)
            case "send_type":
                if value not in tuple(SendType):
                    raise _bad("invalid_send_type", "send_type must be blast or automated.",
                               "send_type")
                out["send_type"] = SendType(value)
            case "recurrence":
                if value not in tuple(Recurrence):
                    raise _bad("invalid_recurrence", "recurrence must be one_time or "
                               "recurring.", "recurrence")
                out["recurrence"] = Recurrence(value)
            case "send_date" | "start_date" | "end_date":
                out[key] = _date(value, key)
            case "send_time":
                out["send_time"] = _time(value)
            case "timezone":
                if not isinstance(value, str) or zone(value) is None:
                    raise _bad("invalid_timezone", "timezone must be an IANA zone name "
                               "(America/Chicago).", "timezone")
                out["timezone"] = value
            case "days_of_week":
                if value is None:
                    value = []
                if not isinstance(value, list) or any(d not in DAYS for d in value):
                    raise _bad("invalid_days_of_week", "days_of_week must list days as "
                               "mon, tue, wed, thu, fri, sat, sun.", "days_of_week")
                out["days_of_week"] = sorted({DAYS.index(d) for d in value})
            case "use_local_time" | "filter_bots":
                out[key] = _bool(value, key)
            case "skip_within_hours":
                out[key] = None if value is None else _int(value, key, 0, 24 * 365)
            case "automated_percent":
                out[key] = _int(value, key, 0, 100)
            case "blasts":
                spec.blasts = _blasts(value)
            case "test":
                out.update(_test(value))
            case _:
                raise _bad("invalid_field", f"Unknown field {key}.", key)
    return spec


def _blasts(value: Any) -> list[BlastSpec]:
    if value is None:
        value = []
    if not isinstance(value, list) or len(value) > MAX_BLASTS:
        raise _bad("invalid_blasts", f"blasts must be a list of up to {MAX_BLASTS} "
                   "variants.", "blasts")
    out = []
    for i, raw in enumerate(value):
        where = f"blasts[{i}]"
        if not isinstance(raw, dict) or set(raw) - {"creative_id", "message",
                                                    "link_bindings", "percent_audience"}:
            raise _bad("invalid_blasts", f"{where} must be {{creative_id | message, "
                       "link_bindings?, percent_audience}.", where)
        creative_id = raw.get("creative_id")
        message = raw.get("message")
        if creative_id is None and message in (None, ""):
            raise _bad("missing_blast_message", f"{where} needs a creative_id or a "
                       "message.", where)
        percent = raw.get("percent_audience")
        if not isinstance(percent, int) or isinstance(percent, bool) or not 0 < percent <= 100:
            raise _bad("invalid_blast_percent", f"{where}.percent_audience must be a whole "
                       "number from 1 to 100.", f"{where}.percent_audience")
        if creative_id is not None:
            out.append(BlastSpec(_int(creative_id, f"{where}.creative_id", 1, 2**31 - 1,
                                      "creative_not_found"), None, {}, percent))
            continue
        body = validate_body(str(message), field="blast_message")
        bindings = clean_bindings(raw.get("link_bindings"), link_keys(body))
        out.append(BlastSpec(None, body, bindings, percent))
    if out and sum(b.percent_audience for b in out) != 100:
        raise _bad("invalid_blast_percent", "The variants' percent_audience must add up to "
                   "exactly 100.", "blasts")
    return out


def _test(value: Any) -> dict[str, Any]:
    if value is None:
        return {"test_percent": None, "test_wait_minutes": None, "winner_metric": None}
    if not isinstance(value, dict) or set(value) - {"percent", "wait_minutes", "metric"}:
        raise _bad("invalid_test", "test must be {percent, wait_minutes, metric}.", "test")
    metric = value.get("metric", "click_rate")
    if metric not in METRICS:
        raise _bad("invalid_test", "test.metric must be click_rate, epc, revenue_per_send "
                   "or opt_out_rate.", "test.metric")
    return {"test_percent": _int(value.get("percent"), "test.percent", 1, 99,
                                 "invalid_test"),
            "test_wait_minutes": _int(value.get("wait_minutes", 120), "test.wait_minutes",
                                      1, 60 * 24 * 14, "invalid_test"),
            "winner_metric": METRICS[metric]}


def check_whole(values: dict[str, Any], audience_count: int, blast_count: int) -> None:
    """The rules between fields, on the schedule as it would be stored."""
    if not values.get("name"):
        raise _bad("missing_name", "name is required.", "name")
    if not audience_count:
        raise _bad("missing_audiences", "A schedule needs at least one audience.",
                   "audience_ids")
    if values.get("send_time") is None:
        raise _bad("missing_send_time", "send_time is required.", "send_time")
    if values.get("recurrence") == Recurrence.ONE_TIME:
        if values.get("send_date") is None:
            raise _bad("missing_send_date", "A one-time schedule needs a send_date.",
                       "send_date")
    else:
        if not values.get("days_of_week"):
            raise _bad("no_days_selected", "A recurring schedule needs days_of_week.",
                       "days_of_week")
        start, end = values.get("start_date"), values.get("end_date")
        if end is not None and start is not None and end < start:
            raise _bad("missing_end_date", "end_date must not be before start_date.",
                       "end_date")
    if not blast_count:
        raise _bad("missing_blasts", "A schedule needs at least one variant in blasts.",
                   "blasts")
    if values.get("test_percent") and blast_count < 2:
        raise _bad("invalid_test", "A test needs at least two variants.", "test")
