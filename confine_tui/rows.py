"""Presentation helpers: turn the engine's values into what a row shows. No policy here:
every decision (may connect, auto-connects, which rule refuses) comes from the engine's
Candidate values; this only groups them and words them."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rich.text import Text

CONFINEMENT_STYLE = {"strict": "green", "classic": "yellow", "devmode": "red"}


@dataclass(frozen=True)
class Badges:
    manual: int = 0        # connections made (or undone) by the admin
    undesired: int = 0     # auto-connections the admin disconnected
    denials: int = 0
    running: int = 0

    def text(self) -> Text:
        t = Text()
        for count, letter, style in ((self.manual, "M", "yellow"), (self.undesired, "U", "magenta"),
                                     (self.denials, "D", "bold red"), (self.running, "R", "bold green")):
            if count:
                if t:
                    t.append(" ")
                t.append(f"{letter}{count}", style=style)
        return t

    def words(self) -> str:
        parts = []
        if self.manual:
            parts.append(f"{self.manual} connection{'s' * (self.manual != 1)} made by the admin")
        if self.undesired:
            parts.append(f"{self.undesired} auto-connection{'s' * (self.undesired != 1)} disconnected (undesired)")
        if self.denials:
            parts.append(f"{self.denials} denial{'s' * (self.denials != 1)} seen")
        if self.running:
            parts.append(f"{self.running} running")
        return ", ".join(parts)


def connection_counts(connections) -> tuple[Counter, Counter]:
    """Per snap: manual connections and undesired auto-connections (either end)."""
    manual: Counter = Counter()
    undesired: Counter = Counter()
    for c in connections:
        ends = {c.plug.snap, c.slot.snap} - {"system"}
        for snap in ends:
            if c.undesired:
                undesired[snap] += 1
            elif not c.auto:
                manual[snap] += 1
    return manual, undesired


def confinement_text(confinement: str) -> Text:
    return Text(confinement, style=CONFINEMENT_STYLE.get(confinement, ""))


@dataclass(frozen=True)
class EndpointView:
    """One row of a snap's plugs or slots."""

    key: str                         # stable across reloads
    side: str                        # plug or slot
    interface: str
    label: str                       # the interface's human label
    end: str                         # this snap's plug or slot ref
    peer_side: str                   # what the control picks: slot (for a plug) or plug (for a slot)
    options: tuple[str, ...] = ()    # refs the admin may connect to
    connected: tuple[str, ...] = ()  # refs connected now (not undesired)
    note: str = ""
    note_style: str = ""             # auto, manual, undesired, refused, none
    super_privileged: bool = False
    control: str = "none"            # switch, select, none
    auto: bool = False               # the current connection is an auto-connection

    @property
    def value(self) -> str | None:
        return self.connected[0] if self.connected else None


def _note(conn, candidates, allowed) -> tuple[str, str]:
    if conn is not None and not conn.undesired:
        if conn.auto:
            return "auto", "auto"
        return ("manual, granted by the admin" if conn.granted else "manual"), "manual"
    if conn is not None and conn.undesired:
        return "undesired: auto-connection disconnected by the admin", "undesired"
    if not candidates:
        return "no slot of this interface is installed", "none"
    if not allowed:
        first = candidates[0]
        return f"refused ({first.rule})" if first.rule else f"refused: {first.reason}", "refused"
    first = allowed[0]
    if not first.auto:
        return f"refused auto-connection ({first.rule})" if first.rule else "not connected", "refused"
    return "not connected", "none"


def endpoint_views(snap, candidates, interfaces: dict) -> tuple[list[EndpointView], list[EndpointView]]:
    """The rows of a snap: one per plug (a Switch for one slot, a Select for several),
    one per slot and plug that could connect to it (a Switch each)."""
    plugs: list[EndpointView] = []
    for plug in snap.plugs.values():
        iface = interfaces.get(plug.interface)
        cands = [c for c in candidates if c.plug.snap == snap.name and c.plug.name == plug.name]
        allowed = [c for c in cands if c.allowed]
        live = [c for c in cands if c.connection is not None and not c.connection.undesired]
        undesired = [c for c in cands if c.connection is not None and c.connection.undesired]
        conn = live[0].connection if live else (undesired[0].connection if undesired else None)
        note, style = _note(conn, cands, allowed)
        options = tuple(dict.fromkeys([c.slot.ref for c in allowed] + [c.slot.ref for c in live]))
        control = "switch" if len(options) == 1 else ("select" if len(options) > 1 else "none")
        plugs.append(EndpointView(
            key=f"plug {plug.ref}", side="plug", interface=plug.interface,
            label=iface.label if iface else plug.interface, end=plug.ref, peer_side="slot",
            options=options, connected=tuple(c.slot.ref for c in live), note=note, note_style=style,
            super_privileged=bool(iface and iface.super_privileged), control=control,
            auto=bool(conn and conn.auto and not conn.undesired)))
    slots: list[EndpointView] = []
    for slot in snap.slots.values():
        iface = interfaces.get(slot.interface)
        cands = [c for c in candidates if c.slot.snap == snap.name and c.slot.name == slot.name
                 and c.plug.snap != snap.name]
        if not cands:
            slots.append(EndpointView(key=f"slot {slot.ref}", side="slot", interface=slot.interface,
                                      label=iface.label if iface else slot.interface, end=slot.ref,
                                      peer_side="plug", note="no installed snap plugs it", note_style="none",
                                      super_privileged=bool(iface and iface.super_privileged)))
        for c in cands:
            conn = c.connection
            note, style = _note(conn, [c], [c] if c.allowed else [])
            live = conn is not None and not conn.undesired
            slots.append(EndpointView(
                key=f"slot {slot.ref} {c.plug.ref}", side="slot", interface=slot.interface,
                label=iface.label if iface else slot.interface, end=slot.ref, peer_side="plug",
                options=(c.plug.ref,) if c.allowed or live else (), connected=(c.plug.ref,) if live else (),
                note=note, note_style=style, super_privileged=bool(iface and iface.super_privileged),
                control="switch" if (c.allowed or live) else "none", auto=bool(live and conn.auto)))
    return plugs, slots


@dataclass
class Filter:
    """A query over text fields: free words match anywhere, `field:value` one field."""

    words: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, query: str, known: tuple[str, ...] = ()) -> "Filter":
        f = cls()
        for token in query.lower().split():
            name, sep, value = token.partition(":")
            if sep and name in known and value:
                f.fields[name] = value
            else:
                f.words.append(token)
        return f

    def __bool__(self) -> bool:
        return bool(self.words or self.fields)

    def match(self, haystack: str, values: dict[str, str]) -> bool:
        for name, want in self.fields.items():
            if want not in (values.get(name) or "").lower():
                return False
        return all(w in haystack for w in self.words)
