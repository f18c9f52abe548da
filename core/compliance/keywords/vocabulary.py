"""Single words: the keywords a whole reply can be, the filler around them, and typos.

A keyword decides on its own only when it is (nearly) the whole reply: ``STOP``, ``Stop
please``, ``ALTO``. Inside a sentence, words are read by the phrases and the scope rules
(phrases.py, scope.py), because there ``alto`` is "high", ``para`` is "for" and ``end`` is
the end of the month.
"""

from __future__ import annotations

from core.compliance.keywords.intent import InboundIntent

OUT = InboundIntent.OPT_OUT
IN = InboundIntent.OPT_IN
HELP = InboundIntent.HELP
COMPLAINT = InboundIntent.COMPLAINT

# A whole reply (its words run together, filler removed) -> (intent, canonical keyword).
EXACT: dict[str, tuple[InboundIntent, str]] = {}


def _add(intent: InboundIntent, canonical: str, *forms: str) -> None:
    for form in (canonical, *forms):
        EXACT[form] = (intent, canonical.upper())


_add(OUT, "stop", "stopp", "stahp", "stopit", "stopnow", "stopthis", "stopthat", "stopplease",
     "stopme", "stopthem", "stopthese", "stopsending", "stoptexting", "stopmessaging")
_add(OUT, "stopall", "stopeverything")
_add(OUT, "end", "endall", "endit", "endthis")
_add(OUT, "quit", "quitall", "quitit")
_add(OUT, "cancel", "cancelall", "cancelme", "cancelit", "cancelthis", "cancelsubscription")
_add(OUT, "unsubscribe", "unsubscribeme", "unsubscribed", "unsubscribeall", "unsubscribing",
     "unsubscribeplease", "unsubscribemeplease")
_add(OUT, "unsub", "unsubme")
_add(OUT, "remove", "removeme", "removemenow", "removemyname", "removemynumber", "removeall",
     "removeus", "removefromlist", "removemefromlist")
_add(OUT, "optout", "optmeout", "optoutall", "outout", "optingout", "optedout")
_add(OUT, "revoke", "revokeconsent", "revokeall", "revoked", "revokemyconsent")
_add(OUT, "block", "blocked", "blockme", "blocknumber")
_add(OUT, "wrong", "wrongnumber", "wrongperson", "wrongphone", "wrongnum", "wrongno")
_add(OUT, "leavemealone")
_add(OUT, "alto", "altoya")  # Spanish: alone, these are the keywords; in a sentence, words
_add(OUT, "parar", "para", "pare", "paren", "paraya", "parale")
_add(OUT, "baja", "darmedebaja", "debaja", "dardebaja", "bajame", "denmedebaja", "damedebaja")
_add(OUT, "fin", "finalizar", "terminar")
_add(OUT, "cancelar", "cancela", "cancelen", "cancelarsuscripcion")
_add(OUT, "detener", "basta", "nomas", "nomasmensajes", "yabasta", "desuscribir",
     "desuscribirme", "desuscribanme")
_add(IN, "start", "startall", "restart", "startagain")
_add(IN, "unstop")
_add(IN, "yes", "yess", "yesss")
_add(IN, "subscribe", "resubscribe", "subscribeme", "resubscribeme", "subscribeagain",
     "resub", "optin", "optmein", "optbackin", "optmebackin", "signmeup", "signmebackup",
     "addmeback", "rejoin", "join", "joinme")
_add(IN, "alta", "suscribir", "suscribirme", "comenzar", "reanudar", "inscribirme",
     "suscribeme", "damedealta", "darmedealta")
_add(HELP, "help", "helpme", "halp", "ayuda", "info", "information", "moreinfo",
     "informacion", "ayudame", "ayudenme", "helpplease", "needhelp", "ineedhelp")
_add(COMPLAINT, "spam", "spammer", "spammers", "spammy", "thisisspam", "spamtext")
_add(COMPLAINT, "scam", "scammer", "scammers", "thisisascam", "scamtext")
_add(COMPLAINT, "reported", "report", "reportedasspam", "reportedspam", "reportingyou")

# Words the tokenizer may join when typed apart (``s t o p``, ``u n s u b``).
SPELLABLE = frozenset(word for word in EXACT if len(word) <= 12)

# An opt-out word a person wrote: a reply not read as an opt-out that still holds one is
# put up for review. The FCC's seven, their common forms, and the Spanish keywords but
# "para", the most common preposition in Spanish.
REVIEW_WORDS = frozenset({
    "stop", "stopp", "stahp", "stopall", "stopping", "quit", "end", "revoke", "optout",
    "cancel", "unsubscribe", "unsub", "unsubscribed", "unsubscribing", "alto", "baja",
    "fin", "basta", "cancelar", "parar", "detener",
})

