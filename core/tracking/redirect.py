"""``GET /{code}`` on a tracking domain: which link, where it goes, who is asking.

The Host header picks the account: a link answers on its account's tracking domain, and
on the installation's default domains (the public URL's host and
``TRACKLY_TRACKING_DOMAIN``, which serve every account, as links made without a domain of
their own point there). Anything else is not found. The destination comes from the
database only (core.tracking.links); nothing in the request can change it.

Everyone is redirected, bots included, unless the link's mode is ``preview`` and the
click looks automated: then a small page asks a person to press Continue (a POST, which
link previewers and scanners do not send), and that press is the human click."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import NamedTuple

from core.clock import Clock
from core.tracking.agents import HUMAN, MAX_AGENT, Judgement
from core.tracking.detection import Detector
from core.tracking.forwarded import FORWARDED_FOR, ClientAddress
from core.tracking.links import LinkCache, LinkTarget
from core.tracking.recorder import ClickIn, ClickRecorder

PREVIEW = "preview"


class Answer(StrEnum):
    REDIRECT = "redirect"
    PREVIEW_PAGE = "preview_page"
    NOT_FOUND = "not_found"


class Outcome(NamedTuple):
    answer: Answer
    location: str | None = None
    brand: str = ""
    judgement: Judgement | None = None


NOT_FOUND = Outcome(Answer.NOT_FOUND)
# A NamedTuple's own constructor is a Python function; the redirect's path makes its
# Outcome and ClickIn through tuple's, a third of the cost.
_new = tuple.__new__


def is_code(code: str) -> bool:
    """Short codes are a few ASCII letters and digits: anything else (a NUL, a space, a
    path a scanner tries) is not found without a look in the cache or database."""
    return 0 < len(code) <= 16 and code.isascii() and code.isalnum()


def host_name(host: str | None) -> str:
    """The Host header's name, lower case, without port or trailing dot."""
    if not host:
        return ""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8080
        return host[1:].split("]", 1)[0]
    if host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


class RedirectService:
    def __init__(self, *, clock: Clock, links: LinkCache, detector: Detector,
                 recorder: ClickRecorder, default_hosts: Iterable[str],
                 proxies: ClientAddress | None = None) -> None:
        self.clock = clock
        self.links = links
        self.detector = detector
        self.recorder = recorder
        self.default_hosts = frozenset(h for h in (host_name(x) for x in default_hosts) if h)
        # The load balancers whose X-Forwarded-For names the client; None: no balancer.
        self.proxies = proxies if proxies else None
        self._hosts: dict[str, str] = {}  # Host header -> name (few distinct; bounded)
        self._warming: asyncio.Future[None] | None = None
        self._warm = False  # the detector's tables are loaded

    async def warm(self) -> None:
        """Load the detector's tables before the first click needs them, off the event
        loop (the address ranges take half a second to read, seconds on a busy machine).
        Clicks that come before they are loaded wait for this one load: loading them
        on the event loop instead would stall every request of the process meanwhile."""
        if self._warming is None:
            self._warming = asyncio.ensure_future(self._load_tables())
        await asyncio.shield(self._warming)

    async def _load_tables(self) -> None:
        try:
            await asyncio.to_thread(self.detector.agents.load)
            await asyncio.to_thread(self.detector.addresses.load)
        finally:  # loaded, or failed: then judging loads them itself, or says why
            self._warm = True

    async def _ready(self) -> None:
        if self._warming is None or not self._warming.done():
            with contextlib.suppress(Exception):  # judge() loads them itself, or says why
                await self.warm()

    def client_address(self, peer: str, headers: Mapping[str, str]) -> str:
        """The click's address: the connection's, or behind a trusted load balancer the
        one its X-Forwarded-For names (core.tracking.forwarded; the header is read only
        when there is a balancer to believe)."""
        if self.proxies is None:
            return peer
        return self.proxies.of(peer, headers.get(FORWARDED_FOR))

    def _host_name(self, host: str | None) -> str:
        raw = host or ""
        name = self._hosts.get(raw)
        if name is None:
            name = host_name(raw)
            if len(self._hosts) >= 1000:
                self._hosts.clear()
            self._hosts[raw] = name
        return name

    def _serves(self, host: str | None, target: LinkTarget) -> bool:
        name = self._host_name(host)
        return name == target.tracking_domain or name in self.default_hosts

    async def find(self, host: str | None, code: str) -> LinkTarget | None:
        if not is_code(code):
            return None
        target = await self.links.get(code)
        if target is None or not self._serves(host, target):
            return None
        return target

    def answer_now(self, host: str | None, code: str, method: str, user_agent: str,
                   address: str, headers: Mapping[str, str]) -> Outcome | None:
        """The answer to a request for a short link when it needs no wait: its link (or
        its absence) fresh in the cache and the detector's tables loaded. The click is
        recorded (buffered). None when it would wait, for the database or the tables:
        ``click`` answers those. Never awaits, so a cache hit cannot wait on anything.
        Every request of a blast comes through here: it is written for speed (positional
        arguments, tuples made by tuple's constructor)."""
        if not is_code(code):
            return NOT_FOUND
        if not self._warm:
            return None
        fresh, target = self.links.peek(code)
        if not fresh:
            return None
        if target is None or not self._serves(host, target):
            return NOT_FOUND
        return self._decide(target, method, user_agent, address, headers)

    def _decide(self, target: LinkTarget, method: str, user_agent: str, address: str,
                headers: Mapping[str, str]) -> Outcome:
        now = self.clock.now()
        judgement = self.detector.verdict(method, user_agent, address, headers, now,
                                          target.sent_at)
        # Only what the row keeps is buffered: a 32 KB agent (aiohttp reads that much)
        # held until its batch is written would make a flood during an outage cost GBs.
        self.recorder.add(_new(ClickIn, (target, now, address, user_agent[:MAX_AGENT],
                                         judgement)))
        if target.mode == PREVIEW and judgement.is_bot:
            return Outcome(Answer.PREVIEW_PAGE, brand=target.brand, judgement=judgement)
        return _new(Outcome, (Answer.REDIRECT, target.destination, "", judgement))

    async def click(self, *, host: str | None, code: str, method: str, user_agent: str,
                    address: str, headers: Mapping[str, str]) -> Outcome:
        """A request for a short link: where to send it, recorded (after the answer)."""
        outcome = self.answer_now(host, code, method, user_agent, address, headers)
        if outcome is not None:
            return outcome
        target = await self.find(host, code)
        if target is None:
            return NOT_FOUND
        if not self._warm:
            await self._ready()
        return self._decide(target, method, user_agent, address, headers)

    async def proceed(self, *, host: str | None, code: str, user_agent: str,
                      address: str) -> Outcome:
        """Continue pressed on the preview page: a person, whatever the agent says."""
        target = await self.find(host, code)
        if target is None:
            return NOT_FOUND
        self.recorder.add(ClickIn(target, self.clock.now(), address,
                                  user_agent[:MAX_AGENT], HUMAN))
        return Outcome(Answer.REDIRECT, location=target.destination, judgement=HUMAN)

