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


class SpendCapExceeded(Conflict):
    """A launch whose estimate would take the month past the account's spend cap."""

    code = "spend_cap_exceeded"

    def __init__(self, message: str, *, estimate: object, cap: object, month_spent: object,
                 segments: int) -> None:
        super().__init__(message, detail=(
            f"estimated_cost={estimate} segments={segments} month_spent={month_spent} "
            f"spend_cap={cap}"))
        self.estimate = estimate
        self.cap = cap
        self.month_spent = month_spent
        self.segments = segments


class QuotaExceeded(TracklyError):
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after
