"""/api/v2/audit: the account's audit trail (owners), filterable."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from core.audit.models import AuditEvent
from web.auth import require_actor
from web.bodies import iso, page_params, paginated, paging, time_param
from web.keys import SERVICES
from web.openapi import operation
from web.query import query_text
from web.render import respond

routes = web.RouteTableDef()


def event_out(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "action": event.action, "actor": event.actor, "face": event.face,
            "target": event.target, "outcome": event.outcome, "changes": event.changes,
            "occurred_at": iso(event.occurred_at)}


@routes.get("/api/v2/audit")
@operation("The audit trail, newest first (owner only)", tag="audit", query=[
    *paging(),
    ("action", "string", "An action (team.invite) or a family (team)"),
    ("actor", "string", "Who: api_key:3, discord:123..., user:4, system"),
    ("face", "string", "api, discord, cli or system"),
    ("outcome", "string", "ok or refused"),
    ("since", "string", "ISO 8601 time"), ("until", "string", "ISO 8601 time")])
async def list_audit(request: web.Request) -> web.Response:
    actor = await require_actor(request)
    page, per_page = page_params(request)
    found = await request.app[SERVICES].audit.list(
        actor, action=query_text(request, "action", max_length=48),
        by=query_text(request, "actor", max_length=64),
        face=query_text(request, "face", max_length=16),
        outcome=query_text(request, "outcome", max_length=16),
        since=time_param(request, "since"), until=time_param(request, "until"),
        page=page, per_page=per_page)
    return respond(paginated([event_out(e) for e in found.items], page=page,
                             per_page=per_page, total=found.total))
