"""/api/v2/journeys"""

from __future__ import annotations

from aiohttp import web
from pydantic import Field

from core.journeys.models import JourneyStatus
from core.text import Text, TextJson
from web.auth import require_actor
from web.bodies import Body, parse_body, path_id
from web.keys import SERVICES
from web.openapi import operation
from web.render import respond

routes = web.RouteTableDef()

_STEPS = ("Steps: {position, type: send|wait|wait_until|condition|set_field|unsubscribe|"
          "exit, config, next?, yes?, no?} (see PRODUCT.md section 5)")


class JourneyIn(Body):
    name: Text
    list_number: Text
    trigger: TextJson | None = Field(
        None, description="Nested AND/OR groups of conditions on custom.<key> and "
                          "signup_method (eq, ne, in, not_in, exists, contains)")
    steps: list[TextJson] = Field(description=_STEPS)
    automated_percent: int | None = Field(
        None, description="Send steps naming several creatives: the share the selector "
                          "chooses for (default 100; a step's own automated_percent wins); "
                          "the rest is a uniform control split")


class JourneyChange(Body):
    name: Text | None = None
    trigger: TextJson | None = None
    steps: list[TextJson] | None = Field(None, description=_STEPS)
    automated_percent: int | None = None


def _id(request: web.Request) -> int:
    return path_id(request, "journey_id", "journey")


@routes.get("/api/v2/journeys")
@operation("List journeys", tag="journeys")
async def list_journeys(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    return respond({"data": await request.app[SERVICES].journeys.list_journeys(actor)})


@routes.post("/api/v2/journeys")
@operation("Create a journey (a draft)", tag="journeys", request=JourneyIn, status=201,
           errors={400: "invalid_steps, dangling_branch, loop_without_wait, endless_path, "
                        "invalid_step_type, unknown_field, invalid_operator, "
                        "creative_not_found, invalid_name",
                   404: "list_not_found"})
async def create_journey(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, JourneyIn)
    journey = await request.app[SERVICES].journeys.create(
        actor, name=body.name, list_number=body.list_number, trigger=body.trigger,
        steps=body.steps, automated_percent=body.automated_percent)
    return respond(journey, status=201)


@routes.get("/api/v2/journeys/{journey_id:\\d+}")
@operation("One journey with its steps", tag="journeys", errors={404: "journey_not_found"})
async def get_journey(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    return respond(await request.app[SERVICES].journeys.get(actor, _id(request)))


@routes.put("/api/v2/journeys/{journey_id:\\d+}")
@operation("Change a journey's name, trigger, steps or automated_percent", tag="journeys",
           request=JourneyChange,
           errors={404: "journey_not_found", 409: "journey_in_use, journey_archived"})
async def update_journey(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, JourneyChange)
    journey = await request.app[SERVICES].journeys.update(
        actor, _id(request), **body.model_dump(exclude_unset=True))
    return respond(journey)


async def _move(request: web.Request, status: JourneyStatus) -> web.Response:
    actor = await require_actor(request)
    return respond(await request.app[SERVICES].journeys.set_status(actor, _id(request),
                                                                   status))


@routes.post("/api/v2/journeys/{journey_id:\\d+}/activate")
@operation("Activate: new contacts of its list are enrolled", tag="journeys",
           errors={404: "journey_not_found", 409: "invalid_journey_status"})
async def activate_journey(request: web.Request) -> web.Response:
    return await _move(request, JourneyStatus.ACTIVE)


@routes.post("/api/v2/journeys/{journey_id:\\d+}/pause")
@operation("Pause: no new enrollments; contacts on their way carry on", tag="journeys",
           errors={404: "journey_not_found", 409: "invalid_journey_status"})
async def pause_journey(request: web.Request) -> web.Response:
    return await _move(request, JourneyStatus.PAUSED)


@routes.post("/api/v2/journeys/{journey_id:\\d+}/archive")
@operation("Archive: every contact still on its way exits", tag="journeys",
           errors={404: "journey_not_found"})
async def archive_journey(request: web.Request) -> web.Response:
    return await _move(request, JourneyStatus.ARCHIVED)


@routes.get("/api/v2/journeys/{journey_id:\\d+}/stats")
@operation("Per-step statistics: entered, sent, clicked, converted, exited, revenue",
           tag="journeys", errors={404: "journey_not_found"})
async def journey_stats(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    return respond(await request.app[SERVICES].journeys.stats(actor, _id(request)))
