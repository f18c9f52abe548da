"""What each provider needs in a sending list's (sealed) credentials, checked in one
place: when an owner sets them, and when an adapter is built from them; and the one way
to open them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from core.contacts.models import Provider, SendingList
from core.crypto import SecretBox
from core.errors import ValidationError

_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")
_TWILIO_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                   r"[0-9a-fA-F]{12}$")
_TOKEN = re.compile(r"^[A-Za-z0-9._\-]{16,200}$")
_HTTPS = re.compile(r"^https://[A-Za-z0-9.\-]+(:\d+)?/?$")

# provider -> (required keys, optional keys, key -> pattern)
CREDENTIAL_SHAPES: dict[Provider, tuple[frozenset[str], frozenset[str],
                                        dict[str, re.Pattern[str]]]] = {
    Provider.TWILIO: (frozenset({"account_sid", "auth_token"}), frozenset(),
                      {"account_sid": _TWILIO_SID, "auth_token": _HEX32}),
    Provider.INFOBIP: (frozenset({"api_key"}), frozenset({"base_url"}),
                       {"api_key": _TOKEN, "base_url": _HTTPS}),
    Provider.CM: (frozenset({"product_token"}), frozenset(), {"product_token": _UUID}),
    Provider.SIMULATOR: (frozenset(), frozenset(), {}),
}


def validate_credentials(provider: Provider | str, credentials: Any) -> dict[str, str]:
    """Check the credential document's shape for this provider; never echo values."""
    if credentials is None:
        credentials = {}
    if not isinstance(credentials, Mapping):
        raise ValidationError("credentials must be an object.", code="invalid_credentials",
                              field="credentials")
    try:
        provider = Provider(provider)
    except ValueError:
        raise ValidationError(f"Unknown provider {str(provider)[:30]!r}.",
                              code="invalid_provider", field="provider") from None
    required, optional, patterns = CREDENTIAL_SHAPES[provider]
    keys = set(credentials)
    if provider == Provider.SIMULATOR and keys:
        raise ValidationError("The simulator needs no credentials.",
                              code="invalid_credentials", field="credentials")
    unknown = keys - required - optional
    if unknown:
        raise ValidationError(
            f"Unknown credential field(s) for {provider}: {', '.join(sorted(unknown))}.",
            code="invalid_credentials", field="credentials")
    missing = required - keys
    if missing:
        raise ValidationError(
            f"{provider} credentials need: {', '.join(sorted(missing))}.",
            code="invalid_credentials", field="credentials")
    clean: dict[str, str] = {}
    for key, value in credentials.items():
        text = value.strip() if isinstance(value, str) else None
        if not text or not patterns[key].match(text):
            raise ValidationError(f"credentials.{key} is not a valid {provider} {key}.",
                                  code="invalid_credentials", field=f"credentials.{key}")
        clean[key] = text
    return clean


def open_credentials(box: SecretBox, sending_list: SendingList) -> dict[str, str]:
    """The list's credentials as the owner set them (checked then), or ``{}`` when none
    are set. Raises ``secret_unreadable`` when the installation's key changed since."""
    if not sending_list.credentials_sealed:
        return {}
    opened = box.open(sending_list.credentials_sealed)
    return {str(k): str(v) for k, v in opened.items()}
