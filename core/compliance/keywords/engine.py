"""The classifier: normalise, find keywords and phrases, read their scope, decide.

Order of reading, each step explained in its module:

1. a reaction (reactions.py) quotes our message and means nothing: ``none``;
2. the text is folded to the ASCII it looks like and split into words (normalise.py);
3. a reply that is (nearly) one keyword decides at once: ``STOP``, ``stop please``, ``ALTO``
   (vocabulary.py);
4. otherwise phrases (phrases.py) and the words STOP, UNSUBSCRIBE... inside sentences are
   found, and each is read in its scope (scope.py): under a negation, a hypothetical, a
   name or another sense, a keyword is set aside; our own "Reply STOP" line written back
   counts only when nothing in the reply says otherwise; a STOP sent by mistake asks to stay;
5. a complaint, then an opt-out, then an opt-in, then help wins; a short reply that is
   none of these may still be a typo of a keyword (``STPO``).

When in doubt the engine honours a stop: a missed opt-out is the costly mistake.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.compliance.keywords import phrases, scope
from core.compliance.keywords.intent import InboundIntent
from core.compliance.keywords.normalise import BREAK, fold, tokens
from core.compliance.keywords.reactions import reaction
from core.compliance.keywords.vocabulary import (
    COMPLAINT_WORDS,
    EXACT,
    REVIEW_WORDS,
    SPELLABLE,
    fuzzy,
    strip_fillers,
)

MAX_TEXT = 1000
_OUT = InboundIntent.OPT_OUT
_IN = InboundIntent.OPT_IN
_HELP = InboundIntent.HELP
_COMPLAINT = InboundIntent.COMPLAINT
_NONE = InboundIntent.NONE


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    """What a reply means, and why.

    ``rule`` names the rule that decided (``exact:stop``, ``fuzzy:stop``,
    ``phrase:take_me_off``, ``token:unsubscribe``, ``quote:reply_stop``,
    ``complaint:spam``, ``tapback``, ``reaction:google``); for a ``none`` whose opt-out
    word was set aside, the rule that set it aside (``negation:stop``, ``sense:stop``,
    ``name:stop``, ``hypothetical:unsubscribe``, ``quote:reply_stop``...).

    ``needs_review`` is set when the reply is not taken as an opt-out (intent ``none``,
    ``opt_in`` or ``help``) yet the person wrote an opt-out word, or a rule set one aside:
    no rule set is complete, so a human should look (the review list). ``set_aside`` then
    names the rule that set it aside, when one did.
    """

    intent: InboundIntent
    rule: str  # which rule decided, e.g. "exact:stop", "fuzzy:stop", "phrase:no_more_texts"
    keyword: str = ""  # the canonical keyword, upper case ("STOP"), empty when none
    opt_out: bool = False  # the text itself asks to stop (also set on complaints that do)
    needs_review: bool = False  # not an opt-out, yet holds an opt-out word: a human looks
    set_aside: str = ""  # the rule that set an opt-out word aside, when one did


NOTHING = KeywordMatch(_NONE, "none")

# Inside a sentence these words ask to stop wherever they stand (scope permitting).
_TOKENS = {"stop": "STOP", "stopp": "STOP", "stahp": "STOP", "stopall": "STOPALL",
           "unsubscribe": "UNSUBSCRIBE", "unsub": "UNSUB", "unsubscribeme": "UNSUBSCRIBE",
           "optout": "OPTOUT", "unsubscribing": "UNSUBSCRIBE"}
_PHRASE_KEYWORD = {_OUT: "STOP", _IN: "START", _HELP: "HELP", _NONE: ""}
_REVOKING = frozenset({"revoke_consent", "no_consent", "es_revoke"})

# -- complaints ---------------------------------------------------------------------------

_REPORT_PHRASE = re.compile(
    r"\b(?:reporting|report|reported|reports) (?:you|u|this|these|it|that|your|ur|them|to)\b|"
    r"\b(?:ftc|fcc|attorney general|do not call registry|dnc registry|lawyer|lawsuit|"
    r"sue you|denunciar|denunciarlos|abogado|demanda)\b")
# Spam the food, and spam the folder.
_SPAM_OTHER = frozenset({
    "musubi", "sandwich", "sandwiches", "eggs", "egg", "rice", "fried", "fry", "frying",
    "can", "cans", "slice", "slices", "hormel", "breakfast", "lunch", "dinner", "recipe",
    "burger", "sushi", "kimbap", "budae", "jjigae", "hash", "eat", "ate", "eating", "cook",
    "cooked", "delicious", "tasty", "yummy", "grill", "grilled", "lite", "classic", "spicy",
    "folder", "filter", "box", "inbox", "junk", "mailbox", "teriyaki", "fries", "meat",
    "musubis", "noodles", "ramen", "spamsilog", "went", "goes", "go", "going", "landed",
    "check", "checked", "ended",
})


def _complaint(words: list[str], core: list[str]) -> str | None:
    found = EXACT.get("".join(core)) or EXACT.get("".join(words))
    if found is not None and found[0] == _COMPLAINT:
        return found[1]
    for i, word in enumerate(words):
        label = COMPLAINT_WORDS.get(word)
        if label is None:
            continue
        before = words[i - 1] if i else ""
        if before in ("not", "no", "isnt", "aint", "nt") or \
                (i >= 2 and words[i - 2] in ("not", "isnt") and before == "a"):
            continue
        if label == "SPAM" and any(w in _SPAM_OTHER for w in words[max(0, i - 3):i + 4]):
            continue  # "Spam musubi for lunch", "it went to my spam folder"
        return label
    if _REPORT_PHRASE.search(" ".join(words)):
        return "REPORTED"
    return None


# -- signals -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Signal:
    intent: InboundIntent
    rule: str  # "phrase:take_me_off", "token:stop", "quote:reply_stop"
    keyword: str
    kind: str  # request | statement | quote | mention | keep | question
    at: int  # index of its first word
    end: int  # index past its last word
    aside: str = ""  # why it was set aside, "" when it stands


def _signals(words: list[str], sentence: str) -> list[_Signal]:
    starts: list[int] = []  # character offset of each word in the sentence
    offset = 0
    for word in words:
        starts.append(offset)
        offset += len(word) + 1
    found: list[_Signal] = []
    covered: set[int] = set()
    for phrase, begin, finish in phrases.find(words, sentence):
        first = _word_at(starts, begin)
        last = _word_at(starts, finish - 1) + 1
        kind = phrase.kind
        prefix = "quote" if kind == "quote" else "phrase"
        keyword = "REVOKE" if phrase.name in _REVOKING else _PHRASE_KEYWORD[phrase.intent]
        found.append(_Signal(phrase.intent, f"{prefix}:{phrase.name}", keyword, kind, first,
                             last))
        covered.update(range(first, last))
    for i, word in enumerate(words):
        canonical = _TOKENS.get(word)
        if canonical is None or i in covered:
            continue
        signal = _Signal(_OUT, f"token:{word}", canonical, "request", i, i + 1)
        if canonical == "STOP":
            if scope.named(words, i):
                signal.aside = f"name:{word}"
            elif scope.other_sense(words, i):
                signal.aside = f"sense:{word}"
        found.append(signal)
    return found


def _word_at(starts: list[int], char: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= char:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _read_scope(signals: list[_Signal], words: list[str]) -> None:
    """Set aside what a negation, a hypothetical or a mistake takes back."""
    for s in signals:
        if s.aside or s.kind not in ("request", "quote"):
            continue
        spanish = s.rule.startswith("phrase:es_")
        word = s.rule.split(":", 1)[1]
        if scope.negated(words, s.at, spanish=spanish) or scope.rhetorical_refusal(words, s.at):
            s.aside = f"negation:{word}"
        elif s.intent == _OUT and scope.hypothetical(words, s.at):
            s.aside = f"hypothetical:{word}"
        elif s.intent == _OUT and s.kind == "request" and scope.noun_before(words, s.at) \
                and words[s.at] in ("stop", "end", "quit"):
            s.aside = f"sense:{word}"
    mentions = [s for s in signals if s.kind == "mention"]
    standing = [s for s in signals if not s.aside]
    contrary = any(s.kind == "keep" or (s.intent in (_IN, _HELP) and s.kind != "mention")
                   for s in standing) or \
        any(s.intent == _OUT and s.aside.startswith("negation") for s in signals)
    for s in signals:
        if s.aside or s.intent != _OUT:
            continue
        if s.kind == "quote" and (contrary or mentions):
            s.aside = "quote:" + s.rule.split(":", 1)[1]
        elif any(m.at <= s.at < m.end or _same_clause(words, m.at, s.at) for m in mentions) \
                and s.kind == "request" and s.rule.startswith("token:"):
            s.aside = "mention:" + s.rule.split(":", 1)[1]


def _same_clause(words: list[str], a: int, b: int) -> bool:
    lo, hi = min(a, b), max(a, b)
    return BREAK not in words[lo:hi]


# -- the classifier --------------------------------------------------------------------------


def classify(text: str | None) -> KeywordMatch:
    """Classify one inbound message. Never raises."""
    if not isinstance(text, str) or not text.strip():
        return KeywordMatch(_NONE, "empty")
    raw = text[:MAX_TEXT]
    folded = fold(raw)
    wrapper = reaction(raw, folded)
    if wrapper is not None:
        return KeywordMatch(_NONE, wrapper)
    words = tokens(folded, SPELLABLE)
    plain = [w for w in words if w != BREAK]
    if not plain:
        return KeywordMatch(_NONE, "no_text")
    core = strip_fillers(plain)

    whole = EXACT.get("".join(plain)) or EXACT.get("".join(core))
    complaint = _complaint(plain, core)
    if whole is not None and whole[0] != _COMPLAINT:
        intent, keyword = whole
        return KeywordMatch(intent, f"exact:{keyword.lower()}", keyword, opt_out=intent == _OUT)

    signals = _signals(words, " ".join(words))
    _read_scope(signals, words)
    standing = [s for s in signals if not s.aside]
    out = next((s for s in standing if s.intent == _OUT), None)
    aside = next((s.aside for s in signals if s.aside and s.intent == _OUT), "") or \
        next((s.rule.replace("phrase:", "question:") for s in signals
              if s.kind == "question"), "")
    if complaint is not None:
        return KeywordMatch(_COMPLAINT, f"complaint:{complaint.lower()}", complaint,
                            opt_out=out is not None)
    if out is not None:
        return KeywordMatch(_OUT, out.rule, out.keyword, opt_out=True)
    if not signals and len(core) <= 2:
        target = fuzzy("".join(core)) or \
            (fuzzy(core[0]) if len(core) == 2 and core[1] in ("me", "us") else None)
        if target is not None:
            return KeywordMatch(_OUT, f"fuzzy:{target}", EXACT[target][1], opt_out=True)

    review = bool(aside) or any(w in REVIEW_WORDS for w in plain)
    for intent in (_IN, _HELP):
        found = next((s for s in standing if s.intent == intent and s.kind != "keep"), None)
        if found is not None:
            return KeywordMatch(intent, found.rule, found.keyword, needs_review=review,
                                set_aside=aside)
    return KeywordMatch(_NONE, aside or "none", needs_review=review, set_aside=aside)
