"""Plain data shared by every face (CLI, console, scripts).

These classes carry no behaviour beyond naming; the engine fills them in and a face
shows them. They are frozen so a face can hold them across worker threads.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SYSTEM_SNAP = "system"


@dataclass(frozen=True)
class Endpoint:
    """What plugs and slots share: `apps` and `hooks` are those the end is bound to."""

    snap: str
    name: str
    interface: str
    attrs: dict[str, Any] = field(default_factory=dict)
    apps: tuple[str, ...] = ()
    hooks: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        return f"{self.snap}:{self.name}"


@dataclass(frozen=True)
class Plug(Endpoint):
    """The consuming end of an interface."""


@dataclass(frozen=True)
class Slot(Endpoint):
    """The providing end of an interface."""

    @property
    def ref(self) -> str:
        # The system snap's slots show as ":name", as `snap connections` shows them.
        return f":{self.name}" if self.snap == SYSTEM_SNAP else f"{self.snap}:{self.name}"


@dataclass(frozen=True)
class App:
    snap: str
    name: str
    command: str
    daemon: str | None = None
    plugs: tuple[str, ...] = ()
    slots: tuple[str, ...] = ()

    @property
    def security_tag(self) -> str:
        return f"snap.{self.snap}.{self.name}"


@dataclass(frozen=True)
class Hook:
    snap: str
    name: str
    plugs: tuple[str, ...] = ()
    slots: tuple[str, ...] = ()

    @property
    def security_tag(self) -> str:
        return f"snap.{self.snap}.hook.{self.name}"


@dataclass(frozen=True)
class Snap:
    name: str
    version: str
    summary: str = ""
    description: str = ""
    confinement: str = "strict"
    base: str | None = None
    type: str = "app"
    revision: str = ""
    path: str = ""
    example: bool = False
    grants: tuple[str, ...] = ()
    apps: dict[str, App] = field(default_factory=dict)
    hooks: dict[str, Hook] = field(default_factory=dict)
    plugs: dict[str, Plug] = field(default_factory=dict)
    slots: dict[str, Slot] = field(default_factory=dict)


@dataclass(frozen=True)
class Interface:
    """One entry of the catalogue, as a face shows it."""

    name: str
    summary: str
    label: str
    description: str = ""
    super_privileged: bool = False
    warning: str = ""
    implicit_on_classic: bool = False
    implicit_on_core: bool = False
    controls_device_cgroup: bool = False
    plug_attributes: dict[str, dict] = field(default_factory=dict)
    slot_attributes: dict[str, dict] = field(default_factory=dict)
    base_declaration: dict[str, Any] = field(default_factory=dict)
    snippets: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Connection:
    """A connection (or an undesired former auto-connection) between a plug and a slot."""

    interface: str
    plug: Plug
    slot: Slot
    auto: bool = False
    undesired: bool = False
    granted: bool = False

    @property
    def id(self) -> str:
        return f"{self.plug.snap}:{self.plug.name} {self.slot.snap}:{self.slot.name}"

    @property
    def manual(self) -> bool:
        return not self.auto


@dataclass(frozen=True)
class ConnectionRow:
    """One row of `confine connections`: a connection, or an unconnected plug or slot."""

    interface: str
    plug: str | None
    slot: str | None
    manual: bool = False
    auto: bool = False
    undesired: bool = False
    granted: bool = False

    @property
    def notes(self) -> str:
        notes = []
        if self.undesired:
            notes.append("undesired")
        elif self.manual:
            notes.append("manual")
        if self.granted:
            notes.append("granted")
        return ",".join(notes) or "-"

    def to_json(self) -> dict:
        return {
            "interface": self.interface,
            "plug": self.plug,
            "slot": self.slot,
            "manual": self.manual,
            "auto": self.auto,
            "undesired": self.undesired,
            "granted": self.granted,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Refusal:
    """A plug or slot that policy kept from being installed or auto-connected."""

    what: str
    reason: str
    rule: str


@dataclass(frozen=True)
class InstallResult:
    snap: Snap
    connected: tuple[Connection, ...] = ()
    not_connected: tuple[Refusal, ...] = ()
    granted: tuple[str, ...] = ()