# Words that carry no meaning around a keyword ("STOP please", "ok stop thanks").
LEADING_FILLERS = frozenset({
    "please", "pls", "plz", "plez", "pleas", "plse", "i", "hi", "hey", "hello", "ok", "okay",
    "k", "yes", "ya", "yeah", "yep", "no", "nope", "nah", "just", "so", "um", "uh", "omg",
    "wtf", "lol", "dude", "bro", "sir", "maam", "kindly", "now", "again", "ugh", "oh",
    "hola", "porfavor", "porfa", "favor", "si", "oye", "bueno",
})
TRAILING_FILLERS = frozenset({
    "please", "pls", "plz", "plez", "pleas", "plse", "thanks", "thank", "you", "u", "thx",
    "ty", "tks", "now", "asap", "ok", "okay", "already", "lol", "omg", "wtf", "bro", "dude",
    "sir", "maam", "immediately", "right", "away", "thankyou", "tia", "again", "ya",
    "yall", "man", "seriously", "forever", "permanently", "ugh", "gracias", "porfavor",
    "por", "favor", "porfa", "xfa", "ahora", "mismo", "inmediatamente",
})

COMPLAINT_WORDS = {
    "spam": "SPAM", "spams": "SPAM", "spammer": "SPAM", "spammers": "SPAM",
    "spamming": "SPAM", "spammy": "SPAM", "spamed": "SPAM", "spammed": "SPAM",
    "scam": "SCAM", "scams": "SCAM", "scammer": "SCAM", "scammers": "SCAM",
    "scamming": "SCAM", "scammy": "SCAM", "fraud": "SCAM", "fraudulent": "SCAM",
    "phishing": "SCAM", "reported": "REPORTED", "estafa": "SCAM", "fraude": "SCAM",
}


def strip_fillers(words: list[str]) -> list[str]:
    start, end = 0, len(words)
    while end > start + 1 and words[end - 1] in TRAILING_FILLERS:
        end -= 1
    while start < end - 1 and words[start] in LEADING_FILLERS:
        start += 1
    return words[start:end]


# -- typos ----------------------------------------------------------------------------------

# QWERTY neighbours: a substitution counts as a typo only between adjacent keys.
_KEYS = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"]


def _neighbours() -> dict[str, frozenset[str]]:
    found: dict[str, set[str]] = {}
    for r, row in enumerate(_KEYS):
        for c, ch in enumerate(row):
            near = found.setdefault(ch, set())
            for dr in (-1, 0, 1):
                for dc in (-1, 0, 1):
                    rr, cc = r + dr, c + dc
                    if 0 <= rr < len(_KEYS) and 0 <= cc < len(_KEYS[rr]) and (dr or dc):
                        near.add(_KEYS[rr][cc])
    return {ch: frozenset(near) for ch, near in found.items()}


_NEIGHBOURS = _neighbours()


def _distance(a: str, b: str, *, keyboard: bool) -> int:
    """Optimal string alignment distance (insert, delete, substitute, swap neighbours),
    capped at 3: only distances up to 2 are ever asked about, so only the band of cells
    within 2 of the diagonal is computed. With ``keyboard``, substituting a key that is
    not next to the right one costs 2."""
    cap = 3
    if abs(len(a) - len(b)) >= cap:
        return cap
    prev2: list[int] = []
    prev = [min(j, cap) for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        cur = [min(i, cap)] + [cap] * len(b)
        for j in range(max(1, i - cap + 1), min(len(b), i + cap - 1) + 1):
            if a[i - 1] == b[j - 1]:
                sub = 0
            elif keyboard and b[j - 1] not in _NEIGHBOURS.get(a[i - 1], ()):
                sub = 2
            else:
                sub = 1
            best = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + sub)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, prev2[j - 2] + 1)
            cur[j] = min(best, cap)
        prev2, prev = prev, cur
    return prev[len(b)]


# (target, max distance, keyboard-only substitutions, swaps only, real words to leave alone)
_FUZZY: list[tuple[str, int, bool, bool, frozenset[str]]] = [
    ("stop", 1, True, False, frozenset({
        "top", "tops", "spot", "shop", "step", "atop", "stoa", "stow", "sop", "slop", "swop",
        "stomp", "strop"})),
    ("stopall", 1, False, False, frozenset()),
    ("unsubscribe", 2, False, False, frozenset({"subscribe", "unsubscribed"})),
    ("unsub", 1, False, False, frozenset({"unsure"})),
    ("cancel", 1, False, False, frozenset({"cancer", "camel", "canceled", "chancel"})),
    ("optout", 1, False, False, frozenset()),
    ("removeme", 1, False, False, frozenset({"remove", "removed"})),
    ("quit", 1, False, True, frozenset()),
]


def _within_one(a: str, b: str, *, keyboard: bool) -> bool:
    """``_distance(a, b) <= 1`` in one pass, without the table: one insertion, deletion,
    swap of neighbours or substitution (of a neighbouring key, with ``keyboard``)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    i = 0
    while i < la and i < lb and a[i] == b[i]:
        i += 1
    if la == lb:
        if a[i + 1:] == b[i + 1:]:
            return not keyboard or b[i] in _NEIGHBOURS.get(a[i], ())
        return i + 1 < la and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2:] == b[i + 2:]
    return a[i:] == b[i + 1:] if la < lb else a[i + 1:] == b[i:]


def fuzzy(squashed: str) -> str | None:
    """The opt-out keyword ``squashed`` is a typo of (``stpo`` -> ``stop``), or None."""
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
        if limit == 1:
            if _within_one(squashed, target, keyboard=keyboard):
                return target
        elif _distance(squashed, target, keyboard=keyboard) <= limit:
            return target
    return None
