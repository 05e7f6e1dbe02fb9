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


# The keys of a denial as `confine denials --json` prints them (issue 5), in order.
DENIAL_KEYS = ("kind", "mode", "operation", "profile", "snap", "app", "name", "requested", "denied",
               "capability", "family", "syscall", "syscall_nr", "arch", "action", "pid", "comm", "exe",
               "epoch", "serial", "explanation", "suggestions")


@dataclass(frozen=True)
class Denial:
    """One kernel (or dbus-daemon) audit record about confinement, decoded.

    kind: apparmor, seccomp, landlock, dbus or unparsed. mode: DENIED, ALLOWED,
    AUDIT, STATUS (AppArmor's word; a seccomp `log` or `allow` action is ALLOWED,
    any other action DENIED; a Landlock access record is DENIED and a Landlock
    domain record STATUS); `is_denial` says whether it refused something.
    app is the app name or "hook.NAME" for a hook. epoch and serial come from
    the record's `audit(epoch:serial)` stamp. line is the 1-based input line
    where the record starts and raw its text (several lines joined with "\\n"
    for a record that spans lines). reason says why a record is kind unparsed.
    fields holds every decoded key=value of the record (records merged into it,
    such as the SYSCALL record of a Landlock event, under "<type>.<key>").
    cls is the rule class: file, capability, network, unix, signal, ptrace,
    mount, dbus, userns, ... for AppArmor; syscall for seccomp; fs, net, scope
    or ptrace for Landlock.
    """

    kind: str
    mode: str | None = None
    operation: str | None = None
    profile: str | None = None
    snap: str | None = None
    app: str | None = None
    name: str | None = None
    requested: str | None = None
    denied: str | None = None
    capability: str | None = None
    family: str | None = None
    syscall: str | None = None
    syscall_nr: int | None = None
    arch: str | None = None
    action: str | None = None
    pid: int | None = None
    comm: str | None = None
    exe: str | None = None
    epoch: float | None = None
    serial: int | None = None
    explanation: str | None = None
    suggestions: tuple = field(default=(), hash=False)
    line: int = 0
    raw: str = ""
    reason: str | None = None
    cls: str | None = None
    fields: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @property
    def is_denial(self) -> bool:
        return self.mode == "DENIED"

    def to_json(self) -> dict:
        out: dict[str, Any] = {k: getattr(self, k) for k in DENIAL_KEYS}
        out["suggestions"] = [s.to_json() if hasattr(s, "to_json") else s for s in self.suggestions]
        out["line"] = self.line
        out["raw"] = self.raw
        if self.kind == "unparsed":
            out["reason"] = self.reason
        return out


@dataclass(frozen=True)
class Candidate:
    """A connection a plug and a slot could have, and what the base declaration says of it.

    allowed: the admin may connect them (by the declaration, or by a grant: granted).
    auto: the declaration would connect them by itself. rule and reason: the rule that
    refuses the connection (allowed False) or else the auto-connection (auto False).
    connection: their connection in the state (also an undesired one), if any.
    """

    plug: Plug
    slot: Slot
    allowed: bool
    auto: bool = False
    granted: bool = False
    rule: str = ""
    reason: str = ""
    connection: Connection | None = None


# The keys of a process as `confine ps --json` prints them (issue 4), in order.
PROCESS_KEYS = ("pid", "ppid", "target", "snap", "app", "tag", "run", "found_by", "command", "user", "uid",
                "seccomp", "seccomp_filters", "no_new_privs", "label", "cgroup", "cpu_seconds", "cpu_percent",
                "memory_rss", "started")


@dataclass(frozen=True)
class Process:
    """A running process of a confined app, as /proc and psutil show it.

    target is `snap.app` (tag `snap.<snap>.<app>`; app is "hook.NAME" for a hook).
    run is the pid of the `confine run` that started it, when its device cgroup
    names it. found_by says how it was recognised: "cgroup" (the device cgroup of
    its run) or "environment" (the launcher's SNAP_SECURITY_TAG mark, for runs
    without a device cgroup). seccomp is the kernel's mode (disabled, strict,
    filter) and seccomp_filters the number of filters stacked on it. label is the
    AppArmor label where AppArmor confines it, else "landlock" when its launch
    plan applied Landlock, else "unconfined". cgroup is its device cgroup (v1
    devices or v2 path), if any. cpu_seconds is user+system time, cpu_percent
    that time over its lifetime (as ps(1) computes %CPU), memory_rss bytes,
    started the Unix time it started.
    """

    pid: int
    target: str
    snap: str
    app: str
    tag: str
    ppid: int | None = None
    run: int | None = None
    found_by: str = "cgroup"
    command: str = ""
    user: str = ""
    uid: int | None = None
    seccomp: str = ""
    seccomp_filters: int | None = None
    no_new_privs: bool | None = None
    label: str = ""
    cgroup: str | None = None
    cpu_seconds: float = 0.0
    cpu_percent: float = 0.0
    memory_rss: int = 0
    started: float = 0.0

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in PROCESS_KEYS}
