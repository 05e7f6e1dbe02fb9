"""The engine's error types. Every face turns these into a message and an exit code.

A ConfineError is an expected failure with a message meant for an admin; anything
else escaping the engine is a bug.
"""
from __future__ import annotations


class ConfineError(Exception):
    """An expected failure, reported to the user without a traceback."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class SourceError(ConfineError):
    """Bad input in a file: names the file, the line and the field."""

    def __init__(self, file: str, line: int | None, field: str, message: str):
        self.file = file
        self.line = line
        self.field = field
        self.reason = message
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {field}: {message}" if field else f"{where}: {message}")


class ManifestError(SourceError):
    """A snap.yaml that cannot be accepted."""


class CatalogueError(SourceError):
    """An interface data file that cannot be accepted (a bug in the engine's data)."""


class RefusedError(ConfineError):
    """Policy refused an operation; `rule` names the rule that refused it."""

    def __init__(self, message: str, rule: str = ""):
        self.rule = rule
        super().__init__(f"{message} ({rule})" if rule else message)


class NotFoundError(ConfineError):
    """A snap, plug, slot, interface or connection that does not exist."""


class PrivilegeError(ConfineError):
    """A change attempted without root."""


class StateError(ConfineError):
    """The state on disk cannot be read (corrupt, newer schema) or written."""


class UsageError(ConfineError):
    """The request itself is malformed (exit code 2, like a command-line usage error)."""

    exit_code = 2
