"""A local Discord: REST API and gateway on one aiohttp server, for the real discord.py.

Everything the bot sends is recorded (``requests``, ``gateway_log``); anything the fake
does not know is answered 404 and recorded as unknown, so a test notices a route the bot
was not expected to use. Tests act as users with ``push_interaction``/``command`` and
``push_message``, and read what users would see with the helpers at the bottom."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.discord_fake import payloads as p
from tests.discord_fake.acting import Acting
from tests.discord_fake.gateway import Gateway
from tests.discord_fake.interactions import FakeInteraction
from tests.discord_fake.rest import RestRoutes

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Recorded:
    """One HTTP request the bot made, as the fake received it."""

    method: str
    path: str  # below the API root, e.g. /channels/1/messages
    query: dict[str, str]
    body: Any  # parsed JSON (for multipart: the payload_json), or the raw text
    raw: str  # the body as text (files excluded), for "did this ever leave the bot" checks
    files: list[dict[str, Any]]
    status: int = 0
    known: bool = True


RECORD = web.RequestKey("record", Recorded)


class FakeDiscord(Acting, Gateway, RestRoutes):
    TOKEN = "fake-bot-token.for-tests"
    APP_ID = 900000000000000001
    BOT_ID = 900000000000000002
    OWNER_ID = 900000000000000003
    GUILD_ID = 910000000000000001
    GENERAL_CHANNEL_ID = 920000000000000001
    SUPPORT_CHANNEL_ID = 920000000000000002
    SUPPORT_ROLE_ID = 930000000000000001
    ONCALL_ROLE_ID = 930000000000000002
    TEAM_ID = 940000000000000001
    API_PREFIX = "/api/v10"

    def __init__(self, *, now: Callable[[], dt.datetime] | None = None) -> None:
        self.now = now or (lambda: dt.datetime.now(dt.UTC))
        self.snowflake = p.Snowflakes(self.now)
        self.token = self.TOKEN
        self.bot_user = p.FakeUser(self.BOT_ID, "trackly", bot=True)
        self.owner = p.FakeUser(self.OWNER_ID, "owner")
        self.users: dict[int, p.FakeUser] = {u.id: u for u in (self.bot_user, self.owner)}
        self.team: p.FakeTeam | None = None  # set by owned_by_team
        self.roles: dict[int, dict[str, Any]] = {
            self.GUILD_ID: p.role(self.GUILD_ID, "@everyone", position=0),
            self.SUPPORT_ROLE_ID: p.role(self.SUPPORT_ROLE_ID, "Support", position=2),
            self.ONCALL_ROLE_ID: p.role(self.ONCALL_ROLE_ID, "On-call", position=3),
        }
        self.channels: dict[int, dict[str, Any]] = {
            self.GENERAL_CHANNEL_ID: p.text_channel(self.GENERAL_CHANNEL_ID, self.GUILD_ID,
                                                    "general", position=0),
            self.SUPPORT_CHANNEL_ID: p.text_channel(self.SUPPORT_CHANNEL_ID, self.GUILD_ID,
                                                    "support", position=1),
        }
        self.threads: dict[int, dict[str, Any]] = {}
        self.thread_members: dict[int, set[int]] = {}
        self.messages: dict[int, list[dict[str, Any]]] = {}
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self._command_ids: dict[tuple[int | None, str], int] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.requests: list[Recorded] = []
        self.expected_unknown: list[str] = []  # path prefixes a test expects to be 404
        self.stall_posts = False  # True: channel posts are kept but never answered
        self.stalled_posts: list[dict[str, Any]] = []
        self._change = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self._init_gateway()

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/gateway", self._gateway_handler)
        app.router.add_get("/gateway-resume", self._gateway_handler)
        self.add_rest_routes(app, self.API_PREFIX)
        app.router.add_route("*", "/{tail:.*}", self._unknown)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None,
                                     shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        await self._close_sockets()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_base(self) -> str:
        """What ``discord.http.Route.BASE`` must be."""
        return self.base_url + self.API_PREFIX

    @property
    def gateway_url(self) -> str:
        """What ``discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY`` must be."""
        return self.base_url.replace("http://", "ws://") + "/gateway"

    @property
    def resume_url(self) -> str:
        return self.base_url.replace("http://", "ws://") + "/gateway-resume"

    # -- waiting ----------------------------------------------------------------------

    def _changed(self) -> None:
        self._change.set()
        self._change = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], Any], within: float = 5.0,
                         what: str = "condition") -> Any:
        """Until ``predicate()`` is truthy after something happened on the fake."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not (result := predicate()):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"timed out after {within}s waiting for {what}")
            try:
                await asyncio.wait_for(self._change.wait(), remaining)
            except TimeoutError:
                continue
        return result

    # -- the guild ----------------------------------------------------------------------

    def add_user(self, name: str, *, roles: list[int] | tuple[int, ...] = (),
                 in_guild: bool = True, bot: bool = False) -> p.FakeUser:
        user = p.FakeUser(self.snowflake(), name, list(roles), bot=bot, in_guild=in_guild)
        self.users[user.id] = user
        return user

    def staff(self, name: str = "sam", *extra_roles: int) -> p.FakeUser:
        """A member holding the support role."""
        return self.add_user(name, roles=[self.SUPPORT_ROLE_ID, *extra_roles])

    def owned_by_team(self, *members: tuple[p.FakeUser, str, int]) -> p.FakeTeam:
        """The application belongs to a developer team: the fake's ``owner`` owns the team
        (named by ``owner_user_id``; listed as a member with the admin role), and
        ``members`` are (user, role, membership state)."""
        self.team = p.FakeTeam(self.TEAM_ID, "Trackly devs", self.owner, [
            (self.owner, p.TEAM_ADMIN, p.TEAM_ACCEPTED), *members])
        return self.team

    def add_text_channel(self, name: str) -> int:
        channel_id = self.snowflake()
        self.channels[channel_id] = p.text_channel(channel_id, self.GUILD_ID, name,
                                                   position=len(self.channels))
        return channel_id

    def member_payload(self, user: p.FakeUser, *, with_user: bool = True) -> dict[str, Any]:
        return user.member_payload(joined_at=p.iso(self.now()), with_user=with_user)

    def ready_payload(self) -> dict[str, Any]:
        assert self.session is not None
        return {"v": 10, "user": {**self.bot_user.payload(), "verified": True, "mfa_enabled":
                                  False, "flags": 0},
                "guilds": [{"id": str(self.GUILD_ID), "unavailable": True}],
                "session_id": self.session.id, "resume_gateway_url": self.resume_url,
                "application": {"id": str(self.APP_ID), "flags": 0},
                "private_channels": [], "relationships": [], "presences": []}

    def guild_create_payload(self) -> dict[str, Any]:
        members = [self.member_payload(u) for u in self.users.values() if u.in_guild]
        return {"id": str(self.GUILD_ID), "name": "Trackly HQ", "unavailable": False,
                "owner_id": str(self.OWNER_ID), "member_count": len(members),
                "roles": list(self.roles.values()), "channels": list(self.channels.values()),
                "threads": [t for t in self.threads.values()
                            if not t["thread_metadata"]["archived"]],
                "members": members, "emojis": [], "stickers": [], "features": [],
                "voice_states": [], "presences": [], "stage_instances": [],
                "guild_scheduled_events": [], "soundboard_sounds": [], "large": False,
                "preferred_locale": "en-US", "premium_tier": 0, "mfa_level": 0,
                "verification_level": 0, "explicit_content_filter": 0,
                "default_message_notifications": 0, "system_channel_flags": 0,
                "nsfw_level": 0, "joined_at": p.iso(self.now())}

    # -- what users see -----------------------------------------------------------------

    def dm_channel_for(self, user: p.FakeUser) -> int:
        for channel_id, channel in self.channels.items():
            if channel["type"] == p.DM and channel["recipients"][0]["id"] == str(user.id):
                return channel_id
        channel_id = self.snowflake()
        self.channels[channel_id] = p.dm_channel(channel_id, user)
        return channel_id

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        return list(self.messages.get(channel_id, []))

    def bot_messages(self, channel_id: int) -> list[dict[str, Any]]:
        return [m for m in self.channel_messages(channel_id)
                if m["author"]["id"] == str(self.BOT_ID)]

    def created_threads(self) -> list[dict[str, Any]]:
        return list(self.threads.values())

    def pinged_roles(self, message: dict[str, Any]) -> list[int]:
        """Roles a message really pinged: mentioned in its content and allowed."""
        return [int(r) for r in message["mention_roles"]]

    def find_requests(self, method: str, path_contains: str = "") -> list[Recorded]:
        return [r for r in self.requests
                if r.method == method and path_contains in r.path]

    @property
    def unknown_requests(self) -> list[Recorded]:
        return [r for r in self.requests if not r.known
                and not any(r.path.startswith(e) for e in self.expected_unknown)]

    def requests_containing(self, secret: str) -> list[Recorded]:
        return [r for r in self.requests if secret in r.raw or secret in r.path
                or any(secret in v for v in r.query.values())]

    def frames_containing(self, secret: str) -> list[dict[str, Any]]:
        return [f for f in self.gateway_log.frames if secret in json.dumps(f)]

    # -- recording ----------------------------------------------------------------------

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in ("/gateway", "/gateway-resume"):
            return await handler(request)
        body, raw, files = await _read_body(request)
        path = request.path.removeprefix(self.API_PREFIX)
        record = Recorded(request.method, path, dict(request.query), body, raw, files)
        request[RECORD] = record
        self.requests.append(record)
        try:
            response = await handler(request)
        except web.HTTPMethodNotAllowed:
            response = await self._unknown(request)
        record.status = response.status
        self._changed()
        return response

    @staticmethod
    def record_of(request: web.Request) -> Recorded:
        return request[RECORD]

    async def _unknown(self, request: web.Request) -> web.StreamResponse:
        self.record_of(request).known = False
        return json_response({"message": "404: Not Found", "code": 0}, status=404)


