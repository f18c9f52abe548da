"""Recording and reading the audit trail. Every sensitive action (keys, team,
credentials, launches, billing, suspension, data exports) is recorded with who, from which
face, when and what changed; refused attempts too, so an owner sees who tried."""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.audit.models import AuditEvent
from core.clock import Clock
from core.pagination import Page
from core.permissions import Action, Actor, ActorKind

FACES = ("api", "discord", "cli", "system")
# Values under these names never reach the trail, whoever passes them.
_SECRET_WORDS = ("secret", "token", "password", "key_hash", "credential", "raw_key")


def face_of(actor: Actor) -> str:
    """API keys act through the REST API, Discord links through the bot; the system actor
    is the operator's command line (internal jobs name their face ``system``)."""
    return {ActorKind.API_KEY: "api", ActorKind.DISCORD: "discord",
            ActorKind.USER: "api"}.get(actor.kind, "cli")


def _scrub(changes: dict[str, Any]) -> dict[str, Any]:
    return {k: ("[redacted]" if any(w in k.lower() for w in _SECRET_WORDS) else v)
            for k, v in changes.items()}


class AuditLog:
    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    async def record(self, actor: Actor, action: str, *, target: str = "",
                     changes: dict[str, Any] | None = None, outcome: str = "ok",
                     face: str | None = None) -> AuditEvent:
        return await AuditEvent.create(
            account_id=actor.account_id, actor=actor.label, face=face or face_of(actor),
            action=action, target=target[:200], outcome=outcome,
            changes=_scrub(changes or {}), occurred_at=self.clock.now())

    async def list(self, actor: Actor, *, action: str | None = None,
                   by: str | None = None, face: str | None = None,
                   outcome: str | None = None, since: dt.datetime | None = None,
                   until: dt.datetime | None = None, page: int = 1, per_page: int = 50
                   ) -> Page[AuditEvent]:
        """Newest first. ``action`` matches a whole action (``team.invite``) or a family
        (``team``); ``by`` is an actor label (``api_key:3``)."""
        actor.require(Action.READ_AUDIT)
        query = AuditEvent.filter(account_id=actor.account_id)
        if action:
            query = (query.filter(action=action) if "." in action
                     else query.filter(action__startswith=f"{action}."))
        if by:
            query = query.filter(actor=by)
        if face:
            query = query.filter(face=face)
        if outcome:
            query = query.filter(outcome=outcome)
        if since:
            query = query.filter(occurred_at__gte=since)
        if until:
            query = query.filter(occurred_at__lt=until)
        total = await query.count()
        rows = await query.order_by("-occurred_at", "-id").offset(
            (page - 1) * per_page).limit(per_page)
        return Page(rows, total)
