"""Domain errors of the registry, each with the HTTP status and code it maps to.

`app.py` turns them, and every other failure, into
`{"error": {"code": ..., "message": ..., "fields": {...}}}` in one place.
"""

from __future__ import annotations

from collections.abc import Mapping


class RegistryError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class ValidationFailed(RegistryError):
    """The body was read but fields are invalid; `fields` names every bad one."""

    status = 422
    code = "validation_failed"


class NotFound(RegistryError):
    """Absent, or outside the caller's scope: the two answer alike, so ids cannot be probed."""

    status = 404
    code = "not_found"


class Unauthenticated(RegistryError):
    status = 401
    code = "unauthenticated"


class Forbidden(RegistryError):
    """In scope, but the caller's role may not do this."""

    status = 403
    code = "forbidden"


class PasswordChangeRequired(RegistryError):
    status = 403
    code = "password_change_required"


class RetryLater(RegistryError):
    """Refused for now: `retry_after` seconds until it may be tried again (Retry-After)."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Locked(RetryLater):
    """Too many failed sign-ins."""

    status = 423
    code = "locked"


class TooManyRequests(RetryLater):
    """A rate limit is spent until its window ends."""

    status = 429
    code = "too_many_requests"


class Conflict(RegistryError):
    status = 409
    code = "conflict"


class PreconditionFailed(RegistryError):
    """The If-Match version is not the record's: someone changed it since it was read."""

    status = 412
    code = "precondition_failed"


class UnsupportedMediaType(RegistryError):
    """A body in a media type other than JSON."""

    status = 415
    code = "unsupported_media_type"


class PreconditionRequired(RegistryError):
    status = 428
    code = "precondition_required"
