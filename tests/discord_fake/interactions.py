"""Slash-command interactions: built from the commands the bot really synced, and what the
bot answered (the callback, the original response and its edits, follow-ups)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from tests.discord_fake.payloads import ALL_TEXT_PERMISSIONS, EPHEMERAL, FakeUser

# Interaction callback types
PONG, CHANNEL_MESSAGE, DEFERRED_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 1, 4, 5, 6, 7
AUTOCOMPLETE, MODAL = 8, 9

# Application command option types
SUB_COMMAND, SUB_COMMAND_GROUP = 1, 2
STRING, INTEGER, BOOLEAN, USER, CHANNEL, ROLE, MENTIONABLE, NUMBER = 3, 4, 5, 6, 7, 8, 9, 10


@dataclass
class FakeInteraction:
    """One pushed interaction and everything the bot answered to it."""

    id: int
    token: str
    user: FakeUser
    channel_id: int
    payload: dict[str, Any]
    callback: dict[str, Any] | None = None  # {"type": 4, "data": {...}}
    original: dict[str, Any] | None = None  # the response message, after any edits
    original_edits: int = 0
    followups: list[dict[str, Any]] = field(default_factory=list)
    settled: asyncio.Event = field(default_factory=asyncio.Event)

    # -- what the user sees -------------------------------------------------------

    @property
    def response_type(self) -> int | None:
        return None if self.callback is None else self.callback["type"]

    @property
    def deferred(self) -> bool:
        return self.response_type == DEFERRED_MESSAGE

    @property
    def ephemeral(self) -> bool:
        """True when only the invoking user sees the answer."""
        data = (self.callback or {}).get("data") or {}
        return bool(int(data.get("flags", 0)) & EPHEMERAL)

    @property
    def message(self) -> dict[str, Any]:
        if self.original is None:
            raise AssertionError(f"the bot sent no response message to {self.describe()}")
        return self.original

    @property
    def content(self) -> str:
        return self.message.get("content") or ""

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return self.message.get("embeds") or []

    @property
    def text(self) -> str:
        """Content and every embed's visible text, for easy ``in`` assertions."""
        return message_text(self.message)

    def describe(self) -> str:
        data = self.payload.get("data", {})
        names = [data.get("name", "?")]
        options = data.get("options") or []
        while options and options[0].get("type") in (SUB_COMMAND, SUB_COMMAND_GROUP):
            names.append(options[0]["name"])
            options = options[0].get("options") or []
        return "/" + " ".join(names)

    async def wait(self, within: float = 5.0) -> FakeInteraction:
        """Until the user has an answer: a message, or the edit that ends "thinking..."."""
        try:
            await asyncio.wait_for(self.settled.wait(), within)
        except TimeoutError:
            raise AssertionError(f"the bot did not answer {self.describe()} within "
                                 f"{within}s (callback: {self.callback})") from None
        return self


def message_text(message: dict[str, Any]) -> str:
    parts = [message.get("content") or ""]
    for embed in message.get("embeds") or []:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f.get('name', '')}: {f.get('value', '')}" for f in embed.get("fields", [])]
        parts.append((embed.get("footer") or {}).get("text", ""))
    return "\n".join(p for p in parts if p)


def build_command_data(schema: dict[str, Any], path: list[str], values: dict[str, Any],
                       *, guild_id: int | None, member_payload: Any,
                       channel_payload: Any = None) -> dict[str, Any]:
    """The ``data`` of an APPLICATION_COMMAND interaction for ``/schema path... values``,
    checked against the synced schema the way Discord's client would."""
    options_schema = schema.get("options") or []
    resolved: dict[str, dict[str, Any]] = {}
    leaf: list[dict[str, Any]] = []
    top: list[dict[str, Any]] = leaf
    container = None
    for name in path:
        sub = _find(options_schema, name, schema["name"])
        if sub["type"] not in (SUB_COMMAND, SUB_COMMAND_GROUP):
            raise AssertionError(f"/{schema['name']}: {name} is not a subcommand")
        node: dict[str, Any] = {"name": name, "type": sub["type"], "options": []}
        if container is None:
            top = [node]
        else:
            container["options"].append(node)
        container = node
        options_schema = sub.get("options") or []
        leaf = node["options"]
    if options_schema and options_schema[0]["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP):
        raise AssertionError(f"/{schema['name']} {' '.join(path)} needs a subcommand")
    for option in options_schema:
        if option["name"] not in values and option.get("required"):
            raise AssertionError(f"/{schema['name']} {' '.join(path)}: {option['name']} "
                                 "is required")
    for name, value in values.items():
        option = _find(options_schema, name, schema["name"])
        leaf.append({"name": name, "type": option["type"],
                     "value": _option_value(option, value, resolved, member_payload,
                                            channel_payload)})
    data: dict[str, Any] = {"id": schema["id"], "name": schema["name"], "type": 1,
                            "options": top}
    if guild_id is not None and schema.get("guild_id"):
        data["guild_id"] = str(guild_id)
    if resolved:
        data["resolved"] = resolved
    return data


def _find(options: list[dict[str, Any]], name: str, command: str) -> dict[str, Any]:
    for option in options:
        if option["name"] == name:
            return option
    known = ", ".join(o["name"] for o in options) or "none"
    raise AssertionError(f"/{command} has no option {name!r} (known: {known})")


def _option_value(option: dict[str, Any], value: Any, resolved: dict[str, dict[str, Any]],
                  member_payload: Any, channel_payload: Any = None) -> Any:
    kind = option["type"]
    if kind == CHANNEL and channel_payload is not None:
        # Discord resolves a channel option to a partial channel with the invoker's
        # permissions in it.
        channel = channel_payload(int(value))
        if channel is None:
            raise AssertionError(f"{option['name']}: no channel {value}")
        resolved.setdefault("channels", {})[str(value)] = {
            k: channel[k] for k in ("id", "name", "type", "parent_id", "guild_id")
            if k in channel} | {"permissions": ALL_TEXT_PERMISSIONS}
        return str(value)
    if kind in (USER, MENTIONABLE) and isinstance(value, FakeUser):
        resolved.setdefault("users", {})[str(value.id)] = value.payload()
        if value.in_guild and member_payload is not None:
            resolved.setdefault("members", {})[str(value.id)] = member_payload(value)
        return str(value.id)
    if kind in (CHANNEL, ROLE):
        return str(value)
    if option.get("choices"):
        allowed = [c["value"] for c in option["choices"]]
        if value not in allowed:
            raise AssertionError(f"{option['name']}={value!r} is not one of {allowed}")
    if kind == STRING:
        text = str(value)
        if "max_length" in option and len(text) > option["max_length"]:
            raise AssertionError(f"{option['name']} is longer than {option['max_length']}")
        return text
    if kind == INTEGER:
        return int(value)
    if kind == NUMBER:
        return float(value)
    if kind == BOOLEAN:
        return bool(value)
    raise AssertionError(f"unsupported option type {kind} for {option['name']}")
