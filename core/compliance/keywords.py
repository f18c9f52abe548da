"""What an inbound SMS means: opt-out, opt-in, help, complaint, or nothing.

Pure, fast and deterministic: the same text always gives the same answer, with the rule
that decided it. Compliance leans towards honouring a stop: a missed opt-out is a legal
risk, a wrong one costs one subscriber. The false positives PRODUCT.md names (``stop by
the store``, ``don't stop``, tapback reactions, emoji-only replies) are excluded on
purpose.

The text is normalised first: Unicode compatibility forms (fullwidth, mathematical and
circled letters), look-alike letters from Cyrillic and Greek, accents, zero-width
characters, case, leetspeak (``st0p``, ``$top``) and spacing (``s t o p``, ``S.T.O.P``).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum

MAX_TEXT = 1000


class InboundIntent(StrEnum):
    """What an inbound SMS means (stored on core.inbound.models.InboundMessage)."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    COMPLAINT = "complaint"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class KeywordMatch:
    intent: InboundIntent
    rule: str  # which rule decided, e.g. "exact:stop", "fuzzy:stop", "phrase:no_more_texts"
    keyword: str = ""  # the canonical keyword, upper case ("STOP"), empty when none
    opt_out: bool = False  # the text itself asks to stop (also set on complaints that do)


NOTHING = KeywordMatch(InboundIntent.NONE, "none")

# -- normalisation ------------------------------------------------------------------------

# Letters from other scripts that look like Latin ones (Unicode confusables, the ones
# people actually use to dodge filters). Upper and lower case both listed.
_CONFUSABLES = str.maketrans({
    "а": "a", "А": "a", "в": "b", "В": "b", "е": "e", "Е": "e", "ё": "e", "к": "k", "К": "k",
    "м": "m", "М": "m", "н": "h", "Н": "h", "о": "o", "О": "o", "р": "p", "Р": "p",
    "с": "c", "С": "c", "т": "t", "Т": "t", "у": "y", "У": "y", "х": "x", "Х": "x",
    "ѕ": "s", "Ѕ": "s", "і": "i", "І": "i", "ј": "j", "Ј": "j", "ԁ": "d", "ո": "n",
    "α": "a", "Α": "a", "β": "b", "Β": "b", "ε": "e", "Ε": "e", "η": "n", "Η": "h",
    "ι": "i", "Ι": "i", "κ": "k", "Κ": "k", "μ": "u", "Μ": "m", "ν": "v", "Ν": "n",
    "ο": "o", "Ο": "o", "ρ": "p", "Ρ": "p", "τ": "t", "Τ": "t", "υ": "u", "Υ": "y",
    "χ": "x", "Χ": "x", "ζ": "z", "Ζ": "z", "ı": "i", "ſ": "s", "ß": "ss", "ø": "o",
    "Ø": "o", "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "æ": "ae", "Æ": "ae", "œ": "oe",
    "Œ": "oe",
})
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "$": "s", "@": "a", "|": "l", "!": "i", "+": "t"})
_ZERO_WIDTH = dict.fromkeys(
    [0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x180E, 0x034F], None)
_TOKEN_JUNK = re.compile(r"[^a-z]")
# A letter held down ("STOPPPP", "stoooop"): no English word repeats a letter three times.
_RUNS = re.compile(r"([a-z])\1{2,}")
_SPLIT = re.compile(r"[\s,;:/\\()\[\]{}<>\"“”«»…~*_=^`]+")
_QUOTES = "\"“”'‘’«»"
# iMessage and Android reactions quote our own message back ("Liked “Reply STOP...”").
_TAPBACK = re.compile(
    r"^\s*(liked|loved|disliked|laughed at|emphasi[sz]ed|questioned|"
    r"reacted\s+\S+\s+to|removed\s+an?\s+\S+(\s+\S+)?\s+from)\s+["
    + _QUOTES + r"].*[" + _QUOTES + r"]?\s*$",
    re.DOTALL,
)


