"""/api/v2/audiences and /api/v2/schedules: who a campaign reaches, and when."""

from __future__ import annotations

from typing import Any, Literal

from aiohttp import web
from pydantic import Field

from core.audiences.conditions import SEMANTICS
from core.audiences.service import AudienceView
from core.campaigns.models import ScheduleEvent
from core.campaigns.service import LaunchResult, ScheduleView
from core.campaigns.validate import DAYS, METRIC_NAMES
from core.text import Text, TextJson
from web.auth import require_actor
from web.bodies import (
    Body,
    ObjectId,
    confirmed,
    iso,
    page_params,
    paginated,
    paging,
    parse_body,
    path_id,
    positive_int,
    read_json,
    validate,
)
from web.keys import SERVICES
from web.openapi import operation
from web.render import amount, respond
from web.routes.contacts import contact_out

routes = web.RouteTableDef()

FILTER_DOC = ("`filter`: `{operator: and|or, conditions: [{field, operator, value}], groups: "
              "[...]}`, nestable to 5 levels (the root is level 1).\n\n" + SEMANTICS)


class AudienceIn(Body):
    name: Text | None = None
    list_ids: list[ObjectId] | None = Field(None, description="Source lists, unioned")
    filter: TextJson | None = Field(None, description="The condition tree (see the "
                                                      "operation's description)")


class BlastIn(Body):
    creative_id: ObjectId | None = None
    message: Text | None = Field(None, description="An inline body; {{linkN}} needs "
                                                   "link_bindings")
    link_bindings: TextJson | None = None
    percent_audience: int | None = Field(None, description="The variants add up to 100")


class TestIn(Body):
    percent: int | None = Field(None, description="The test share, 1-99")
    wait_minutes: int | None = None
    metric: Literal["click_rate", "epc", "revenue_per_send", "opt_out_rate"] | None = None


class ScheduleIn(Body):
    name: Text | None = None
    list_id: ObjectId | None = Field(None, description="The sending list")
    audience_ids: list[ObjectId] | None = None
    send_type: Text | None = Field(None, description="blast or automated")
    recurrence: Literal["one_time", "recurring"] | None = None
    send_date: Text | None = Field(None, description="YYYY-MM-DD (one_time)")
    send_time: Text | None = Field(None, description="HH:MM in `timezone`")
    timezone: Text | None = Field(None, description="IANA zone (America/Chicago)")
    days_of_week: list[Text] | None = Field(None, description="mon..sun (recurring)")
    start_date: Text | None = None
    end_date: Text | None = None
    use_local_time: bool | None = Field(None, description="send_time in each contact's zone")
    skip_within_hours: int | None = Field(None, description="Frequency cap")
    automated_percent: int | None = None
    filter_bots: bool | None = None
    blasts: list[BlastIn] | None = None
    test: TestIn | None = Field(None, description="Test then winner")


class LaunchIn(Body):
    dry_run: bool = Field(False, description="Answer the numbers; change nothing")
    now: bool = Field(False, description="Run now rather than at the send time")


class CancelIn(Body):
    confirm: bool | None = None


class WinnerIn(Body):
    blast_id: ObjectId


def audience_out(view: AudienceView) -> dict[str, Any]:
    a = view.audience
    return {"id": a.id, "name": a.name, "list_ids": view.list_ids,
            "filter": view.tree.to_json(), "cached_size": a.cached_size,
            "cached_size_updated_at": iso(a.cached_size_updated_at),
            "created_at": iso(a.created_at), "updated_at": iso(a.updated_at)}


