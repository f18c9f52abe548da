"""/api/v2/reports: performance by a dimension and LTV cohorts, as JSON or CSV."""

from __future__ import annotations

from aiohttp import web

from core.errors import ValidationError
from core.reports.metrics import METRICS
from core.reports.queries import GROUPS
from core.reports.service import cohorts_csv, performance_csv
from web.auth import require_actor
from web.bodies import iso
from web.keys import SERVICES
from web.openapi import operation
from web.query import query_text, query_time
from web.render import respond

routes = web.RouteTableDef()

_PERIOD = [("since", "string", "ISO 8601; messages sent at or after (default: 30 days "
                               "before until)"),
           ("until", "string", "ISO 8601; messages sent before (default: now)"),
           ("format", "string", "json (default) or csv")]


def _format(request: web.Request) -> str:
    wanted = (query_text(request, "format", max_length=8) or "json").lower()
    if wanted not in ("json", "csv"):
        raise ValidationError("format must be json or csv.", code="invalid_format",
                              field="format")
    return wanted


def _csv(text: str, name: str) -> web.Response:
    return web.Response(text=text, content_type="text/csv", charset="utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name}.csv"'})


@routes.get("/api/v2/reports/performance")
@operation("Performance: every metric by day, list, schedule, creative, offer, journey "
           "or carrier", tag="reports",
           query=[("group_by", "string", ", ".join(GROUPS) + " (default day, in UTC)"),
                  *_PERIOD],
           description="Metrics: " + ", ".join(METRICS) + ". Money and rates are "
                       "decimal strings. Clicks, conversions and opt-outs count toward "
                       "the message that earned them, so a group's rates stay true.",
           errors={400: "invalid_group_by, invalid_since, invalid_until, invalid_format"})
async def performance(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    wanted = _format(request)
    report = await request.app[SERVICES].reports.performance(
        actor, group_by=query_text(request, "group_by", max_length=16) or "day",
        since=query_time(request, "since"), until=query_time(request, "until"),
        export=wanted == "csv")
    if wanted == "csv":
        return _csv(performance_csv(report), f"performance-by-{report.group_by}")
    return respond({"group_by": report.group_by, "since": iso(report.since),
                    "until": iso(report.until), "data": report.rows,
                    "totals": report.totals})


@routes.get("/api/v2/reports/cohorts")
@operation("LTV cohorts by signup week at 7, 30 and 90 days", tag="reports",
           query=[("since", "string", "ISO 8601; signups at or after (default: 26 weeks "
                                      "before until)"),
                  ("until", "string", "ISO 8601; signups before (default: now)"),
                  ("format", "string", "json (default) or csv")],
           errors={400: "invalid_since, invalid_until, invalid_format"})
async def cohorts(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    wanted = _format(request)
    report = await request.app[SERVICES].reports.cohorts(
        actor, since=query_time(request, "since"), until=query_time(request, "until"),
        export=wanted == "csv")
    if wanted == "csv":
        return _csv(cohorts_csv(report), "cohorts")
    return respond({"since": iso(report.since), "until": iso(report.until),
                    "data": report.rows})
