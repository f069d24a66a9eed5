"""Typed errors shared by every Compass package; each carries a message a user can act on."""

from __future__ import annotations


class CompassError(Exception):
    """Base class for errors whose message is meant for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigurationError(CompassError):
    """A setting is missing or invalid."""


class DatabaseUnavailableError(CompassError):
    """The configured database cannot be reached or used."""


class NotFoundError(CompassError):
    """A named thing (model, GPU, use case, deployment...) does not exist."""


class ValidationFailedError(CompassError):
    """Input was read but does not make sense (negative counts, wrong units, contradictions)."""


class ConflictError(CompassError):
    """The request clashes with the current state (a turn already running, nothing waiting for an answer)."""


class ImportFormatError(CompassError):
    """A file being imported is malformed; the message names the file, the JSON path and what was expected."""

    def __init__(self, file: str, path: str, expected: str, found: str | None = None) -> None:
        detail = f"{file}: at {path}: expected {expected}"
        if found is not None:
            detail += f", found {found}"
        super().__init__(detail)
        self.file = file
        self.path = path
        self.expected = expected
