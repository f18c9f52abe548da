"""What a sending list accepts, written once for every way in: contacts, bulk contacts,
CSV import, send and bulk send (and the executor, for the list itself). Pure: the
callers bring the facts, so the CSV reader can ask in its thread."""

from __future__ import annotations

from core.contacts.models import LineType, ListStatus, SendingList
from core.errors import ValidationError

LANDLINE_NOT_ALLOWED = "landline_not_allowed"
LIST_INACTIVE = "list_inactive"


def landline_refusal(e164: str, line_type: str | None, *, allow_landlines: bool,
                     field: str = "phone_number") -> ValidationError | None:
    """Why a list refuses this number, or None. ``line_type`` is what we know of it: the
    stored one (a lookup may have refined it) or, for a number new to us, what the
    number or the file says."""
    if line_type == LineType.LANDLINE and not allow_landlines:
        return ValidationError(f"{e164} is a landline and this list does not accept "
                               "landlines.", code=LANDLINE_NOT_ALLOWED, field=field)
    return None


def is_sending(sending_list: SendingList | None) -> bool:
    """Whether messages may leave from this list (an inactive one sends nothing)."""
    return sending_list is not None and sending_list.status == ListStatus.ACTIVE


def require_sending(sending_list: SendingList) -> SendingList:
    """``sending_list``, or ``list_inactive`` for an API call that would send from it."""
    if not is_sending(sending_list):
        raise ValidationError(f"The sending list {sending_list.phone_number} is inactive.",
                              code=LIST_INACTIVE, field="list_number")
    return sending_list
