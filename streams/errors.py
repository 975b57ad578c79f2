"""Errors a user can fix; the CLI prints their message as one line, never a traceback."""

from __future__ import annotations


class CliError(Exception):
    """A failure the user can fix; the message says how."""
