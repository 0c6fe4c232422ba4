"""Errors of the command line, each printed as one line (exit code 1)."""

from __future__ import annotations


class CommandError(Exception):
    """A command cannot go on; its message is printed as one line and the exit code is 1."""


class NotGenuine(Exception):
    """`safecode verify`'s answer for a code that is not genuine (exit code 1)."""
