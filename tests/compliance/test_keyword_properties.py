"""Properties of the keyword engine over open-ended input (hypothesis):

- a reaction (iPhone tapback, emoji reaction, removal, Google Messages) quoting anything,
  an opt-out included, is never an opt-out;
- an opt-out request under a negation is never an opt-out;
- a keyword written with look-alike letters or invisible characters keeps its intent.

The look-alikes come from Unicode character names, not from the engine's own tables, so
the test does not grade the engine against itself.
"""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from core.compliance.keywords import classify
from core.compliance.keywords.intent import InboundIntent
from tests.compliance.test_keyword_cases import ROWS
from tests.compliance.test_keywords import CASES

OUT = InboundIntent.OPT_OUT

_OPT_OUTS = sorted({text for text, intent in CASES if intent == OUT} |
                   {text for text, intent, _, _ in ROWS if intent == OUT})
_QUOTES = [("“", "”"), ('"', '"'), ("‘", "’"), ("«", "»")]
_WRAPPERS = [
    "Liked {q}", "Loved {q}", "Disliked {q}", "Laughed at {q}", "Emphasized {q}",
    "Emphasised {q}", "Questioned {q}", "Reacted 😂 to {q}", "Reacted 🫶🏽 to {q}",
    "Reacted 👍 to {q}", "Removed a like from {q}", "Removed a heart from {q}",
    "Removed a dislike from {q}", "Removed a laugh from {q}", "Removed an exclamation from {q}",
    "Removed a question mark from {q}", "Removed 🔥 from {q}", "Le gusta {q}",
    "Le encantó {q}", "Se rió de {q}", "Enfatizó {q}", "Cuestionó {q}", "No le gustó {q}",
]


def _google(text: str, removal: bool) -> str:
    if removal:
        return f"\u200aRemoved \u200c👍\u200c from \u200a{text}\u200a\u200a"
    return f"\u200aReacted \u200b😂\u200b to \u200a{text}\u200a\u200a"


_QUOTED = st.one_of(st.sampled_from(_OPT_OUTS), st.text(max_size=80),
                    st.sampled_from(_OPT_OUTS).map(lambda t: f"Deal of the day! {t}"))


@settings(max_examples=600, deadline=None)
@given(_QUOTED, st.sampled_from(_WRAPPERS), st.sampled_from(_QUOTES))
def test_a_reaction_is_never_an_opt_out(quoted: str, wrapper: str, marks: tuple[str, str]):
    text = wrapper.format(q=marks[0] + quoted + marks[1])
    match = classify(text)
    assert match.intent != OUT and not match.opt_out, (text, match)


@settings(max_examples=300, deadline=None)
@given(_QUOTED.filter(lambda t: t.strip() != ""), st.booleans())
def test_a_google_messages_reaction_is_never_an_opt_out(quoted: str, removal: bool):
    text = _google(quoted, removal)
    match = classify(text)
    assert match.intent != OUT and not match.opt_out, (text, match)


_REQUESTS = [
    "stop", "STOP", "unsubscribe", "opt out", "stop texting me", "stop sending these",
    "unsubscribe me", "remove me", "remove me from the list", "take me off the list",
    "take me off your list", "cancel my subscription", "stop these texts", "opt me out",
    "stop messaging me", "end these texts", "remove my number",
]
_NEGATIONS = [
    "please never {k}", "don't {k}", "do not {k}", "I don't want to {k}", "I would never {k}",
    "never ever {k}", "I do not want you to {k}", "please don't ever {k}", "Don't {k}!",
    "you don't need to {k}", "I'm not asking you to {k}", "I didn't say {k}",
    "never {k}", "I won't {k}", "I really don't want to {k}", "i dont wanna {k}",
    "don’t {k}", "DO NOT {k}", "I'd never want to {k}",
]
_AFTER = ["", "!", ".", " please", " these deals are great", ", I love these", " lol",
          " 😍", " ever", " thanks"]


@settings(max_examples=600, deadline=None)
@given(st.sampled_from(_REQUESTS), st.sampled_from(_NEGATIONS), st.sampled_from(_AFTER))
def test_a_negated_opt_out_is_never_an_opt_out(request: str, negation: str, after: str):
    text = negation.format(k=request) + after
    match = classify(text)
    assert match.intent != OUT and not match.opt_out, (text, match)


# -- look-alikes ------------------------------------------------------------------------

