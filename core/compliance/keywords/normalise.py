"""From a reply as typed to the words the classifier reads.

Two steps. :func:`fold` maps every character to what it looks like in plain ASCII, case
kept: compatibility forms (fullwidth, mathematical, circled and squared letters) through
NFKC, letters that only look Latin (Cyrillic, Greek, Cherokee, Lisu...) through Unicode's
confusables data (UTS #39, as packaged by ``confusable_homoglyphs``), and every other
letter (accents, small capitals, IPA, ``ß``) through ``anyascii``. Invisible characters
(zero-width spaces and joiners, bidi controls, variation selectors, combining marks, tag
characters, Hangul fillers) disappear, every kind of space becomes a space, and emoji are
kept as they are (they separate words and mean nothing to the rules).

:func:`tokens` then splits the folded text into lower-case words and clause breaks
(``|``): leetspeak inside a word (``st0p``, ``$top``) becomes letters, a letter held down
(``stoooop``) counts once, apostrophes go (``don't`` -> ``dont``) and letters typed apart
(``s t o p``, ``S.T.O.P``) are joined.
"""

from __future__ import annotations

import json
import re
import unicodedata
from importlib import resources

from anyascii import anyascii

BREAK = "|"  # a clause break in the token list: . ! ? ; ,

# Invisible letters (category Lo or So, so not caught by category): Hangul fillers and the
# braille blank, favourites for padding a word so that it no longer matches.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
_FOLD_CACHE_LIMIT = 20_000


_Confusables = dict[str, list[dict[str, str]]]


def _load_confusables() -> _Confusables:
    text = resources.files("confusable_homoglyphs").joinpath("confusables.json") \
        .read_text(encoding="utf-8")
    data: _Confusables = json.loads(text)
    return data


def _prototypes(data: _Confusables) -> dict[str, str]:
    """Each character Unicode lists as confusable with an ASCII letter or digit -> that
    letter (``р`` -> ``p``, ``ѕ`` -> ``s``, ``Ι`` -> ``I``)."""
    found: dict[str, str] = {}
    for key, entries in data.items():
        if len(key) != 1 or not key.isascii() or not key.isalnum():
            continue
        for entry in entries:
            char = entry["c"].strip("\u200e\u200f")
            if len(char) != 1 or char.isascii():
                continue
            proto = key
            # UTS #39 picks "l" as the prototype of everything shaped like a bar, capital I
            # included; a capital bar in a word is an I.
            if proto in "lI1|" and char.isupper():
                proto = "I"
            found.setdefault(char, proto)
    return found


def _latin_neighbours(data: _Confusables) -> dict[str, str]:
    """Letters whose one confusable is a single Latin letter that is not ASCII -> that
    letter's ASCII (``н`` -> ``ʜ`` -> ``h``, ``τ`` -> ``ᴛ`` -> ``t``)."""
    found: dict[str, str] = {}
    for key, entries in data.items():
        if len(key) != 1 or key.isascii() or len(entries) != 1:
            continue
        other = entries[0]["c"]
        if len(other) != 1 or other.isascii() or \
                unicodedata.name(key, "").startswith("LATIN") or \
                not unicodedata.name(other, "").startswith("LATIN"):
            continue
        ascii_ = anyascii(other)
        if len(ascii_) == 1 and ascii_.isalpha():
            found[key] = ascii_
    return found


class _Fold(dict[int, str]):
    """A ``str.translate`` table computed one character at a time, on first sight."""

    def __init__(self, prototypes: dict[str, str], neighbours: dict[str, str]) -> None:
        super().__init__()
        self._prototypes = prototypes
        self._neighbours = neighbours

    def __missing__(self, code: int) -> str:
        folded = self._fold_char(chr(code))
        if len(self) < _FOLD_CACHE_LIMIT:
            self[code] = folded
        return folded

    def _fold_char(self, char: str) -> str:
        if char.isascii():
            return char
        category = unicodedata.category(char)
        if category in ("Mn", "Me", "Cf") or char in _INVISIBLE_LETTERS:
            return ""
        if category[0] in "ZC":
            return " "
        compat = unicodedata.normalize("NFKC", char)
        if compat.isascii():
            return compat
        if len(compat) == 1:
            char = compat
        proto = self._prototypes.get(char)
        if proto is not None:
            return proto
        if category[0] == "L":
            return self._neighbours.get(char) or anyascii(char)
        if category == "Nd":
            return str(unicodedata.digit(char))
        if category[0] == "P":
            text = anyascii(char)
            return text if text and not text.isalnum() else " "
        if category == "So":
            # Negative squared letters (🅰) are letters; any other symbol stays itself.
            text = anyascii(char)
            return text if len(text) == 1 and text.isalpha() else char
        return char


def _build_fold() -> _Fold:
    data = _load_confusables()
    return _Fold(_prototypes(data), _latin_neighbours(data))


# Filled on first sight of each character and never changed after: a cache, not state.
_FOLD = _build_fold()


def fold(text: str) -> str:
    """``text`` as the ASCII it looks like, case kept (see the module docstring)."""
    if text.isascii():
        return text
    return text.translate(_FOLD)


# -- tokens ---------------------------------------------------------------------------------

_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t",
                       "$": "s", "@": "a", "|": "l", "!": "i", "+": "t"})
# A word: letters, digits and the symbols leetspeak uses, apostrophes and "!" inside it.
# Clause breaks: sentence punctuation (a new line is only a space: people wrap lines).
_TOKEN = re.compile(r"[a-z0-9$@|+]+(?:['!][a-z0-9$@|+]+)*|[.!?;,]+")
_LETTER = re.compile(r"[a-z]")
_NOT_LETTER = re.compile(r"[^a-z]+")
_HELD = re.compile(r"([a-z])\1{2,}")  # no English or Spanish word has a letter thrice


def tokens(folded: str, spellable: frozenset[str]) -> list[str]:
    """Lower-case words and ``|`` clause breaks (never two in a row, none first or last).

    Letters typed apart are joined when they spell a word in ``spellable`` (``s t o p``)
    or are the whole message; otherwise they stay apart (``y r u texting me``)."""
    out: list[str] = []
    singles: list[str] = []  # letters typed apart, waiting to be joined
    for raw in _TOKEN.findall(_HELD.sub(r"\1", folded.lower())):
        if raw.isalpha():
            word = raw  # the common case: a plain word
        elif raw[0] in ".!?;,":
            if singles and raw == ".":
                continue  # s.t.o.p: a dot between single letters ends no sentence
            if singles:
                _flush(out, singles, spellable, last=False)
            if out and out[-1] != BREAK:
                out.append(BREAK)
            continue
        elif _LETTER.search(raw) is None:
            continue  # a number: "STOP 2", "call me at 5"
        else:
            word = _HELD.sub(r"\1", _NOT_LETTER.sub("", raw.translate(_LEET)))
            if not word:
                continue
        if len(raw) == 1:
            singles.append(word)
            continue
        if singles:
            _flush(out, singles, spellable, last=False)
        out.append(word)
    if singles:
        _flush(out, singles, spellable, last=True)
    if out and out[-1] == BREAK:
        out.pop()
    return out


def _flush(out: list[str], singles: list[str], spellable: frozenset[str], *,
           last: bool) -> None:
    if len(singles) >= 3:
        joined = _HELD.sub(r"\1", "".join(singles))
        if joined in spellable or (last and not out):
            out.append(joined)
            singles.clear()
            return
    out.extend(singles)
    singles.clear()
