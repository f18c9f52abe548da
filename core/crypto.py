"""Secrets at rest: provider credentials and webhook secrets, sealed with a key
derived from the installation's secret key."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from core.errors import TracklyError


class SecretBox:
    """Encrypts small JSON documents (credentials) with Fernet (AES-128-CBC + HMAC)."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=b"trackly", info=b"secrets-at-rest/v1"
        ).derive(secret_key.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, document: dict[str, Any]) -> str:
        raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")
        return self._fernet.encrypt(raw).decode("ascii")

    def open(self, token: str) -> dict[str, Any]:
        try:
            return json.loads(self._fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, ValueError) as exc:
            raise TracklyError(
                "Stored secret cannot be decrypted; was TRACKLY_SECRET_KEY changed?",
                code="secret_unreadable",
            ) from exc
