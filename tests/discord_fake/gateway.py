"""The fake's gateway: HELLO, heartbeat ACKs, IDENTIFY to READY + GUILD_CREATE, dispatches
with sequence numbers, RECONNECT (op 7) and RESUME with replay of what was missed."""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

DISPATCH, HEARTBEAT, IDENTIFY, RESUME, RECONNECT = 0, 1, 2, 6, 7
INVALID_SESSION, HELLO, HEARTBEAT_ACK = 9, 10, 11
HEARTBEAT_INTERVAL_MS = 41_250


@dataclass
class GatewaySession:
    id: str
    seq: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class GatewayLog:
    """What the bot said on the gateway, for assertions."""

    frames: list[dict[str, Any]] = field(default_factory=list)  # every frame the bot sent
    connections: list[str] = field(default_factory=list)  # paths connected to
    identifies: int = 0
    resumes: list[dict[str, Any]] = field(default_factory=list)  # RESUME payloads

    def ops(self, op: int) -> list[dict[str, Any]]:
        return [f for f in self.frames if f.get("op") == op]


class Gateway:
    """Mixed into FakeDiscord, which provides ``ready_payload``, ``guild_create_payload``,
    ``token``, ``_changed()`` and the ``gateway_url``/``resume_url`` properties."""

    def _init_gateway(self) -> None:
        self.gateway_log = GatewayLog()
        self.session: GatewaySession | None = None
        self._socket: web.WebSocketResponse | None = None
        self._sockets: set[web.WebSocketResponse] = set()
        self._send_lock = asyncio.Lock()

    async def _gateway_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        self.gateway_log.connections.append(request.path)
        try:
            await self._send(ws, {"op": HELLO, "d": {"heartbeat_interval":
                                                     HEARTBEAT_INTERVAL_MS}})
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._on_frame(ws, json.loads(msg.data))
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            self._sockets.discard(ws)
            if self._socket is ws:
                self._socket = None
            self._changed()
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, frame: dict[str, Any]) -> None:
        self.gateway_log.frames.append(frame)
        op, data = frame.get("op"), frame.get("d")
        if op == HEARTBEAT:
            await self._send(ws, {"op": HEARTBEAT_ACK, "d": None})
        elif op == IDENTIFY:
            if data.get("token") != self.token:  # type: ignore[attr-defined]
                await ws.close(code=4004, message=b"Authentication failed.")
                return
            self.gateway_log.identifies += 1
            self.session = GatewaySession(id=secrets.token_hex(16))
            self._socket = ws
            await self.dispatch("READY", self.ready_payload())  # type: ignore[attr-defined]
            await self.dispatch("GUILD_CREATE",
                                self.guild_create_payload())  # type: ignore[attr-defined]
        elif op == RESUME:
            await self._resume(ws, data)
        self._changed()  # type: ignore[attr-defined]

    async def _resume(self, ws: web.WebSocketResponse, data: dict[str, Any]) -> None:
        self.gateway_log.resumes.append(data)
        session = self.session
        if session is None or data.get("session_id") != session.id or (
                data.get("token") != self.token):  # type: ignore[attr-defined]
            await self._send(ws, {"op": INVALID_SESSION, "d": False})
            return
        self._socket = ws
        missed = [e for e in session.history if e["s"] > (data.get("seq") or 0)]
        for event in missed:
            await self._send(ws, event)
        await self.dispatch("RESUMED", {})

    @property
    def bot_connected(self) -> bool:
        """Whether the bot holds an identified or resumed gateway connection right now."""
        return self._socket is not None and not self._socket.closed

    async def dispatch(self, event: str, data: dict[str, Any]) -> None:
        """Send an event to the bot. While it is disconnected the event waits in the
        session's history and is replayed when the bot resumes, as Discord does."""
        if self.session is None:
            raise AssertionError("the bot has not identified on the gateway yet")
        self.session.seq += 1
        frame = {"op": DISPATCH, "t": event, "s": self.session.seq, "d": data}
        self.session.history.append(frame)
        if self._socket is not None and not self._socket.closed:
            await self._send(self._socket, frame)

    async def reconnect(self) -> None:
        """Ask the bot to reconnect (op 7), as Discord does before moving a session."""
        if self._socket is None:
            raise AssertionError("the bot is not connected")
        await self._send(self._socket, {"op": RECONNECT, "d": None})

    async def _send(self, ws: web.WebSocketResponse, payload: dict[str, Any]) -> None:
        async with self._send_lock:
            if not ws.closed:
                await ws.send_str(json.dumps(payload))

    async def _close_sockets(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
