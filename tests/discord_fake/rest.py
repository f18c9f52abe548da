"""The fake's REST API: the routes a bot uses, answering as Discord does (the subset)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.discord_fake import payloads as p
from tests.discord_fake.interactions import (
    CHANNEL_MESSAGE,
    DEFERRED_MESSAGE,
    DEFERRED_UPDATE,
    UPDATE_MESSAGE,
    FakeInteraction,
)

if TYPE_CHECKING:
    from tests.discord_fake.server import FakeDiscord

UNKNOWN_CHANNEL = 10003
UNKNOWN_MESSAGE = 10008
UNKNOWN_INTERACTION = 10062
ALREADY_ACKNOWLEDGED = 40060
THREAD_ARCHIVED = 50083
NONCE_WINDOW = dt.timedelta(minutes=5)


def _json(data: Any, status: int = 200) -> web.Response:
    from tests.discord_fake.server import json_response

    return json_response(data, status=status)


def _error(status: int, message: str, code: int = 0) -> web.Response:
    return _json({"message": message, "code": code}, status)


def _no_content() -> web.Response:
    return web.Response(status=204)


class RestRoutes:
    def add_rest_routes(self: FakeDiscord, app: web.Application, prefix: str) -> None:
        r = app.router
        r.add_get(prefix + "/users/@me", self._me)
        r.add_post(prefix + "/users/@me/channels", self._open_dm)
        r.add_get(prefix + "/oauth2/applications/@me", self._application)
        r.add_get(prefix + "/gateway", self._gateway_info)
        r.add_get(prefix + "/gateway/bot", self._gateway_info)
        for path in ("/applications/{app}/commands",
                     "/applications/{app}/guilds/{guild}/commands"):
            r.add_get(prefix + path, self._get_commands)
            r.add_put(prefix + path, self._put_commands)
        r.add_post(prefix + "/interactions/{iid}/{token}/callback", self._callback)
        r.add_post(prefix + "/webhooks/{app}/{token}", self._followup)
        r.add_route("*", prefix + "/webhooks/{app}/{token}/messages/{mid}",
                    self._webhook_message)
        r.add_get(prefix + "/channels/{cid}", self._get_channel)
        r.add_patch(prefix + "/channels/{cid}", self._edit_channel)
        r.add_delete(prefix + "/channels/{cid}", self._delete_thread)
        r.add_post(prefix + "/channels/{cid}/messages", self._post_message)
        r.add_get(prefix + "/channels/{cid}/messages", self._channel_history)
        r.add_route("*", prefix + "/channels/{cid}/messages/{mid}", self._channel_message)
        r.add_post(prefix + "/channels/{cid}/threads", self._create_thread)
        r.add_put(prefix + "/channels/{cid}/thread-members/{uid}", self._add_thread_member)
        r.add_delete(prefix + "/channels/{cid}/thread-members/{uid}",
                     self._remove_thread_member)

    # -- auth and small lookups ---------------------------------------------------------

    def _authorised(self: FakeDiscord, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    def _unauthorised(self: FakeDiscord) -> web.Response:
        return _error(401, "401: Unauthorized")

    def _body(self: FakeDiscord, request: web.Request) -> Any:
        return self.record_of(request).body

    def _channel(self: FakeDiscord, channel_id: int) -> dict[str, Any] | None:
        return self.threads.get(channel_id) or self.channels.get(channel_id)

    # -- identity -----------------------------------------------------------------------

    async def _me(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        return _json({**self.bot_user.payload(), "verified": True, "mfa_enabled": False,
                      "flags": 0, "email": None})

    async def _application(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        return _json(p.application(self.APP_ID, owner=self.owner, team=self.team))

    async def _gateway_info(self: FakeDiscord, request: web.Request) -> web.Response:
        return _json({"url": self.gateway_url, "shards": 1, "session_start_limit": {
            "total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}})

    async def _open_dm(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        user = self.users.get(int(self._body(request)["recipient_id"]))
        if user is None:
            return _error(400, "Invalid Recipient(s)", 50033)
        return _json(self.channels[self.dm_channel_for(user)])

    # -- application commands -----------------------------------------------------------

    def _scope(self: FakeDiscord, request: web.Request) -> int | None:
        guild = request.match_info.get("guild")
        return int(guild) if guild else None

    async def _get_commands(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        return _json(self.commands.get(self._scope(request), []))

    async def _put_commands(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        if request.match_info["app"] != str(self.APP_ID):
            return _error(403, "Missing Access", 50001)
        scope = self._scope(request)
        synced = []
        for command in self._body(request):
            key = (scope, command["name"])
            command_id = self._command_ids.setdefault(key, self.snowflake())
            synced.append({"type": 1, "description": "", "options": [],
                           "default_member_permissions": None, "nsfw": False, **command,
                           "id": str(command_id), "application_id": str(self.APP_ID),
                           "version": str(self.snowflake()),
                           **({"guild_id": str(scope)} if scope else {})})
        self.commands[scope] = synced
        return _json(synced)

    # -- interactions -------------------------------------------------------------------

    def _interaction_by_token(self: FakeDiscord, token: str) -> FakeInteraction | None:
        return next((i for i in self.interactions.values() if i.token == token), None)

    def _interaction_message(self: FakeDiscord, interaction: FakeInteraction,
                             data: dict[str, Any], flags: int,
                             files: list[dict[str, Any]]) -> dict[str, Any]:
        return p.message(
            self.snowflake(), channel_id=interaction.channel_id, author=self.bot_user,
            content=data.get("content") or "", embeds=data.get("embeds"), flags=flags,
            when=self.now(), msg_type=20, webhook_id=self.APP_ID,
            guild_id=None if "user" in interaction.payload else self.GUILD_ID,
            components=data.get("components"), attachments=self._attachments(files))

    def _attachments(self: FakeDiscord, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{"id": str(self.snowflake()), "filename": f["filename"], "size": len(f["data"]),
                 "url": f"{self.base_url}/attachments/{f['filename']}",
                 "proxy_url": f"{self.base_url}/attachments/{f['filename']}",
                 "content_type": f["content_type"]} for f in files]

    async def _publish(self: FakeDiscord, message: dict[str, Any]) -> None:
        """A message everyone in the channel sees: stored, and sent to the gateway."""
        if int(message.get("flags", 0)) & p.EPHEMERAL:
            return
        self._store_message(int(message["channel_id"]), message)
        await self.dispatch("MESSAGE_CREATE", message)

    async def _callback(self: FakeDiscord, request: web.Request) -> web.Response:
        interaction = self.interactions.get(int(request.match_info["iid"]))
        if interaction is None or interaction.token != request.match_info["token"]:
            return _error(404, "Unknown interaction", UNKNOWN_INTERACTION)
        if interaction.callback is not None:
            return _error(400, "Interaction has already been acknowledged.",
                          ALREADY_ACKNOWLEDGED)
        body = self._body(request)
        kind, data = body["type"], body.get("data") or {}
        interaction.callback = body
        flags = int(data.get("flags", 0))
        info: dict[str, Any] = {"id": str(interaction.id), "type": 2,
                                "response_message_loading": kind == DEFERRED_MESSAGE,
                                "response_message_ephemeral": bool(flags & p.EPHEMERAL)}
        resource: dict[str, Any] = {"type": kind}
        if kind in (CHANNEL_MESSAGE, DEFERRED_MESSAGE):
            loading = p.LOADING if kind == DEFERRED_MESSAGE else 0
            message = self._interaction_message(interaction, data, flags | loading,
                                                self.record_of(request).files)
            interaction.original = message
            info["response_message_id"] = message["id"]
            resource["message"] = message
            if kind == CHANNEL_MESSAGE:
                await self._publish(message)
                interaction.settled.set()
        elif kind == UPDATE_MESSAGE and interaction.original is not None:
            # a component's answer that edits the message the component is on
            self._apply_edit(interaction.original, data, self.record_of(request).files)
            resource["message"] = interaction.original
            interaction.settled.set()
        elif kind != DEFERRED_UPDATE:  # autocomplete choices, modals
            interaction.settled.set()
        # DEFERRED_UPDATE: the user sees nothing until the edit or follow-up that comes next
        return _json({"interaction": info, "resource": resource})

    async def _followup(self: FakeDiscord, request: web.Request) -> web.Response:
        interaction = self._interaction_by_token(request.match_info["token"])
        if interaction is None:
            return _error(404, "Unknown Webhook", 10015)
        data = self._body(request) or {}
        message = self._interaction_message(interaction, data, int(data.get("flags", 0)),
                                            self.record_of(request).files)
        interaction.followups.append(message)
        await self._publish(message)
        interaction.settled.set()  # an answer the user sees (e.g. after a deferred update)
        if request.query.get("wait") in ("true", "1", "True"):
            return _json(message)
        return _no_content()

    async def _webhook_message(self: FakeDiscord, request: web.Request) -> web.Response:
        interaction = self._interaction_by_token(request.match_info["token"])
        if interaction is None:
            return _error(404, "Unknown Webhook", 10015)
        mid = request.match_info["mid"]
        if mid == "@original":
            message = interaction.original
        else:
            message = next((m for m in interaction.followups if m["id"] == mid), None)
        if message is None:
            return _error(404, "Unknown Message", UNKNOWN_MESSAGE)
        if request.method == "GET":
            return _json(message)
        if request.method == "DELETE":
            message["deleted"] = True
            return _no_content()
        if request.method != "PATCH":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "PATCH", "DELETE"])
        was_loading = int(message["flags"]) & p.LOADING
        self._apply_edit(message, self._body(request) or {}, self.record_of(request).files)
        message["flags"] = int(message["flags"]) & ~p.LOADING
        if mid == "@original":
            interaction.original_edits += 1
            if was_loading:
                await self._publish(message)
            interaction.settled.set()
        return _json(message)

    def _apply_edit(self: FakeDiscord, message: dict[str, Any], data: dict[str, Any],
                    files: list[dict[str, Any]]) -> None:
        for key in ("content", "embeds", "components"):
            if key in data:
                message[key] = data[key] if data[key] is not None else (
                    "" if key == "content" else [])
        if files or "attachments" in data:
            message["attachments"] = self._attachments(files)
        message["edited_timestamp"] = p.iso(self.now())

    # -- channels, messages, threads ------------------------------------------------------

    async def _get_channel(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        channel = self._channel(int(request.match_info["cid"]))
        if channel is None:
            return _error(404, "Unknown Channel", UNKNOWN_CHANNEL)
        return _json(channel)

    async def _edit_channel(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        channel_id = int(request.match_info["cid"])
        body = self._body(request) or {}
        if channel_id in self.threads:
            thread = self.threads[channel_id]
            meta = thread["thread_metadata"]
            for key in ("archived", "locked", "invitable", "auto_archive_duration"):
                if key in body:
                    meta[key] = body[key]
            if "archived" in body:
                meta["archive_timestamp"] = p.iso(self.now())
            if "name" in body:
                thread["name"] = body["name"]
            await self.dispatch("THREAD_UPDATE", thread)
            return _json(thread)
        channel = self.channels.get(channel_id)
        if channel is None:
            return _error(404, "Unknown Channel", UNKNOWN_CHANNEL)
        for key in ("name", "topic"):
            if key in body:
                channel[key] = body[key]
        await self.dispatch("CHANNEL_UPDATE", channel)
        return _json(channel)

    async def _delete_thread(self: FakeDiscord, request: web.Request) -> web.Response:
        """DELETE of a thread (the subset: the bot deletes no other channel)."""
        if not self._authorised(request):
            return self._unauthorised()
        channel_id = int(request.match_info["cid"])
        if channel_id not in self.threads:
            if channel_id in self.channels:
                raise web.HTTPMethodNotAllowed(request.method, ["GET", "PATCH"])
            return _error(404, "Unknown Channel", UNKNOWN_CHANNEL)
        thread = self.threads[channel_id]
        await self.delete_thread(channel_id)
        return _json(thread)

    def _store_message(self: FakeDiscord, channel_id: int, message: dict[str, Any]) -> None:
        self.messages.setdefault(channel_id, []).append(message)
        thread = self.threads.get(channel_id)
        if thread is not None:
            thread["message_count"] += 1
            thread["total_message_sent"] += 1
            thread["last_message_id"] = message["id"]
            members = self.thread_members.setdefault(channel_id, set())
            members.add(int(message["author"]["id"]))
            if thread["type"] == p.PRIVATE_THREAD:  # a ping in a private thread invites
                members.update(int(u["id"]) for u in message["mentions"])
                members.update(u.id for u in self.users.values()
                               if set(u.roles) & set(self.pinged_roles(message)))

    def _pings(self: FakeDiscord, content: str, allowed: dict[str, Any] | None
               ) -> tuple[list[p.FakeUser], list[int]]:
        """Who a message pings under ``allowed_mentions`` (absent: everything parses)."""
        parse = set((allowed or {}).get("parse", ["users", "roles", "everyone"])
                    if allowed is not None else ["users", "roles", "everyone"])
        users = [int(u) for u in p.USER_MENTION.findall(content)]
        roles = [int(r) for r in p.ROLE_MENTION.findall(content)]
        ok_users = {int(u) for u in (allowed or {}).get("users", [])}
        ok_roles = {int(r) for r in (allowed or {}).get("roles", [])}
        pinged_users = [self.users[u] for u in users
                        if u in self.users and ("users" in parse or u in ok_users)]
        pinged_roles = [r for r in roles if "roles" in parse or r in ok_roles]
        return pinged_users, pinged_roles

    async def _post_message(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        channel_id = int(request.match_info["cid"])
        channel = self._channel(channel_id)
        if channel is None:
            return _error(404, "Unknown Channel", UNKNOWN_CHANNEL)
        data = self._body(request) or {}
        nonce = str(data["nonce"]) if data.get("nonce") is not None else None
        if nonce is not None and data.get("enforce_nonce"):
            # Discord answers a repeated nonce, for a few minutes, with the first message.
            for earlier in self.messages.get(channel_id, []):
                if earlier.get("nonce") == nonce and earlier["author"]["id"] == str(
                        self.BOT_ID) and self.now() - p.parse_iso(
                        earlier["timestamp"]) < NONCE_WINDOW:
                    return _json(earlier)
        content = data.get("content") or ""
        users, roles = self._pings(content, data.get("allowed_mentions"))
        in_guild = channel["type"] != p.DM
        message = p.message(
            self.snowflake(), channel_id=channel_id, author=self.bot_user, content=content,
            embeds=data.get("embeds"), flags=int(data.get("flags") or 0), when=self.now(),
            guild_id=self.GUILD_ID if in_guild else None, mentions=users, mention_roles=roles,
            member=self.member_payload(self.bot_user, with_user=False) if in_guild else None,
            components=data.get("components"),
            attachments=self._attachments(self.record_of(request).files))
        if nonce is not None:
            message["nonce"] = nonce
        self._store_message(channel_id, message)
        await self.dispatch("MESSAGE_CREATE", message)
        if self.stall_posts:
            # Discord has the message; its answer never reaches the bot (a crash, a cut
            # connection): the request hangs until the bot gives up or the fake stops.
            self.stalled_posts.append(message)
            self._changed()
            await asyncio.Event().wait()
        return _json(message)

    async def _channel_history(self: FakeDiscord, request: web.Request) -> web.Response:
        """GET messages: newest first, ``limit`` (default 50, at most 100), ``before`` and
        ``after`` message ids, as Discord pages history."""
        if not self._authorised(request):
            return self._unauthorised()
        channel_id = int(request.match_info["cid"])
        if self._channel(channel_id) is None:
            return _error(404, "Unknown Channel", UNKNOWN_CHANNEL)
        limit = max(1, min(100, int(request.query.get("limit", 50))))
        before = int(request.query.get("before", 0)) or None
        after = int(request.query.get("after", 0)) or None
        found = [m for m in self.messages.get(channel_id, [])
                 if (before is None or int(m["id"]) < before)
                 and (after is None or int(m["id"]) > after)]
        found.sort(key=lambda m: int(m["id"]), reverse=True)
        return _json(found[:limit])

    async def _channel_message(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        channel_id, mid = int(request.match_info["cid"]), request.match_info["mid"]
        messages = self.messages.get(channel_id, [])
        message = next((m for m in messages if m["id"] == mid), None)
        if message is None:
            return _error(404, "Unknown Message", UNKNOWN_MESSAGE)
        if request.method == "GET":
            return _json(message)
        if request.method == "PATCH":
            self._apply_edit(message, self._body(request) or {}, self.record_of(request).files)
            await self.dispatch("MESSAGE_UPDATE", message)
            return _json(message)
        if request.method == "DELETE":
            messages.remove(message)
            await self.dispatch("MESSAGE_DELETE", {"id": mid, "channel_id": str(channel_id),
                                                   "guild_id": str(self.GUILD_ID)})
            return _no_content()
        raise web.HTTPMethodNotAllowed(request.method, ["GET", "PATCH", "DELETE"])

    async def _create_thread(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        parent_id = int(request.match_info["cid"])
        parent = self.channels.get(parent_id)
        if parent is None or parent["type"] != p.GUILD_TEXT:
            return _error(404, "Unknown Channel", UNKNOWN_CHANNEL)
        body = self._body(request) or {}
        thread_id = self.snowflake()
        thread = p.thread(thread_id, guild_id=self.GUILD_ID, parent_id=parent_id,
                          owner_id=self.BOT_ID, name=body["name"],
                          private=body.get("type", p.PRIVATE_THREAD) == p.PRIVATE_THREAD,
                          created=self.now(),
                          auto_archive=body.get("auto_archive_duration") or 10080,
                          invitable=body.get("invitable", True))
        self.threads[thread_id] = thread
        self.thread_members[thread_id] = {self.BOT_ID}
        await self.dispatch("THREAD_CREATE", {**thread, "newly_created": True})
        return _json(thread)

    async def _add_thread_member(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        thread_id, user_id = int(request.match_info["cid"]), int(request.match_info["uid"])
        if thread_id not in self.threads:
            return _error(404, "Unknown Channel", UNKNOWN_CHANNEL)
        if user_id not in self.users:
            return _error(404, "Unknown User", 10013)
        if self.threads[thread_id]["thread_metadata"]["archived"]:  # as Discord documents
            return _error(400, "Thread is archived", THREAD_ARCHIVED)
        self.thread_members[thread_id].add(user_id)
        self.threads[thread_id]["member_count"] = len(self.thread_members[thread_id])
        return _no_content()

    async def _remove_thread_member(self: FakeDiscord, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return self._unauthorised()
        thread_id, user_id = int(request.match_info["cid"]), int(request.match_info["uid"])
        self.thread_members.get(thread_id, set()).discard(user_id)
        return _no_content()
