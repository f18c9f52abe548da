"""The one error tree of core. Faces map these to HTTP answers or Discord replies."""

from __future__ import annotations


class TracklyError(Exception):
    """Base of every error core raises on purpose.

    ``message`` is a human sentence safe to show to the caller; ``code`` is the stable
    snake_case identifier clients match on.
    """

    code = "error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.detail = detail


class NotFound(TracklyError):
    code = "not_found"


class AuthenticationFailed(TracklyError):
    """No credential, or one we do not know (401)."""

    code = "invalid_api_key"


class PermissionDenied(TracklyError):
    code = "forbidden"


class AccountSuspended(PermissionDenied):
    code = "account_suspended"


class ValidationError(TracklyError):
    code = "validation_error"


class Conflict(TracklyError):
    code = "conflict"


class QuotaExceeded(TracklyError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after
