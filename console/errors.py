"""The console's own refusals, beside the registry's errors it shows as pages."""

from __future__ import annotations


class SignInNeeded(Exception):
    """No session, or it has ended: the page sends the reader to sign in and back."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("sign in needed")
        self.expired = expired  # a session was there and has ended (idle, expired, signed out)


class CsrfRefused(Exception):
    """A POST without the form token of this browser: refused before anything runs."""


class BadForm(Exception):
    """A POST that is not a form this console sent (wrong media type, not UTF-8, too many
    fields)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