def _normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH)
    text = text.translate(_CONFUSABLES).casefold().translate(_CONFUSABLES)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _words(text: str) -> list[str]:
    """Letters-only tokens; leetspeak mapped when the text has any letter at all."""
    has_letters = any("a" <= ch <= "z" for ch in text)
    words = []
    for raw in _SPLIT.split(text):
        if not raw:
            continue
        if has_letters:
            raw = raw.strip(".!?-'") or raw  # "stop!" keeps "!" off the leet map
            raw = raw.translate(_LEET)
        word = _RUNS.sub(r"\1", _TOKEN_JUNK.sub("", raw))
        if word:
            words.append(word)
    return words


def _joined(words: list[str]) -> str:
    """The words as one ("s t o p p p" -> "stop"), held-down letters let go."""
    return _RUNS.sub(r"\1", "".join(words))


# -- vocabulary ---------------------------------------------------------------------------

_EXACT: dict[str, tuple[InboundIntent, str]] = {}


def _add(intent: InboundIntent, canonical: str, *forms: str) -> None:
    for form in (canonical, *forms):
        _EXACT[form] = (intent, canonical.upper())


_OUT = InboundIntent.OPT_OUT
_add(_OUT, "stop", "stopall", "stopit", "stopnow", "stopthis", "stopthat")
_add(_OUT, "stopall")
_add(_OUT, "end", "endall")
_add(_OUT, "quit", "quitall")
_add(_OUT, "cancel", "cancelall", "cancelme", "cancelit")
_add(_OUT, "unsubscribe", "unsubscribeme", "unsubscribed", "unsubscribeall")
_add(_OUT, "unsub", "unsubme")
_add(_OUT, "remove", "removeme", "removemenow", "removemyname", "removemynumber", "removeall")
_add(_OUT, "optout", "optmeout", "optoutall", "outout")
_add(_OUT, "revoke", "revokeconsent", "revokeall")
_add(_OUT, "block", "blocked", "blockme", "blocknumber")
_add(_OUT, "wrong", "wrongnumber", "wrongperson", "wrongphone", "wrongnum", "wrongno")
_add(_OUT, "alto", "altoya")  # Spanish
_add(_OUT, "parar", "para", "pare")
_add(_OUT, "baja", "darmedebaja", "debaja")
_add(_OUT, "cancelar", "cancela")
_add(_OUT, "detener", "basta", "nomas", "nomasmensajes")
_IN = InboundIntent.OPT_IN
_add(_IN, "start", "startall", "restart")
_add(_IN, "unstop")
_add(_IN, "yes", "yess", "yesss")
_add(_IN, "subscribe", "resubscribe", "subscribeme", "optin", "optmein", "optbackin")
_HELP = InboundIntent.HELP
_add(_HELP, "help", "helpme", "halp", "ayuda", "info", "information", "moreinfo")
_COMPLAINT = InboundIntent.COMPLAINT
_add(_COMPLAINT, "spam", "spammer", "spammers", "spammy", "thisisspam", "spamtext")
_add(_COMPLAINT, "scam", "scammer", "scammers", "thisisascam", "scamtext")
_add(_COMPLAINT, "reported", "report", "reportedasspam", "reportedspam", "reportingyou")

_COMPLAINT_WORDS = {
    "spam": "SPAM", "spams": "SPAM", "spammer": "SPAM", "spammers": "SPAM",
    "spamming": "SPAM", "spammy": "SPAM", "spamed": "SPAM", "spammed": "SPAM",
    "scam": "SCAM", "scams": "SCAM", "scammer": "SCAM", "scammers": "SCAM",
    "scamming": "SCAM", "scammy": "SCAM", "fraud": "SCAM", "fraudulent": "SCAM",
    "phishing": "SCAM", "reported": "REPORTED",
}
_REPORT_PHRASE = re.compile(
    r"\b(reporting|report|reported|reports) (you|u|this|these|it|that|your|ur|them|to)\b|"
    r"\b(ftc|fcc|attorney general|do not call registry|dnc registry|lawyer|lawsuit|sue you)\b"
)

