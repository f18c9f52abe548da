"""Public ids and short codes for a whole batch at once.

The same alphabet and lengths as ``core.ids`` (and as unguessable: every character from
``secrets``), drawn from one buffer of random bytes rather than one system call per
character: a 100,000-message launch needs 1.5 million characters."""

from __future__ import annotations

import secrets

from core.ids import UNAMBIGUOUS

_SIZE = len(UNAMBIGUOUS)
_LIMIT = 256 - 256 % _SIZE  # bytes at or above are dropped: no character is likelier


def random_strings(count: int, length: int, alphabet: str = UNAMBIGUOUS) -> list[str]:
    if len(alphabet) != _SIZE:
        raise ValueError("an alphabet of the size of core.ids.UNAMBIGUOUS")
    wanted = count * length
    chars: list[str] = []
    while len(chars) < wanted:
        chars += [alphabet[b % _SIZE] for b in secrets.token_bytes(wanted - len(chars) + 64)
                  if b < _LIMIT]
    joined = "".join(chars[:wanted])
    return [joined[i:i + length] for i in range(0, wanted, length)]


def public_ids(count: int) -> list[str]:
    """As many ``core.ids.message_public_id()`` values."""
    return random_strings(count, 8)


def short_codes(count: int) -> list[str]:
    """As many ``core.ids.short_code()`` values."""
    return random_strings(count, 7)
