"""Domain errors of codesvc. The resolver maps them to pages, the registry to JSON, the CLI
to one line: each in one place."""

from __future__ import annotations


class CodesvcError(Exception):
    """Base of every error codesvc raises on purpose."""


class NotFoundError(CodesvcError):
    """No such key or code."""


class KeyStateError(CodesvcError):
    """The key cannot go from its status to the one asked for."""


class CodeStateError(CodesvcError):
    """The code cannot go from its status to the one asked for."""


class InvalidArgument(CodesvcError):
    """An argument that no call could accept (empty subject, missing reason)."""
