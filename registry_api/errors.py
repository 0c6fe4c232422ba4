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
    """The request was understood but fields are invalid; `fields` names every bad one."""

    status = 422
    code = "validation_failed"


class NotFound(RegistryError):
    """Absent, or outside the caller's scope: the two are indistinguishable on purpose."""

    status = 404
    code = "not_found"
