"""How the providers count the parts of an SMS, written for the fakes from the providers'
own rules and independently of core.messaging.segments (a fake that counted with our
counter would only ever agree with us).

The GSM 03.38 default alphabet and its extension table are set out below position by
position, as the standard lists them. Each provider fake picks one of the rules:

- ``packed`` (Twilio's published segment calculator, twilio-labs/message-segment-
  calculator): GSM-7 160 septets in one part, 153 per part once split; UCS-2 70 UTF-16
  code units, 67 per part. An extension character (ESC + septet) and a surrogate pair
  are never cut in two: one that does not fit moves whole to the next part. Nothing
  else is kept together (an emoji built with joiners may be cut between its pieces).
- ``arithmetic`` (the formula Infobip and CM document: "160 characters, 153 per part
  of a longer message; 70 and 67 for Unicode", extension characters and characters
  outside the BMP counting two): the units divided by the part size, rounded up.
"""

from __future__ import annotations

from math import ceil

# GSM 03.38 default alphabet, 0x00..0x7F (0x1B is the escape to the extension table).
_DEFAULT = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(_DEFAULT) == 128
GSM_DEFAULT = frozenset(_DEFAULT) - {"\x1b"}
# The extension table: form feed 0x0A, ^ 0x14, { 0x28, } 0x29, \ 0x2F, [ 0x3C, ~ 0x3D,
# ] 0x3E, | 0x40, € 0x65; each is sent as ESC + septet.
GSM_EXTENDED = frozenset("\x0c^{}\\[~]|€")


def is_gsm(text: str) -> bool:
    return all(ch in GSM_DEFAULT or ch in GSM_EXTENDED for ch in text)


def _units(text: str) -> tuple[bool, list[int]]:
    """(GSM-7?, the cost of each character in septets or UTF-16 code units)."""
    if is_gsm(text):
        return True, [2 if ch in GSM_EXTENDED else 1 for ch in text]
    return False, [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def packed(text: str) -> int:
    """Parts as Twilio's calculator counts them."""
    gsm, costs = _units(text)
    single, part = (160, 153) if gsm else (70, 67)
    if sum(costs) <= single:
        return 1 if text else 0
    parts, used = 1, 0
    for cost in costs:
        if used + cost > part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def arithmetic(text: str) -> int:
    """Parts by the documented formula (Infobip, CM)."""
    gsm, costs = _units(text)
    single, part = (160, 153) if gsm else (70, 67)
    units = sum(costs)
    if units <= single:
        return 1 if text else 0
    return ceil(units / part)