# Words that carry no meaning around a keyword ("STOP please", "ok stop thanks").
_LEADING_FILLERS = frozenset({
    "please", "pls", "plz", "plez", "pleas", "plse", "i", "hi", "hey", "hello", "ok", "okay",
    "k", "yes", "ya", "yeah", "yep", "no", "nope", "nah", "just", "so", "um", "uh", "omg",
    "wtf", "lol", "dude", "bro", "sir", "maam", "kindly", "now", "again", "ugh", "oh",
})
_TRAILING_FILLERS = frozenset({
    "please", "pls", "plz", "plez", "pleas", "plse", "thanks", "thank", "you", "u", "thx",
    "ty", "tks", "now", "asap", "ok", "okay", "already", "lol", "omg", "wtf", "bro", "dude",
    "sir", "maam", "immediately", "right", "away", "thankyou", "tia", "again", "ya",
    "yall", "man", "seriously", "forever", "permanently", "ugh", "gracias", "porfavor",
    "por", "favor",
})

# -- phrases -------------------------------------------------------------------------------

_TEXT_VERBS = (r"(texting|txting|texing|textin|text|txt|texts|messaging|msging|message|msg|"
               r"messages|msgs|sending|send|contacting|contact|emailing|calling|call|bugging|"
               r"bothering|harassing|spamming|sms|hitting me up)")
_PHRASES: list[tuple[str, re.Pattern[str]]] = [
    ("stop_texting", re.compile(
        r"\b(stop|quit|cease|end|halt|discontinue) (the |these |those |your |ur |all )?"
        + _TEXT_VERBS + r"\b")),
    ("do_not_text", re.compile(
        r"\b(do not|dont|pls dont|please dont|never|dnt|no longer) " + _TEXT_VERBS + r"\b")),
    ("no_more_texts", re.compile(
        r"\bno more (texts?|txts?|messages?|msgs?|sms|spam|of (these|this|your))\b")),
    ("take_me_off", re.compile(
        r"\b(take|get|remove|delete|drop|erase|pull|scratch|cross) (me|my (number|phone|cell|"
        r"info|name|contact)|this number|us) (off|from|out)\b")),
    ("take_me_off", re.compile(r"\b(take|get|remove|delete|drop) me\b")),
    ("remove_me", re.compile(r"\bremove (me|my number|this number|my phone|my info)\b")),
    ("unsubscribe_me", re.compile(r"\b(unsubscribe|unsub|opt) (me|out|us)\b")),
    ("why_texting", re.compile(
        r"\bwhy (are|r|do|is|does|would|did|the hell are|tf are) (you|u|yall|ya|this|someone|"
        r"people|you guys|y all) (keep )?(still )?" + _TEXT_VERBS + r"\b")),
    ("who_gave_number", re.compile(
        r"\b(who|where did you|how did you) (gave|give|get|got) (you )?my (number|info|phone)\b")),
    ("leave_me_alone", re.compile(r"\b(leave me alone|lose my number|delete my number)\b")),
    ("wrong_number", re.compile(r"\bwrong (number|person|phone|guy|girl|#|num|no)\b")),
    ("not_interested", re.compile(r"\b(not|no longer|never) (interested|intrested)\b")),
    ("never_signed_up", re.compile(
        r"\b(did not|didnt|never|dont remember) (sign|signed|opt|opted|subscribe|subscribed|"
        r"ask|asked|agree|agreed) (up|in|for|to)\b")),
    ("cancel_subscription", re.compile(
        r"\bcancel (my |the |this |these |your |all )?(subscription|texts?|messages?|alerts?|"
        r"membership|account|service|me|it|all)\b")),
    ("quit_it", re.compile(r"^(quit|end|cancel|stop) (it|this|these|that|them|all)\b")),
    ("block_number", re.compile(
        r"\b(block|blocking|blocked) (you|u|this|your|ur|this number|the number)\b")),
    ("opt_out", re.compile(r"\b(opt|opting|opted) out\b")),
    ("es_no_mensajes", re.compile(
        r"\bno (me )?(envies|envien|manden|mandes|escribas|escriban|mandar|enviar) "
        r"(mas )?(mensajes|textos|sms)?\b|\bno mas (mensajes|textos)\b")),
]

