"""How the bot words core's errors: core's sentence says what is wrong, and for the codes
below the bot adds what to do about it in Discord (a slash command is the bot's to name,
never core's)."""

from __future__ import annotations

from core.errors import TracklyError

LINK = "`/sms link <api_key>`"

NEXT_STEP = {
    "discord_not_linked": f"To link one, use {LINK} (the reply is private).",
    "discord_link_revoked": f"Link again with {LINK}.",
    "ticket_claimed": "Use `/support assign` to take it over.",
    "account_suspended": "Nothing is sent while it is; to ask why, open a ticket with "
                         "`/support new`.",
    "discord_server_not_linked": "An owner of the account can link it with `/server link`.",
}


def explain(error: TracklyError) -> str:
    step = NEXT_STEP.get(error.code)
    return f"{error.message} {step}" if step else error.message
