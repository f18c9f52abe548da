"""How many SMS segments a text costs, and where a phone splits it (pure).

The rules (PRODUCT.md section 4, as carriers and Twilio publish them):

- GSM-7 when every character is in the GSM 03.38 default alphabet or its extension
  table: 160 septets in one segment, 153 per part once concatenated (the user data
  header takes the rest). Extension characters (``^{}\\[~]|€`` and form feed) are sent
  as ESC + character, so they cost two septets and are never cut in half at a part
  boundary.
- UCS-2 otherwise: 70 UTF-16 code units in one segment, 67 per part. Characters outside
  the Basic Multilingual Plane are a surrogate pair (two units). Nothing that displays as
  one symbol is cut: parts end on extended grapheme cluster boundaries (Unicode UAX #29
  via the ``regex`` module's ``\\X``), which keeps surrogate pairs, emoji ZWJ sequences,
  emoji with skin-tone modifiers, flags and keycaps whole. Only a single cluster longer
  than a whole part (a pathological pile of combining marks) is cut, and then on code
  point boundaries, never inside a surrogate pair.

``smart_encode`` replaces look-alike typography (curly quotes, dashes, ellipsis, odd
spaces...) with GSM equivalents so callers can show the cost with and without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import regex

GSM7: Final = "GSM-7"  # equal to core.messaging.models.Encoding values
UCS2: Final = "UCS-2"

GSM_SINGLE: Final = 160
GSM_PART: Final = 153
UCS2_SINGLE: Final = 70
UCS2_PART: Final = 67

# GSM 03.38 default alphabet, without ESC (0x1B), which is not a character.
GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each is ESC + one septet.
GSM_EXTENSION: Final = frozenset("\f^{}\\[~]|€")

_GRAPHEME = regex.compile(r"\X")

# Typography that has a GSM look-alike. Zero-width characters that carry no meaning in
# plain text map to nothing; ZWJ / ZWNJ are left alone because emoji and some scripts
# need them.
_SMART: Final[dict[str, str]] = {
    **dict.fromkeys("‘’‚‛′‵`´", "'"),
    **dict.fromkeys("“”„‟″‶«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    "…": "...",
    **dict.fromkeys("\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
                    "\u2009\u200a\u202f\u205f\u3000\t", " "),
    **dict.fromkeys("\u200b\u2060\ufeff\u00ad", ""),
    "\u2028": "\n",
    "\u2029": "\n",
    "‹": "<",
    "›": ">",
    "•": "*",
    "·": ".",
    "ˆ": "^",
    "˜": "~",
    "¦": "|",
    "⁄": "/",
    "∕": "/",
    "ç": "Ç",
}
_SMART_TABLE: Final = str.maketrans(_SMART)


@dataclass(frozen=True, slots=True)
class SegmentInfo:
    text: str  # the text counted (after smart encoding when asked)
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    characters: int  # code points, what a person would call the length
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2): what the limits count
    parts: list[str]  # how a phone receives it; "".join(parts) == text
    per_part_limit: int  # 160/70 when it fits one segment, else 153/67
    remaining: int  # units left in the last part before it costs another segment


_GSM_ALL: Final = GSM_BASIC | GSM_EXTENSION


def is_gsm7(text: str) -> bool:
    return _GSM_ALL.issuperset(text)  # one C loop: a campaign counts every message


def smart_encode(text: str) -> str:
    """Replace typography with GSM look-alikes. Characters without one are kept."""
    return text.translate(_SMART_TABLE)


def count(text: str, *, smart: bool = False) -> SegmentInfo:
    """Segments, encoding and parts of ``text`` (optionally smart-encoded first)."""
    if smart:
        text = smart_encode(text)
    if is_gsm7(text):
        # Every character costs one septet, an extension character two: counted without
        # a Python loop over the characters; they are only walked to split a long text.
        units = len(text) + sum(text.count(ch) for ch in GSM_EXTENSION)
        if units <= GSM_SINGLE:
            parts = [text] if text else []
            return SegmentInfo(text, GSM7, len(parts), len(text), units, parts, GSM_SINGLE,
                               GSM_SINGLE - units)
        encoding, single, part = GSM7, GSM_SINGLE, GSM_PART
        pieces = list(text)
        cost: Callable[[str], int] = _gsm_cost
    else:
        encoding, single, part = UCS2, UCS2_SINGLE, UCS2_PART
        pieces = _graphemes(text)
        cost = _ucs2_cost
    costs = [cost(piece) for piece in pieces]
    units = sum(costs)
    if units <= single:
        parts = [text] if text else []
        return SegmentInfo(text, encoding, len(parts), len(text), units, parts, single,
                           single - units)
    parts, last = _pack(pieces, costs, part)
    return SegmentInfo(text, encoding, len(parts), len(text), units, parts, part,
                       part - last)


def split(text: str, *, smart: bool = False) -> list[str]:
    """The parts a phone receives (empty list for empty text)."""
    return count(text, smart=smart).parts


def _gsm_cost(ch: str) -> int:
    return 2 if ch in GSM_EXTENSION else 1


def _ucs2_cost(piece: str) -> int:
    return len(piece.encode("utf-16-le")) // 2


def _graphemes(text: str) -> list[str]:
    """Grapheme clusters, with any cluster longer than a part cut on code points."""
    out: list[str] = []
    for cluster in _GRAPHEME.findall(text):
        if _ucs2_cost(cluster) <= UCS2_PART:
            out.append(cluster)
        else:
            out.extend(cluster)  # code points: a surrogate pair is one code point here
    return out


def _pack(pieces: list[str], costs: list[int], limit: int) -> tuple[list[str], int]:
    """Greedy fill: each piece goes whole into the current part or starts the next."""
    parts: list[str] = []
    current: list[str] = []
    used = 0
    for piece, piece_cost in zip(pieces, costs, strict=True):
        if used + piece_cost > limit:
            parts.append("".join(current))
            current, used = [], 0
        current.append(piece)
        used += piece_cost
    parts.append("".join(current))
    return parts, used
