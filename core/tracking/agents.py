"""Who is asking, by the user agent alone: a person's browser, a link previewer, a
security scanner, or some other bot.

The patterns are the maintained ``crawler-user-agents`` list (MIT, on PyPI), whose tags
tell previews (``social-preview``) and scanners (``scanner``) from the rest, plus the
few agents it misses that matter to SMS: Google Messages' previewer, Google's page
renderer, and iMessage's, which sends ``facebookexternalhit/1.1 Facebot Twitterbot/1.0``
from the phone's own address.

A regex list run on every request would cost most of the redirect's throughput, so each
distinct user agent is classified once and kept (phones send a few thousand distinct
strings, not millions; the cache is bounded all the same)."""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

import crawleruseragents


class Verdict(StrEnum):
    HUMAN = "human"
    PREVIEW = "preview"
    SCANNER = "scanner"
    BOT = "bot"


@dataclass(frozen=True, slots=True)
class Judgement:
    verdict: Verdict
    reason: str | None = None  # None for a human; otherwise short, e.g. "agent:preview"

    @property
    def is_bot(self) -> bool:
        return self.verdict is not Verdict.HUMAN


HUMAN = Judgement(Verdict.HUMAN)

# What the list misses (checked first). iMessage's previewer is also caught by the list's
# facebookexternalhit pattern; naming it gives support a clearer reason.
_EXTRA: tuple[tuple[re.Pattern[str], Judgement], ...] = (
    (re.compile(r"^facebookexternalhit/1\.1 Facebot Twitterbot/1\.0$"),
     Judgement(Verdict.PREVIEW, "agent:imessage_preview")),
    (re.compile(r"GoogleMessages"), Judgement(Verdict.PREVIEW, "agent:google_messages")),
    (re.compile(r"Google-PageRenderer"),
     Judgement(Verdict.PREVIEW, "agent:google_page_renderer")),
)
# Tags of the list and what they make of a click.
_TAGS: tuple[tuple[str, Verdict], ...] = (
    ("social-preview", Verdict.PREVIEW),
    ("scanner", Verdict.SCANNER),
    ("http-library", Verdict.BOT),
    ("browser-automation", Verdict.BOT),
)
MAX_AGENT = 512  # what the click row keeps; longer agents are judged on their start


_Compiled = tuple[tuple[tuple[re.Pattern[str], tuple[str, ...]], ...],
                  tuple[re.Pattern[str], ...]]


@functools.cache
def _compiled() -> _Compiled:
    """The list's patterns with their tags, and alternations of 50 of them (as the
    library does) to answer "no match" fast. Immutable: one per process."""
    data = crawleruseragents.CRAWLER_USER_AGENTS_DATA
    patterns = tuple((re.compile(item["pattern"]), tuple(item.get("tags") or ()))
                     for item in data)
    chunk = 50
    chunks = tuple(re.compile("|".join(item["pattern"] for item in data[i:i + chunk]))
                   for i in range(0, len(data), chunk))
    return patterns, chunks


class AgentClassifier:
    """Classifies user agents, each distinct one once (a bounded LRU cache)."""

    def __init__(self, *, cache_size: int = 20_000) -> None:
        self._cache: OrderedDict[str, Judgement] = OrderedDict()
        self._cache_size = cache_size
        self._compiled: _Compiled | None = None

    def load(self) -> None:
        """Compile the list (a tenth of a second; done on first use, or ahead of it)."""
        if self._compiled is None:
            self._compiled = _compiled()

    def classify(self, user_agent: str) -> Judgement:
        agent = user_agent[:MAX_AGENT]
        cached = self._cache.get(agent)
        if cached is not None:
            self._cache.move_to_end(agent)
            return cached
        judgement = self._judge(agent)
        self._cache[agent] = judgement
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return judgement

    def _judge(self, agent: str) -> Judgement:
        if not agent.strip():
            return Judgement(Verdict.BOT, "agent:empty")
        for pattern, judgement in _EXTRA:
            if pattern.search(agent):
                return judgement
        self.load()
        assert self._compiled is not None
        patterns, chunks = self._compiled
        if not any(chunk.search(agent) for chunk in chunks):
            return HUMAN
        tags = {tag for pattern, tags in patterns if pattern.search(agent)
                for tag in tags}
        for tag, verdict in _TAGS:
            if tag in tags:
                return Judgement(verdict, f"agent:{tag}")
        return Judgement(Verdict.BOT, f"agent:{min(tags) if tags else 'crawler'}")
