"""The intents an inbound SMS can have."""

from __future__ import annotations

from enum import StrEnum


class InboundIntent(StrEnum):
    """What an inbound SMS means (stored on core.inbound.models.InboundMessage)."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    COMPLAINT = "complaint"
    NONE = "none"
