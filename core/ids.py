"""Random public identifiers. All from ``secrets``: they are unguessable by design."""

from __future__ import annotations

import secrets
import string

ALPHANUMERIC = string.ascii_letters + string.digits
# Short codes avoid look-alikes (0/O, 1/l/I) because people retype them from screens.
UNAMBIGUOUS = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"


def random_string(length: int, alphabet: str = ALPHANUMERIC) -> str:
    """``length`` characters drawn uniformly from ``alphabet``: one draw from ``secrets``
    (a number below len(alphabet) ** length, written in that base), not one per
    character (a bulk send of 1,000 spent a third of its time here)."""
    base = len(alphabet)
    value = secrets.randbelow(base ** length)
    chars = []
    for _ in range(length):
        value, digit = divmod(value, base)
        chars.append(alphabet[digit])
    return "".join(chars)


def api_key() -> str:
    return "trk_" + random_string(32)


def message_public_id() -> str:
    return random_string(8, UNAMBIGUOUS)


def looks_like_message_id(value: str) -> bool:
    """Could ``value`` be one of :func:`message_public_id`'s? (Checked before a lookup.)"""
    return len(value) == 8 and all(c in UNAMBIGUOUS for c in value)


def short_code() -> str:
    return random_string(7, UNAMBIGUOUS)


def reference_id() -> str:
    """Shown to users next to a generic error so support can find the log line."""
    return random_string(10, UNAMBIGUOUS)
