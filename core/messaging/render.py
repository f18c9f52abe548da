"""The final text of a message: compliance text for US lists, placeholders filled, one
short link per ``{{linkN}}``, optional smart encoding; then segments and price."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from decimal import Decimal

from core.accounts.models import Account
from core.billing.pricing import estimate
from core.contacts.models import SendingList
from core.messaging.segments import count, smart_encode
from core.messaging.template import RecipientFields, render


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    segments: int
    encoding: str
    characters: int
    price: Decimal


def is_us_list(sending_list: SendingList) -> bool:
    return sending_list.country_code == "US" or sending_list.phone_number.startswith("+1")


def compliance_text(account: Account, sending_list: SendingList | None) -> tuple[str, str]:
    """Prepend and append: the list's override, else the account's; US lists only."""
    if sending_list is not None and not is_us_list(sending_list):
        return "", ""
    prepend = account.prepend_text
    append = account.append_text
    if sending_list is not None:
        if sending_list.prepend_text is not None:
            prepend = sending_list.prepend_text
        if sending_list.append_text is not None:
            append = sending_list.append_text
    return prepend, append


def brand_of(account: Account, sending_list: SendingList | None) -> str:
    if sending_list is not None and sending_list.brand_name:
        return sending_list.brand_name
    return account.brand_name or account.name


def finish(body: str, recipient: RecipientFields, links: dict[str, str], *, prepend: str,
           append: str, smart: bool) -> Rendered:
    text = (render(prepend, recipient) + render(body, recipient, links)
            + render(append, recipient))
    if smart:
        text = smart_encode(text)
    segments, encoding, characters = _measure(text)
    return Rendered(text=text, segments=segments, encoding=encoding,
                    characters=characters, price=estimate(segments))


@functools.lru_cache(maxsize=2048)
def _measure(text: str) -> tuple[int, str, int]:
    """Segments, encoding and length of a rendered text: a bulk send or a campaign
    renders the same text for many recipients, and counting walks every character."""
    info = count(text)
    return info.segments, info.encoding, info.characters