# -- "stop" inside a sentence --------------------------------------------------------------

_STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "unsub", "optout", "stopp"})
_NEGATIONS = frozenset({
    "dont", "not", "never", "cant", "cannot", "wont", "didnt", "doesnt", "shouldnt",
    "wouldnt", "couldnt", "nt", "aint", "no", "isnt", "wasnt", "havent", "without",
})
_COMPOUND_BEFORE = frozenset({
    "bus", "pit", "truck", "rest", "non", "one", "full", "last", "next", "first", "door",
    "back", "whistle", "short", "tour", "train", "final", "quick", "brief", "emergency",
    "the", "a", "every", "each", "gonna", "will", "ill", "gotta", "may", "might", "could",
    "should", "can", "to", "cant", "wont", "and",
})
_CONTINUES = frozenset({
    "by", "in", "at", "over", "sign", "signs", "light", "lights", "watch", "gap", "loss",
    "motion", "smoking", "drinking", "worrying", "procrastinating", "and", "for", "off",
    "there", "here", "on", "into", "around", "to", "when", "where", "the", "my", "eating",
    "sale", "n", "believing", "asking", "crying", "laughing", "playing", "working",
})


def _stop_in_sentence(words: list[str]) -> str | None:
    """``STOP`` (or UNSUBSCRIBE...) used as an instruction inside a longer message."""
    for i, word in enumerate(words):
        if word not in _STOP_WORDS:
            continue
        before = words[i - 1] if i else ""
        after = words[i + 1] if i + 1 < len(words) else ""
        if before in _NEGATIONS or (i >= 2 and words[i - 2] in ("do", "did") and
                                    before == "not"):
            continue
        if word != "stop" and word != "stopp":
            return word  # UNSUBSCRIBE, OPTOUT... mean one thing anywhere
        if i == 0:
            if after in ("by", "in", "over", "sign", "signs", "light", "lights", "watch",
                         "smoking", "drinking", "worrying", "at", "off", "gap", "motion"):
                continue
            return word
        if before in _COMPOUND_BEFORE and before not in ("to",):
            continue
        if after in _CONTINUES:
            continue
        return word
    return None


# -- fuzzy matching -----------------------------------------------------------------------

# QWERTY neighbours: a substitution counts as a typo only between adjacent keys.
_KEYS = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"]
_NEIGHBOURS: dict[str, set[str]] = {}
for _r, _row in enumerate(_KEYS):
    for _c, _ch in enumerate(_row):
        near = _NEIGHBOURS.setdefault(_ch, set())
        for _dr in (-1, 0, 1):
            for _dc in (-1, 0, 1):
                rr, cc = _r + _dr, _c + _dc
                if 0 <= rr < len(_KEYS) and 0 <= cc < len(_KEYS[rr]) and (_dr or _dc):
                    near.add(_KEYS[rr][cc])


def _adjacent(a: str, b: str) -> bool:
    return b in _NEIGHBOURS.get(a, ())


