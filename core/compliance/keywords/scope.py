"""The words around a keyword, which decide whether it means what it says.

Each check answers with the reason a keyword is set aside (``negation``, ``hypothetical``,
``sense``, ``name``) or None. They read the normalised words (see normalise.tokens) from
the keyword back to the start of its clause: a negation in another sentence (``I don't
know who this is. Stop``) does not reach it.
"""

from __future__ import annotations

import re

from core.compliance.keywords.normalise import BREAK

# -- negation ---------------------------------------------------------------------------------

_NEGATORS = frozenset({
    "dont", "not", "never", "cant", "cannot", "wont", "didnt", "doesnt", "shouldnt",
    "wouldnt", "couldnt", "aint", "isnt", "wasnt", "arent", "havent", "hasnt", "nt",
    "without", "nunca", "jamas", "ni", "dnt", "neva",
})
# Words that may stand between a negation and what it negates: "please never EVER stop",
# "I do not WANT TO unsubscribe", "I'm not ASKING YOU TO stop", "no QUIERO QUE ME saquen".
_GAP = frozenset({
    "ever", "want", "wanna", "need", "needs", "to", "please", "pls", "just", "even", "really",
    "actually", "i", "you", "u", "will", "would", "like", "asking", "telling", "saying",
    "trying", "going", "gonna", "planning", "about", "be", "me", "us", "make", "let", "ask",
    "tell", "wish", "have", "gotta", "got", "dare", "ya", "yall", "plan", "intend",
    "do", "did", "does", "quiero", "que", "nos", "deseo", "vayan", "van", "a", "se", "lo",
    "le", "les", "ustedes", "por", "favor", "quisiera", "necesito", "vaya", "vas",
    "reply", "replying", "text", "texting", "send", "sending", "say", "type",
})
_RHETORICAL_NEXT = frozenset({"you", "u", "ya", "yall"})  # "can't you stop", "why don't you"
_THREAT = frozenset({"if", "unless", "until", "till", "til"})  # "if you don't stop..."


def negated(words: list[str], at: int, *, spanish: bool = False) -> bool:
    """The keyword at ``words[at]`` is under a negation ("please never stop these")."""
    j = at - 1
    steps = 0
    while j >= 0 and steps < 6:
        word = words[j]
        if word == BREAK:
            return False
        is_negator = word in _NEGATORS or (spanish and word == "no")
        if is_negator:
            following = words[j + 1] if j + 1 < at else ""
            if following in _RHETORICAL_NEXT:
                # "can't you stop" asks to stop; "don't you dare unsubscribe me" forbids it
                return j + 2 < at and words[j + 2] == "dare"
            if j >= 1 and words[j - 1] == "why":
                return False
            if j >= 2 and words[j - 2] == "why" and words[j - 1] in ("do", "did", "would"):
                return False
            for k in range(max(0, j - 3), j):
                if words[k] in _THREAT:
                    return False  # "if you don't stop texting me": a demand to stop
            return True
        if word not in _GAP:
            return False
        j -= 1
        steps += 1
    return False


def rhetorical_refusal(words: list[str], at: int) -> bool:
    """``why would I unsubscribe``: a question that means "I would not"."""
    return at >= 3 and words[at - 3:at] in (["why", "would", "i"], ["why", "would", "anyone"],
                                            ["why", "would", "we"])


def hypothetical(words: list[str], at: int) -> bool:
    """The speaker wonders what happens if they stop: ``if I reply STOP will I still get my
    receipts?``. A request (``if you could please stop``) is no such thing."""
    for j in range(at - 1, max(-1, at - 5), -1):
        if words[j] == BREAK:
            return False
        if words[j] in ("if", "whether") and j + 1 < at and words[j + 1] in ("i", "we"):
            return True
    return False


# -- "stop" in other senses ------------------------------------------------------------------

