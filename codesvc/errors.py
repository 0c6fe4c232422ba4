"""Domain errors of codesvc; the resolver maps them to pages in one place (`app.py`)."""

from __future__ import annotations


class CodesvcError(Exception):
    """Base of every error codesvc raises on purpose."""
