"""Operations endpoints and the OpenAPI document."""

from __future__ import annotations

import logging
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from core.operations import snapshot
from web.keys import METRICS, SERVICES
from web.openapi import build_document, operation
from web.render import respond

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


def app_version() -> str:
    try:
        return version("trackly")
    except PackageNotFoundError:
        return "0.0.0+local"


@routes.get("/healthz")
@operation("Liveness: the process answers", tag="operations", public=True,
           response={"type": "object", "properties": {"status": {"const": "ok"}}})
async def healthz(request: web.Request) -> web.Response:
    return respond({"status": "ok"})


@routes.get("/readyz")
@operation("Readiness: the database answers", tag="operations", public=True,
           errors={503: "Database unreachable (`database_unavailable`)"})
async def readyz(request: web.Request) -> web.Response:
    health = await request.app[SERVICES].system.database_health()
    body = {"status": "ok" if health.ok else "unavailable",
            "database": {"ok": health.ok, "latency_ms": round(health.latency_ms, 2),
                         "dialect": health.dialect}}
    if not health.ok:
        body["code"] = "database_unavailable"
        body["error"] = "The database is not reachable."
    return respond(body, status=200 if health.ok else 503)


@routes.get("/api/v2/openapi.json")
@operation("This document", tag="operations", public=True)
async def openapi(request: web.Request) -> web.Response:
    settings = request.app[SERVICES].settings
    return respond(build_document(request.app, version=app_version(),
                                  server_url=settings.public_url))


@routes.get("/metrics")
@operation("Prometheus metrics: this process's HTTP traffic and figures, and the send "
           "queue, heartbeats, imports and alerts of the whole installation (aggregates "
           "only)", tag="operations", public=True, response={"type": "string"},
           response_content_type="text/plain")
async def metrics(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    try:
        state = await snapshot(services.clock)
    except Exception:  # the process figures are still worth a scrape
        log.warning("metrics: the database did not answer", exc_info=True)
        state = None
    return request.app[METRICS].exposition(state)
