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