_KEYWORDS = {
    "stop": OUT, "end": OUT, "quit": OUT, "cancel": OUT, "unsubscribe": OUT, "revoke": OUT,
    "optout": OUT, "stopall": OUT, "start": InboundIntent.OPT_IN,
    "unstop": InboundIntent.OPT_IN, "subscribe": InboundIntent.OPT_IN,
    "yes": InboundIntent.OPT_IN, "help": InboundIntent.HELP, "info": InboundIntent.HELP,
    "alto": OUT, "baja": OUT,
}
_STYLES = [
    "MATHEMATICAL BOLD {case} {l}", "MATHEMATICAL SANS-SERIF BOLD {case} {l}",
    "MATHEMATICAL DOUBLE-STRUCK {case} {l}", "MATHEMATICAL MONOSPACE {case} {l}",
    "MATHEMATICAL BOLD SCRIPT {case} {l}", "MATHEMATICAL FRAKTUR {case} {l}",
    "FULLWIDTH LATIN {case} LETTER {l}", "CIRCLED LATIN {case} LETTER {l}",
    "PARENTHESIZED LATIN SMALL LETTER {l}", "SQUARED LATIN CAPITAL LETTER {l}",
    "NEGATIVE SQUARED LATIN CAPITAL LETTER {l}", "LATIN LETTER SMALL CAPITAL {l}",
]
# Letters from other scripts that Unicode's confusables data lists as Latin look-alikes.
_OTHER_SCRIPTS = {
    "a": ["CYRILLIC SMALL LETTER A", "CYRILLIC CAPITAL LETTER A", "GREEK CAPITAL LETTER ALPHA"],
    "b": ["GREEK CAPITAL LETTER BETA", "CYRILLIC CAPITAL LETTER VE"],
    "c": ["CYRILLIC SMALL LETTER ES", "CYRILLIC CAPITAL LETTER ES"],
    "e": ["CYRILLIC SMALL LETTER IE", "CYRILLIC CAPITAL LETTER IE",
          "GREEK CAPITAL LETTER EPSILON"],
    "h": ["CYRILLIC SMALL LETTER SHHA", "GREEK CAPITAL LETTER ETA"],
    "i": ["CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I", "GREEK CAPITAL LETTER IOTA",
          "CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I"],
    "j": ["CYRILLIC SMALL LETTER JE"],
    "k": ["GREEK CAPITAL LETTER KAPPA", "CYRILLIC CAPITAL LETTER KA"],
    "m": ["GREEK CAPITAL LETTER MU", "CYRILLIC CAPITAL LETTER EM"],
    "n": ["GREEK CAPITAL LETTER NU"],
    "o": ["CYRILLIC SMALL LETTER O", "GREEK SMALL LETTER OMICRON", "GREEK CAPITAL LETTER OMICRON",
          "CYRILLIC CAPITAL LETTER O", "ARMENIAN SMALL LETTER OH"],
    "p": ["CYRILLIC SMALL LETTER ER", "GREEK CAPITAL LETTER RHO", "CYRILLIC CAPITAL LETTER ER",
          "GREEK SMALL LETTER RHO"],
    "s": ["CYRILLIC SMALL LETTER DZE", "CYRILLIC CAPITAL LETTER DZE", "LISU LETTER SA"],
    "t": ["GREEK CAPITAL LETTER TAU", "CYRILLIC CAPITAL LETTER TE", "LISU LETTER TA"],
    "u": ["ARMENIAN SMALL LETTER SEH"],
    "x": ["CYRILLIC SMALL LETTER HA", "GREEK CAPITAL LETTER CHI"],
    "y": ["CYRILLIC SMALL LETTER U", "GREEK CAPITAL LETTER UPSILON"],
}


def _variants(letter: str) -> list[str]:
    found = [letter, letter.upper()]
    for style in _STYLES:
        for case in ("SMALL", "CAPITAL"):
            try:
                found.append(unicodedata.lookup(style.format(case=case, l=letter.upper())))
            except KeyError:
                pass
    for name in _OTHER_SCRIPTS.get(letter, []):
        found.append(unicodedata.lookup(name))
    # a letter with a combining accent, strike-through or underline
    found += [letter + "\u0301", letter + "\u0336", letter.upper() + "\u0332"]
    return sorted(set(found))


_INVISIBLE = ["", "", "", "\u200b", "\u200c", "\u200d", "\u2060", "\u00ad", "\ufeff",
              "\u200e", "\u200f", "\u034f", "\ufe0f", "\u3164", "\U000e0020", "\u2062"]


@st.composite
def _disguised(draw: st.DrawFn) -> tuple[str, InboundIntent]:
    keyword = draw(st.sampled_from(sorted(_KEYWORDS)))
    out = ""
    for letter in keyword:
        out += draw(st.sampled_from(_variants(letter)))
        out += draw(st.sampled_from(_INVISIBLE))
    return out, _KEYWORDS[keyword]


@settings(max_examples=1000, deadline=None)
@given(_disguised())
def test_a_look_alike_or_invisible_variant_keeps_the_keywords_intent(
        case: tuple[str, InboundIntent]):
    text, intent = case
    assert classify(text).intent == intent, (text, [hex(ord(c)) for c in text], classify(text))


# -- typo matching: the fast paths agree with the full alignment table --------------------

def _full_distance(a: str, b: str, keyboard: bool) -> int:
    from core.compliance.keywords.vocabulary import _NEIGHBOURS
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            same = a[i - 1] == b[j - 1]
            far = keyboard and b[j - 1] not in _NEIGHBOURS.get(a[i - 1], ())
            sub = 0 if same else 2 if far else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + sub)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return min(prev[len(b)], 3)


@settings(max_examples=2000, deadline=None)
@given(st.sampled_from(["stop", "stopall", "unsub", "cancel", "optout", "removeme",
                        "unsubscribe"]),
       st.text(alphabet="stopalcneumrbiqx", max_size=14), st.booleans())
def test_typo_fast_paths_agree_with_the_full_table(target: str, word: str, keyboard: bool):
    from core.compliance.keywords.vocabulary import _distance, _within_one
    expected = _full_distance(word, target, keyboard)
    assert _distance(word, target, keyboard=keyboard) == expected
    assert _within_one(word, target, keyboard=keyboard) == (expected <= 1)
