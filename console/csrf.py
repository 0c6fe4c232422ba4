"""CSRF tokens of the console's forms.

A browser gets an anchor: a random value in an HttpOnly, SameSite=Strict cookie. Every
form carries HMAC(key, anchor) in a hidden field; a POST whose field does not match its
anchor is refused before anything runs. Another site can neither read the cookie nor
compute the field, and a Strict cookie is not even sent with its requests. Signing in
gives a new anchor, so a token seen before sign-in is worth nothing after.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

ANCHOR_COOKIE = "sc_csrf"
FIELD = "csrf"


def new_anchor() -> str:
    return secrets.token_urlsafe(32)


def form_token(key: bytes, anchor: str) -> str:
    """The value the forms of a browser holding `anchor` carry."""
    return hmac.new(key, anchor.encode(), hashlib.sha256).hexdigest()


def token_matches(key: bytes, anchor: str | None, token: str | None) -> bool:
    if not anchor or not token:
        return False
    return hmac.compare_digest(form_token(key, anchor), token)


def key_from_master(master_key: bytes) -> bytes:
    """The console's CSRF key: derived, so the master key itself never signs a form."""
    return hmac.new(master_key, b"safecode console csrf v1", hashlib.sha256).digest()