def schedule_out(view: ScheduleView, events: list[ScheduleEvent] | None = None
                 ) -> dict[str, Any]:
    s = view.schedule
    out: dict[str, Any] = {
        "id": s.id, "name": s.name, "list_id": s.sending_list_id,
        "audience_ids": view.audience_ids, "send_type": s.send_type,
        "recurrence": s.recurrence, "send_date": iso(s.send_date),
        "send_time": s.send_time.strftime("%H:%M") if s.send_time else None,
        "timezone": s.timezone, "days_of_week": [DAYS[d] for d in s.days_of_week or []],
        "start_date": iso(s.start_date), "end_date": iso(s.end_date),
        "use_local_time": s.use_local_time, "skip_within_hours": s.skip_within_hours,
        "automated_percent": s.automated_percent, "filter_bots": s.filter_bots,
        "blasts": [{"id": b.id, "creative_id": b.creative_id, "message": b.body,
                    "link_bindings": b.link_bindings or {},
                    "percent_audience": b.percent_audience, "is_winner": b.is_winner}
                   for b in view.blasts],
        "test": ({"percent": s.test_percent, "wait_minutes": s.test_wait_minutes,
                  "metric": METRIC_NAMES[s.winner_metric] if s.winner_metric else None}
                 if s.test_percent else None),
        "status": s.status, "next_run_at": iso(s.next_run_at), "created_by": s.created_by,
        "created_at": iso(s.created_at), "updated_at": iso(s.updated_at),
    }
    if view.runs or events is not None:
        out["runs"] = [_run_out(r, view.run_counts.get(r.id, {})) for r in view.runs]
    if events is not None:
        out["history"] = [{"action": e.action, "from": e.from_status, "to": e.to_status,
                           "by": e.actor, "at": iso(e.occurred_at), "detail": e.detail}
                          for e in events]
    return out


def _run_out(run: Any, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": run.id, "status": run.status, "started_at": iso(run.started_at),
        "scheduled_for": iso(run.scheduled_for), "finished_at": iso(run.finished_at),
        "launched_by": run.launched_by, "recipients": run.recipients_total,
        "skipped": run.skipped or {}, "skip_reason": run.skip_reason,
        "progress": {"queued": run.queued_count, "of": run.recipients_total},
        "counts": {k: counts.get(k, 0) for k in ("queued", "sent", "delivered", "failed",
                                                 "dropped")},
        "estimated_segments": run.estimated_segments,
        "estimated_cost": amount(run.estimated_cost),
        "winner_blast_id": run.winner_blast_id, "winner_decision": run.winner_decision or None,
    }


def launch_out(result: LaunchResult) -> dict[str, Any]:
    return {"status": result.status, "recipients": result.recipients,
            "skipped": result.skipped, "segments": result.segments,
            "estimated_cost": amount(result.estimated_cost), "run_id": result.run_id,
            "next_run_at": iso(result.next_run_at)}


# -- audiences ----------------------------------------------------------------------------

_AUDIENCE_ERRORS = {400: "missing_name, missing_list_ids, source_list_not_found, "
                         "invalid_filter, unknown_field, invalid_operator, invalid_value, "
                         "too_deep", 404: "audience_not_found"}