async def _read_body(request: web.Request) -> tuple[Any, str, list[dict[str, Any]]]:
    if not request.body_exists:
        return None, "", []
    if request.content_type.startswith("multipart/"):
        body: Any = None
        raw_parts: list[str] = []
        files: list[dict[str, Any]] = []
        reader = await request.multipart()
        async for part in reader:
            data = await part.read()  # type: ignore[union-attr]
            if part.name == "payload_json":  # type: ignore[union-attr]
                raw_parts.append(data.decode())
                body = json.loads(data)
            else:
                files.append({"field": part.name, "filename": part.filename,  # type: ignore[union-attr]
                              "content_type": part.headers.get("Content-Type"),  # type: ignore[union-attr]
                              "data": bytes(data)})
        return body, "\n".join(raw_parts), files
    raw = await request.text()
    if request.content_type == "application/json" and raw:
        return json.loads(raw), raw, []
    return raw, raw, []


def json_response(data: Any, *, status: int = 200) -> web.Response:
    """JSON with a content type of exactly ``application/json``: discord.py compares the
    header verbatim, so aiohttp's ``json_response`` (which adds a charset) would make it
    treat every answer as text."""
    return web.Response(body=json.dumps(data).encode(), status=status,
                        headers={"Content-Type": "application/json"})
