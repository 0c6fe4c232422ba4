"""Which representation of a scan to send: pure functions of the request's headers."""

from __future__ import annotations

from typing import Literal

Media = Literal["html", "json", "linkset"]
MEDIA_TYPES: dict[Media, str] = {
    "html": "text/html; charset=utf-8",
    "json": "application/json",
    "linkset": "application/linkset+json",
}
_KNOWN: dict[str, Media] = {
    "text/html": "html",
    "application/xhtml+xml": "html",
    "application/json": "json",
    "application/linkset+json": "linkset",
}
_WILDCARDS: dict[str, Media] = {"*/*": "html", "text/*": "html", "application/*": "json"}
_PREFERENCE: dict[Media, int] = {"html": 2, "json": 1, "linkset": 0}


def choose_media(accept: str | None) -> Media | None:
    """The representation the client prefers, HTML when it does not say; None when it
    accepts none of ours (406). Exact types beat wildcards at the same quality."""
    if accept is None or not accept.strip():
        return "html"
    best: tuple[float, int, int, Media] | None = None
    for item in accept.split(",")[:32]:
        media_range, _, params = item.strip().partition(";")
        media_range = media_range.strip().lower()
        quality = _quality(params)
        if quality is None or quality <= 0:
            continue
        if media_range in _KNOWN:
            media, specificity = _KNOWN[media_range], 2
        elif media_range in _WILDCARDS:
            media, specificity = _WILDCARDS[media_range], 0 if media_range == "*/*" else 1
        else:
            continue
        candidate = (quality, specificity, _PREFERENCE[media], media)
        if best is None or candidate[:3] > best[:3]:
            best = candidate
    return None if best is None else best[3]


def _quality(params: str) -> float | None:
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                return None
            return quality if 0 <= quality <= 1 else None
    return 1.0