@routes.get("/api/v2/audiences")
@operation("List audiences", tag="audiences", query=paging())
async def list_audiences(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    found = await request.app[SERVICES].audiences.page(actor, page=page, per_page=per_page)
    return respond(paginated([audience_out(v) for v in found.items], page=page,
                             per_page=per_page, total=found.total))


@routes.post("/api/v2/audiences")
@operation("Create an audience", tag="audiences", request=AudienceIn, status=201,
           errors=_AUDIENCE_ERRORS, description=FILTER_DOC)
async def create_audience(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, AudienceIn)
    view = await request.app[SERVICES].audiences.create(
        actor, name=body.name, list_ids=body.list_ids, filter=body.filter)
    return respond(audience_out(view), status=201)


@routes.get("/api/v2/audiences/{audience_id:\\d+}")
@operation("One audience", tag="audiences", errors={404: "audience_not_found"})
async def get_audience(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    view = await request.app[SERVICES].audiences.get(
        actor, path_id(request, "audience_id", "audience"))
    return respond(audience_out(view))


@routes.patch("/api/v2/audiences/{audience_id:\\d+}")
@operation("Edit an audience", tag="audiences", request=AudienceIn, errors=_AUDIENCE_ERRORS,
           description=FILTER_DOC)
async def update_audience(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, AudienceIn)
    given = body.model_dump(exclude_unset=True)
    view = await request.app[SERVICES].audiences.update(
        actor, path_id(request, "audience_id", "audience"), name=given.get("name"),
        list_ids=given.get("list_ids"), filter=given.get("filter"))
    return respond(audience_out(view))


@routes.delete("/api/v2/audiences/{audience_id:\\d+}")
@operation("Delete an audience", tag="audiences", request=CancelIn,
           errors={400: "confirm_required", 404: "audience_not_found"})
async def delete_audience(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = validate(CancelIn, await _object(request))
    confirmed(request, body.model_dump())
    await request.app[SERVICES].audiences.delete(
        actor, path_id(request, "audience_id", "audience"))
    return respond({"success": True})


@routes.get("/api/v2/audiences/{audience_id:\\d+}/size")
@operation("The audience's size, counted now", tag="audiences",
           errors={404: "audience_not_found"})
async def audience_size(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    size = await request.app[SERVICES].audiences.size(
        actor, path_id(request, "audience_id", "audience"))
    return respond({"size": size.size, "counted_at": iso(size.counted_at)})


@routes.get("/api/v2/audiences/{audience_id:\\d+}/preview")
@operation("Sample contacts of the audience", tag="audiences",
           query=[("limit", "integer", "1 to 100, default 10")],
           errors={400: "invalid_limit", 404: "audience_not_found"})
async def audience_preview(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    limit = positive_int(request, "limit", default=10)
    preview = await request.app[SERVICES].audiences.preview(
        actor, path_id(request, "audience_id", "audience"), limit=limit)
    return respond({"data": [contact_out(lc) for lc in preview.contacts],
                    "size": preview.size})


# -- schedules ----------------------------------------------------------------------------

_SCHEDULE_ERRORS = {
    400: "missing_name, invalid_send_type, missing_audiences, missing_send_time, "
         "missing_send_date, missing_start_date, missing_end_date, no_days_selected, "
         "missing_blasts, missing_blast_message, invalid_blast_percent, audience_not_found, "
         "source_list_not_found, creative_not_found, offer_not_found, invalid_timezone, "
         "invalid_test",
    404: "schedule_not_found", 409: "schedule_complete, schedule_sending"}


async def _object(request: web.Request) -> dict[str, Any]:
    data = await read_json(request)
    if not isinstance(data, dict):
        from core.errors import ValidationError
        raise ValidationError("The request body must be a JSON object.", code="invalid_json")
    return data


def _schedule_data(body: ScheduleIn) -> dict[str, Any]:
    return body.model_dump(exclude_unset=True)


@routes.get("/api/v2/schedules")
@operation("List schedules", tag="schedules", query=paging())
async def list_schedules(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    found = await request.app[SERVICES].schedules.page(actor, page=page, per_page=per_page)
    return respond(paginated([schedule_out(v) for v in found.items], page=page,
                             per_page=per_page, total=found.total))


@routes.post("/api/v2/schedules")
@operation("Create a schedule (campaign), as a draft", tag="schedules", request=ScheduleIn,
           status=201, errors=_SCHEDULE_ERRORS)
async def create_schedule(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, ScheduleIn)
    view = await request.app[SERVICES].schedules.create(actor, _schedule_data(body))
    return respond(schedule_out(view), status=201)


@routes.get("/api/v2/schedules/{schedule_id:\\d+}")
@operation("One schedule with its runs and history", tag="schedules",
           errors={404: "schedule_not_found"})
async def get_schedule(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    services = request.app[SERVICES]
    schedule_id = path_id(request, "schedule_id", "schedule")
    view = await services.schedules.get(actor, schedule_id)
    return respond(schedule_out(view, await services.schedules.events(actor, schedule_id)))


@routes.put("/api/v2/schedules/{schedule_id:\\d+}")
@operation("Edit a schedule: the fields given replace the stored ones (blasts and "
           "audience_ids as a whole)", tag="schedules", request=ScheduleIn,
           errors=_SCHEDULE_ERRORS)
async def update_schedule(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, ScheduleIn)
    view = await request.app[SERVICES].schedules.update(
        actor, path_id(request, "schedule_id", "schedule"), _schedule_data(body))
    return respond(schedule_out(view))


@routes.post("/api/v2/schedules/{schedule_id:\\d+}/launch")
@operation("Launch (or dry-run) a schedule", tag="schedules", request=LaunchIn,
           description="Answers recipients, skips by reason (unsubscribed, blocked, "
                       "in_journey, frequency_cap, invalid), segments and the estimated "
                       "cost. A schedule whose send time is ahead becomes `scheduled`; one "
                       "whose time has come (or with `now`) starts `sending`: its "
                       "recipients are fixed now and queued in the background (see "
                       "`runs[].progress` on GET). `dry_run` answers the same numbers and "
                       "changes nothing.",
           errors={404: "schedule_not_found", 409: "schedule_not_launchable"})
async def launch_schedule(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, LaunchIn)
    result = await request.app[SERVICES].schedules.launch(
        actor, path_id(request, "schedule_id", "schedule"), dry_run=body.dry_run,
        now=body.now, wait=False)
    return respond(launch_out(result))


async def _transition(request: web.Request, action: str) -> web.Response:
    actor = await require_actor(request)
    services = request.app[SERVICES]
    schedule_id = path_id(request, "schedule_id", "schedule")
    await getattr(services.schedules, action)(actor, schedule_id)
    return respond(schedule_out(await services.schedules.get(actor, schedule_id)))


@routes.post("/api/v2/schedules/{schedule_id:\\d+}/pause")
@operation("Pause: no more batches are queued, no run starts, and the messages already "
           "queued are held (status held) until resumed; a completed campaign whose "
           "messages still wait in the queue can be paused", tag="schedules",
           errors={404: "schedule_not_found", 409: "invalid_transition, schedule_complete"})
async def pause_schedule(request: web.Request) -> web.Response:
    return await _transition(request, "pause")


@routes.post("/api/v2/schedules/{schedule_id:\\d+}/resume")
@operation("Resume a paused schedule (or one whose run failed: the run goes on from "
           "where it stopped); held messages go back to the queue", tag="schedules",
           errors={404: "schedule_not_found", 409: "invalid_transition, schedule_complete"})
async def resume_schedule(request: web.Request) -> web.Response:
    return await _transition(request, "resume")


@routes.post("/api/v2/schedules/{schedule_id:\\d+}/cancel")
@operation("Cancel for good; queued and held messages not yet taken are dropped",
           tag="schedules",
           request=CancelIn,
           errors={400: "confirm_required", 404: "schedule_not_found",
                   409: "invalid_transition, schedule_complete"})
async def cancel_schedule(request: web.Request) -> web.Response:
    body = validate(CancelIn, await _object(request))
    confirmed(request, body.model_dump())
    return await _transition(request, "cancel")


@routes.post("/api/v2/schedules/{schedule_id:\\d+}/winner")
@operation("Pick a test's winner by hand (overrides the computed one)", tag="schedules",
           request=WinnerIn,
           errors={404: "schedule_not_found, blast_not_found", 409: "no_test_running"})
async def choose_winner(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, WinnerIn)
    services = request.app[SERVICES]
    schedule_id = path_id(request, "schedule_id", "schedule")
    await services.schedules.choose_winner(actor, schedule_id, body.blast_id)
    return respond(schedule_out(await services.schedules.get(actor, schedule_id)))
