"""/api/v2/networks/tune: the account's TUNE network, whose conversions the hourly sync
pulls (the NetworkToken is write-only)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from pydantic import Field

from core.offers.models import TuneConnection
from core.text import Text
from web.auth import require_actor
from web.bodies import Body, iso, parse_body
from web.keys import SERVICES
from web.openapi import operation
from web.render import respond

routes = web.RouteTableDef()


class TuneIn(Body):
    network_id: Text = Field(description="Your TUNE network id")
    api_key: Text = Field(description="The NetworkToken (write-only)")
    timezone: Text = Field("America/New_York",
                           description="The network's timezone: TUNE reports times in it")


def tune_out(connection: TuneConnection) -> dict[str, Any]:
    return {"network_id": connection.network_id, "timezone": connection.timezone,
            "status": connection.status, "last_synced_at": iso(connection.last_synced_at),
            "last_error": connection.last_error}


@routes.put("/api/v2/networks/tune")
@operation("Connect the account's TUNE network (owner)", tag="conversions", request=TuneIn,
           errors={400: "invalid_network_id, invalid_timezone"})
async def connect_tune(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    body = await parse_body(request, TuneIn)
    connection = await request.app[SERVICES].tune.connect(
        actor, network_id=body.network_id, api_key=body.api_key, timezone=body.timezone)
    return respond(tune_out(connection))


@routes.get("/api/v2/networks/tune")
@operation("The TUNE connection and its last sync", tag="conversions",
           errors={404: "tune_not_connected"})
async def get_tune(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    return respond(tune_out(await request.app[SERVICES].tune.get(actor)))


@routes.post("/api/v2/networks/tune/sync")
@operation("Run the TUNE sync now (it also runs hourly)", tag="conversions",
           description="`error` says why TUNE's answer could not be used (a refused "
                       "token...); the connection keeps it as `last_error`.",
           errors={404: "tune_not_connected"})
async def sync_tune(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    result = await request.app[SERVICES].tune.sync_now(actor)
    return respond({"fetched": result.fetched, "recorded": result.recorded,
                    "duplicates": result.duplicates, "not_ours": result.not_ours,
                    "error": result.error})