# "bus stop", "the next stop", "non stop": a noun.
_NOUN_BEFORE = frozenset({
    "bus", "pit", "truck", "rest", "non", "one", "full", "last", "next", "first", "door",
    "back", "whistle", "short", "tour", "train", "final", "quick", "brief", "emergency",
    "the", "a", "every", "each", "my", "our", "his", "her", "their", "photo", "gas",
    "bathroom", "quik", "kwik", "pee", "potty", "metro", "subway", "tram", "shuttle",
    "which", "what", "whichever", "nearest", "closest",
})
# "stop by", "stop sign", "stop smoking": another verb or noun follows.
_AFTER = frozenset({
    "by", "in", "at", "over", "sign", "signs", "light", "lights", "watch", "gap", "loss",
    "motion", "for", "off", "there", "here", "on", "into", "around", "to", "when", "where",
    "the", "my", "n", "and", "shop", "go", "thinking", "sale", "believing", "believin",
    "making", "eating", "worrying", "crying", "laughing", "playing", "working", "asking",
    "smoking", "drinking", "procrastinating", "staring", "talking", "complaining", "being",
    "trying", "running", "whining", "looking",
})
_AFTER_FIRST = frozenset({
    "by", "in", "over", "sign", "signs", "light", "lights", "watch", "at", "off", "gap",
    "motion", "n", "and", "shop", "on", "into", "around", "there", "here", "for",
})
# Gerunds that are about our messages ("stop texting", "stop getting these").
_SENDING = frozenset({
    "texting", "txting", "texing", "messaging", "msging", "sending", "contacting", "emailing",
    "calling", "bugging", "bothering", "harassing", "spamming", "getting", "receiving",
    "hitting", "blowing", "writing", "pinging", "mailing",
})
_SPEAKER = frozenset({"i", "we", "ill", "well", "im", "ive", "id", "wed", "weve"})
_MODALS = frozenset({
    "will", "would", "can", "could", "might", "may", "should", "usually", "always", "often",
    "sometimes", "gonna", "must", "shall", "also", "probably", "def", "definitely",
})


def noun_before(words: list[str], at: int) -> bool:
    """``non stop deals``, ``the last stop``: the word at ``at`` is used as a noun."""
    return at > 0 and words[at - 1] in _NOUN_BEFORE


def other_sense(words: list[str], at: int) -> bool:
    """``stop`` at ``words[at]`` is a place, a pause or another action, not an instruction."""
    before = words[at - 1] if at > 0 else BREAK
    after = words[at + 1] if at + 1 < len(words) else BREAK
    gerund = after.endswith("ing") and after not in _SENDING and len(after) > 4
    if before == BREAK:
        return after in _AFTER_FIRST or gerund
    if before in _NOUN_BEFORE:
        return True
    speaker = at - 1 if before in _SPEAKER else \
        at - 2 if before in _MODALS and at >= 2 and words[at - 2] in _SPEAKER else -1
    if speaker >= 0:
        # The speaker's own stop ("I stop at Target on Fridays"), unless they ask how to
        # make one ("how can I stop", "can I stop these").
        asking = words[max(0, speaker - 2):speaker]
        return not any(w in ("how", "can", "could", "may", "do") for w in asking)
    if after in _AFTER:
        return True
    return gerund


# -- names -----------------------------------------------------------------------------------

# Stores and shows: "Stop & Shop", "Stop N Go".
_KNOWN_NAMES = re.compile(r"^stop (?:and |n )?(?:shop|go)\b")
# A person called Stop: "ask for Kevin Stop", "my name is Dana Stopp".
_NAME_CUES = (("name", "is"), ("ask", "for"), ("named",), ("called",), ("mr",), ("mrs",),
              ("ms",), ("dr",), ("miss",))


def named(words: list[str], at: int) -> bool:
    """``words[at]`` (a keyword) is part of a name: a store's, or a person's."""
    if _KNOWN_NAMES.match(" ".join(words[at:at + 3])):
        return True
    for skip in (0, 1, 2):  # "Mr Stop", "ask for Kevin Stop"
        for cue in _NAME_CUES:
            start = at - skip - len(cue)
            if start >= 0 and tuple(words[start:start + len(cue)]) == cue and \
                    BREAK not in words[start:at]:
                return True
    return False