def _distance(a: str, b: str, *, keyboard: bool) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap neighbours).
    With ``keyboard``, substituting a key that is not next to the right one costs 2."""
    if abs(len(a) - len(b)) > 2:
        return 3
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            if a[i - 1] == b[j - 1]:
                sub = 0
            elif keyboard and not _adjacent(a[i - 1], b[j - 1]):
                sub = 2
            else:
                sub = 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + sub)
            if (i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]):
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


# (target, max distance, keyboard-only substitutions, swaps only, real words to leave alone)
_FUZZY: list[tuple[str, int, bool, bool, frozenset[str]]] = [
    ("stop", 1, True, False, frozenset({
        "top", "tops", "spot", "shop", "step", "atop", "stoa", "stow", "sop", "slop"})),
    ("stopall", 1, False, False, frozenset()),
    ("unsubscribe", 2, False, False, frozenset({"subscribe"})),
    ("unsub", 1, False, False, frozenset({"unsure"})),
    ("cancel", 1, False, False, frozenset({"cancer", "camel", "canceled", "chancel"})),
    ("optout", 1, False, False, frozenset()),
    ("removeme", 1, False, False, frozenset({"remove", "removed"})),
    ("quit", 1, False, True, frozenset()),
]


def _fuzzy(squashed: str) -> str | None:
    if not 3 <= len(squashed) <= 14:
        return None
    for target, limit, keyboard, swaps_only, leave in _FUZZY:
        if squashed in leave or abs(len(squashed) - len(target)) > limit:
            continue
        if swaps_only:
            if len(squashed) == len(target) and sorted(squashed) == sorted(target) and \
                    _distance(squashed, target, keyboard=False) == 1:
                return target
            continue
        if _distance(squashed, target, keyboard=keyboard) <= limit:
            return target
    return None


# -- the classifier -----------------------------------------------------------------------


def _strip_fillers(words: list[str]) -> list[str]:
    start, end = 0, len(words)
    while end > start + 1 and words[end - 1] in _TRAILING_FILLERS:
        end -= 1
    while start < end - 1 and words[start] in _LEADING_FILLERS:
        start += 1
    return words[start:end]


def classify(text: str | None) -> KeywordMatch:
    """Classify one inbound message. Never raises."""
    if not isinstance(text, str) or not text.strip():
        return KeywordMatch(InboundIntent.NONE, "empty")
    normal = _normalise(text[:MAX_TEXT])
    if _TAPBACK.match(normal):
        return KeywordMatch(InboundIntent.NONE, "tapback")
    words = _words(normal)
    if not words:
        return KeywordMatch(InboundIntent.NONE, "no_text")

    complaint = _complaint(words)
    opt_out = _opt_out(words)
    if complaint is not None:
        return KeywordMatch(InboundIntent.COMPLAINT, f"complaint:{complaint.lower()}",
                            complaint, opt_out=opt_out is not None)
    if opt_out is not None:
        kind, rule, keyword = opt_out
        return KeywordMatch(InboundIntent.OPT_OUT, f"{kind}:{rule}", keyword, opt_out=True)

    for candidate in (_joined(words), _joined(_strip_fillers(words))):
        found = _EXACT.get(candidate)
        if found is not None and found[0] in (InboundIntent.OPT_IN, InboundIntent.HELP):
            return KeywordMatch(found[0], f"exact:{found[1].lower()}", found[1])
    return NOTHING


def _complaint(words: list[str]) -> str | None:
    squashed = _joined(_strip_fillers(words))
    found = _EXACT.get(squashed) or _EXACT.get(_joined(words))
    if found is not None and found[0] == InboundIntent.COMPLAINT:
        return found[1]
    negated = {i + 1 for i, w in enumerate(words) if w in ("not", "no", "isnt", "aint")}
    for i, word in enumerate(words):
        label = _COMPLAINT_WORDS.get(word)
        if label is not None and i not in negated and \
                not (i >= 2 and words[i - 2] in ("not", "isnt") and words[i - 1] == "a"):
            return label
    if _REPORT_PHRASE.search(" ".join(words)):
        return "REPORTED"
    return None


def _opt_out(words: list[str]) -> tuple[str, str, str] | None:
    """("exact" | "fuzzy" | "phrase" | "token", rule, keyword) when the text means stop."""
    core = _strip_fillers(words)
    for candidate in (_joined(words), _joined(core)):
        found = _EXACT.get(candidate)
        if found is not None:
            if found[0] == InboundIntent.OPT_OUT:
                return "exact", found[1].lower(), found[1]
            if found[0] != InboundIntent.COMPLAINT:
                return None  # START, HELP... said plainly
    if len(core) <= 2:
        target = _fuzzy(_joined(core))
        if target is not None:
            canonical = _EXACT[target][1]
            return "fuzzy", target, canonical
    sentence = " ".join(words)
    for name, pattern in _PHRASES:
        if pattern.search(sentence):
            return "phrase", name, "STOP"
    word = _stop_in_sentence(words)
    if word is not None:
        canonical = _EXACT.get(word, (InboundIntent.OPT_OUT, "STOP"))[1]
        return "token", word, canonical
    return None
