"""One verdict per click, from every signal the request carries.

In order: the HTTP method (a HEAD is a link checker), prefetch headers (a browser or app
fetching ahead of the person), the user agent (core.tracking.agents), the address
(datacenter ranges are scanners' homes; iCloud Private Relay is people, and an address is
never enough to call a relayed click a bot), and a click within seconds of the send
(carriers' and mail gateways' link scanners open links before any person could)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import NamedTuple

from multidict import istr

from core.tracking.addresses import AddressBook, Origin
from core.tracking.agents import HUMAN, AgentClassifier, Judgement, Verdict

# Faster than any person reads an SMS and taps its link.
TOO_SOON = dt.timedelta(seconds=5)
# Headers browsers and apps set on a speculative fetch (istr: a request's header map
# finds them without folding the name's case on every lookup).
_PURPOSE_HEADERS = tuple(istr(h) for h in ("Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"))
_PREFETCH_WORDS = ("prefetch", "preview", "prerender")
_HEAD = Judgement(Verdict.SCANNER, "method:head")
_PREFETCH = Judgement(Verdict.PREVIEW, "prefetch")
_DATACENTER = Judgement(Verdict.SCANNER, "address:datacenter")
_TOO_SOON = Judgement(Verdict.SCANNER, "seconds_after_send")


class Signals(NamedTuple):  # a tuple: one is made per click, on the request's path
    method: str
    user_agent: str
    address: str
    headers: Mapping[str, str]
    at: dt.datetime
    sent_at: dt.datetime | None = None


def prefetch_purpose(headers: Mapping[str, str]) -> bool:
    for name in _PURPOSE_HEADERS:
        value = headers.get(name)  # absent on most clicks: four lookups
        if value and any(word in value.lower() for word in _PREFETCH_WORDS):
            return True
    return False


class Detector:
    def __init__(self, *, agents: AgentClassifier, addresses: AddressBook) -> None:
        self.agents = agents
        self.addresses = addresses

    def judge(self, signals: Signals) -> Judgement:
        return self.verdict(*signals)

    def verdict(self, method: str, user_agent: str, address: str,
                headers: Mapping[str, str], at: dt.datetime,
                sent_at: dt.datetime | None = None) -> Judgement:
        """``judge`` with the signals as arguments: the redirect's path builds no
        Signals per click."""
        if method == "HEAD":
            return _HEAD
        if prefetch_purpose(headers):
            return _PREFETCH
        by_agent = self.agents.classify(user_agent)
        if by_agent.verdict is not Verdict.HUMAN:
            return by_agent
        if self.addresses.origin(address) is Origin.DATACENTER:
            return _DATACENTER
        if sent_at is not None and at - sent_at < TOO_SOON:
            return _TOO_SOON
        return HUMAN
