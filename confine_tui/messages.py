"""The typed messages that engine workers post back to the console's screens.

Workers run engine calls in threads; they never touch widgets. They post one of
these to the screen (or the app), whose handler updates the widgets.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


class StateFileChanged(Message):
    """ROOT/state.json was replaced (by this console, `confine` in a shell, or a script)."""


@dataclass
class CatalogueLoaded(Message):
    interfaces: list


@dataclass
class SnapsLoaded(Message):
    snaps: list
    connections: list
    serial: int = 0


@dataclass
class SnapDetailLoaded(Message):
    name: str
    snap: Any
    candidates: list
    serial: int = 0


@dataclass
class ConnectionsLoaded(Message):
    rows: list
    serial: int = 0


@dataclass
class InterfaceUsersLoaded(Message):
    name: str
    plugs: list
    slots: list


@dataclass
class ProfileLoaded(Message):
    target: str
    kind: str
    text: str
    error: str = ""


@dataclass
class PreviewLoaded(Message):
    diffs: dict
    error: str = ""


@dataclass
class DoctorLoaded(Message):
    layers: list
    error: str = ""


@dataclass
class ProcessesLoaded(Message):
    processes: list
    error: str = ""


@dataclass
class LoadFailed(Message):
    """An engine call that reads failed; `what` says which view it was for."""

    what: str
    error: str


@dataclass
class ExamplesInstalled(Message):
    count: int
    error: str = ""


@dataclass
class ChangeFinished(Message):
    """A change (connect, disconnect, reset, silence) ended: ok, or the error's message."""

    request: Any
    ok: bool
    message: str
    result: Any = None


@dataclass
class OutputLines(Message):
    """Lines printed by an app launched from the console."""

    run_id: int
    lines: list = field(default_factory=list)
    ended: bool = False
    status: int | None = None
