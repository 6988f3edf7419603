"""The one error an export raises: a sentence for the technician (the CLI prints it and exits
2 for bad arguments, 1 otherwise)."""

from __future__ import annotations


class ExportError(Exception):
    """The export cannot be done as asked (a file exists, a bad output path, ...)."""


__all__ = ["ExportError"]
