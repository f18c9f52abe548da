"""Tests act as Discord users: slash commands, button clicks, autocomplete, messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.discord_fake import payloads as p
from tests.discord_fake.interactions import FakeInteraction, build_command_data

if TYPE_CHECKING:
    from tests.discord_fake.server import FakeDiscord

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE_REQUEST = 2, 3, 4
BUTTON = 2


class Acting:
    def command_schema(self: FakeDiscord, name: str, *, dm: bool = False) -> dict[str, Any]:
        """The command as the bot synced it. Guild commands do not exist in DMs."""
        for scope in ((None,) if dm else (self.GUILD_ID, None)):
            for command in self.commands.get(scope, []):
                if command["name"] == name:
                    return command
        synced = sorted({c["name"] for scope, cs in self.commands.items()
                         if scope is None or not dm for c in cs})
        where = "globally (DMs see only global commands)" if dm else "anywhere"
        raise AssertionError(f"the bot never synced /{name} {where} (synced: {synced})")

    def _command_data(self: FakeDiscord, command: str, options: dict[str, Any] | None,
                      dm: bool) -> dict[str, Any]:
        name, *path = command.split()
        return build_command_data(
            self.command_schema(name, dm=dm), path, options or {},
            guild_id=None if dm else self.GUILD_ID,
            member_payload=lambda u: self.member_payload(u, with_user=False),
            channel_payload=lambda c: self.threads.get(c) or self.channels.get(c))

    async def _push(self: FakeDiscord, user: p.FakeUser, kind: int, data: dict[str, Any], *,
                    channel_id: int | None, dm: bool, extra: dict[str, Any] | None = None
                    ) -> FakeInteraction:
        """An INTERACTION_CREATE shaped as Discord sends it (version, token, application_id,
        attachment_size_limit are required by discord.py; so are members' flags)."""
        interaction_id = self.snowflake()
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(self.APP_ID), "type": kind,
            "token": f"itoken-{interaction_id}", "version": 1, "data": data,
            "locale": "en-US", "entitlements": [], "attachment_size_limit": 10_485_760,
            "app_permissions": p.ALL_TEXT_PERMISSIONS,
            "authorizing_integration_owners": {"0": str(self.GUILD_ID)}, **(extra or {}),
        }
        if dm:
            channel_id = self.dm_channel_for(user)
            payload |= {"channel_id": str(channel_id), "context": 1, "user": user.payload(),
                        "channel": p.dm_channel(channel_id, user)}
        else:
            channel_id = channel_id or self.GENERAL_CHANNEL_ID
            payload |= {"guild_id": str(self.GUILD_ID), "guild_locale": "en-US",
                        "channel_id": str(channel_id), "context": 0,
                        "channel": self.threads.get(channel_id) or self.channels[channel_id],
                        "member": {**self.member_payload(user),
                                   "permissions": p.ALL_TEXT_PERMISSIONS}}
        interaction = FakeInteraction(id=interaction_id, token=payload["token"], user=user,
                                      channel_id=channel_id, payload=payload,
                                      # a component's "original" is the message it is on
                                      original=(extra or {}).get("message"))
        self.interactions[interaction_id] = interaction
        await self.dispatch("INTERACTION_CREATE", payload)
        return interaction

    async def push_interaction(self: FakeDiscord, user: p.FakeUser, command: str,
                               options: dict[str, Any] | None = None, *,
                               channel_id: int | None = None, dm: bool = False
                               ) -> FakeInteraction:
        """``user`` runs ``/command`` (e.g. ``"support new"``) with ``options``, in
        ``channel_id`` (default #general; a thread id works too) or in a DM. Options are
        checked against what the bot synced, as Discord's client would."""
        return await self._push(user, APPLICATION_COMMAND,
                                self._command_data(command, options, dm),
                                channel_id=channel_id, dm=dm)

    async def command(self: FakeDiscord, user: p.FakeUser, command: str,
                      options: dict[str, Any] | None = None, *, channel_id: int | None = None,
                      dm: bool = False, within: float = 5.0) -> FakeInteraction:
        """Run a slash command and wait until the user has the bot's answer."""
        interaction = await self.push_interaction(user, command, options,
                                                  channel_id=channel_id, dm=dm)
        return await interaction.wait(within)

    async def click(self: FakeDiscord, user: p.FakeUser, message: dict[str, Any],
                    label: str, *, within: float = 5.0) -> FakeInteraction:
        """``user`` clicks the button labelled ``label`` on ``message`` (a message the bot
        sent, e.g. ``interaction.message``) and waits for the bot's answer. The bot's
        UPDATE_MESSAGE answer edits ``message`` in place."""
        button = next((c for row in message.get("components") or []
                       for c in row.get("components", [])
                       if c.get("type") == BUTTON and c.get("label") == label), None)
        if button is None:
            raise AssertionError(f"no button {label!r} on the message")
        if button.get("disabled"):
            raise AssertionError(f"the button {label!r} is disabled")
        channel_id = int(message["channel_id"])
        dm = self.channels.get(channel_id, {}).get("type") == p.DM
        interaction = await self._push(
            user, MESSAGE_COMPONENT, {"custom_id": button["custom_id"],
                                      "component_type": BUTTON},
            channel_id=None if dm else channel_id, dm=dm, extra={"message": message})
        return await interaction.wait(within)

    async def autocomplete(self: FakeDiscord, user: p.FakeUser, command: str,
                           options: dict[str, Any], focused: str, *,
                           within: float = 5.0) -> list[dict[str, Any]]:
        """The choices the bot suggests while ``user`` types ``focused`` of ``/command``."""
        data = self._command_data(command, options, dm=False)
        leaf = data["options"]
        while leaf and leaf[0]["type"] in (1, 2):
            leaf = leaf[0]["options"]
        for option in leaf:
            if option["name"] == focused:
                option["focused"] = True
        interaction = await self._push(user, AUTOCOMPLETE_REQUEST, data, channel_id=None,
                                       dm=False)
        await interaction.wait(within)
        return (interaction.callback or {}).get("data", {}).get("choices", [])

    async def push_message(self: FakeDiscord, user: p.FakeUser, content: str, *,
                           channel_id: int | None = None,
                           files: dict[str, bytes] | None = None,
                           msg_type: int = 0) -> dict[str, Any]:
        """``user`` posts ``content`` (and ``files``: name -> bytes) in a channel or thread
        (default #general). ``msg_type`` other than 0 makes it a system message Discord
        posts on the user's behalf (6: "pinned a message", 1: "added someone")."""
        channel_id = channel_id or self.GENERAL_CHANNEL_ID
        if channel_id not in self.channels and channel_id not in self.threads:
            raise AssertionError(f"no channel or thread {channel_id}")
        mentions = [self.users[int(i)] for i in p.USER_MENTION.findall(content)
                    if int(i) in self.users]
        msg = p.message(self.snowflake(), channel_id=channel_id, author=user, content=content,
                        when=self.now(), guild_id=self.GUILD_ID,
                        member=self.member_payload(user, with_user=False), mentions=mentions,
                        mention_roles=[int(r) for r in p.ROLE_MENTION.findall(content)],
                        msg_type=msg_type, attachments=self._attachments([
                            {"filename": name, "data": data, "content_type": None}
                            for name, data in (files or {}).items()]))
        self._store_message(channel_id, msg)
        await self.dispatch("MESSAGE_CREATE", msg)
        return msg

    async def edit_message(self: FakeDiscord, msg: dict[str, Any], content: str
                           ) -> dict[str, Any]:
        """The author edits a message they posted: Discord sends the whole message, with
        ``edited_timestamp``, as MESSAGE_UPDATE."""
        msg.update(content=content, edited_timestamp=p.iso(self.now()))
        await self.dispatch("MESSAGE_UPDATE", dict(msg))
        return msg

    async def delete_messages(self: FakeDiscord, *msgs: dict[str, Any]) -> None:
        """Delete messages of one channel: one MESSAGE_DELETE, or MESSAGE_DELETE_BULK for
        several (as a moderator's purge)."""
        channel_id = int(msgs[0]["channel_id"])
        gone = {m["id"] for m in msgs}
        self.messages[channel_id] = [m for m in self.messages.get(channel_id, [])
                                     if m["id"] not in gone]
        where = {"channel_id": str(channel_id), "guild_id": str(self.GUILD_ID)}
        if len(msgs) == 1:
            await self.dispatch("MESSAGE_DELETE", {"id": msgs[0]["id"], **where})
        else:
            await self.dispatch("MESSAGE_DELETE_BULK", {"ids": sorted(gone), **where})

    async def auto_archive(self: FakeDiscord, thread_id: int) -> None:
        """Discord archives a thread idle for its auto-archive duration (unlocked)."""
        thread = self.threads[thread_id]
        thread["thread_metadata"] |= {"archived": True, "archive_timestamp": p.iso(self.now())}
        await self.dispatch("THREAD_UPDATE", thread)

    async def delete_thread(self: FakeDiscord, thread_id: int, *, seen: bool = True) -> None:
        """A moderator deletes a thread: it and its messages are gone, and any request
        about it answers 404 Unknown Channel. ``seen=False``: the bot was away and never
        got THREAD_DELETE (Discord does not replay it to a new session)."""
        thread = self.threads.pop(thread_id)
        self.thread_members.pop(thread_id, None)
        self.messages.pop(thread_id, None)
        if seen:
            await self.dispatch("THREAD_DELETE", {
                "id": thread["id"], "guild_id": thread["guild_id"],
                "parent_id": thread["parent_id"], "type": thread["type"]})
        self._changed()
