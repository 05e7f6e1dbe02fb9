"""PlugRow: one plug (or one slot and a plug of another snap) of the selected snap.

A Switch where there is one candidate, a Select where there are several, nothing
where policy refuses every candidate. The note says auto, manual, undesired,
refused (with the rule) and super-privileged. While a change runs the row is
disabled and says so; the result (or the error) replaces the note.
"""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Label, Select, Switch

from ..changes import ChangeRequest
from ..messages import ChangeFinished
from ..rows import EndpointView

NOTE_STYLES = {"auto": "green", "manual": "yellow", "undesired": "magenta", "refused": "red", "none": "dim"}


class PlugRow(Horizontal):
    """A plug or slot of the snap, with its connection control."""

    HELP = """\
**A plug or slot.** space (or a click) flips the switch: connect or disconnect. Where
several slots fit, the list picks one (or "not connected"). **p** shows the profile
diff the flip would make, and applies it only if you accept. A super-privileged
interface asks first and says what it grants. The note says how the connection came
about: *auto* (the declaration made it), *manual* (the admin), *undesired* (an
auto-connection the admin undid), *refused* (the rule of the base declaration that
keeps it off)."""

    BINDINGS = [
        Binding("p", "preview", "Preview diff", id="row.preview"),
    ]

    class Requested(Message):
        """The admin flipped the row: `request` is the change to make (None: nothing)."""

        def __init__(self, row: "PlugRow", request: ChangeRequest, preview: bool = False) -> None:
            super().__init__()
            self.row = row
            self.request = request
            self.preview = preview

    def __init__(self, view: EndpointView) -> None:
        super().__init__(classes="plug-row")
        self.view = view
        self.busy = False
        self._had_focus = False

    def compose(self) -> ComposeResult:
        v = self.view
        with Vertical(classes="row-control"):
            if v.control == "switch":
                yield Switch(value=bool(v.connected), classes="compact", animate=False)
            elif v.control == "select":
                yield Select([(ref, ref) for ref in v.options], value=v.value or Select.NULL,
                             prompt="not connected", allow_blank=True, compact=True)
            else:
                yield Label("  -  ", classes="no-control")
        with Vertical(classes="row-text"):
            yield Label(self._title(), classes="row-title")
            yield Label(self._note(), classes="row-note")

    def _title(self) -> Text:
        v = self.view
        t = Text(v.label, style="bold")
        t.append(f"  {v.interface}", style="dim")
        return t

    def _note(self, override: str | None = None, style: str = "") -> Text:
        v = self.view
        t = Text()
        if v.side == "plug":
            t.append(f"{v.end.split(':', 1)[1]}", style="cyan")
            if v.connected:
                t.append(f" → {', '.join(v.connected)}", style="cyan")
        else:
            t.append(f"{v.end.split(':', 1)[1]}", style="cyan")
            if v.options:
                t.append(f" ← {v.options[0]}", style="cyan")
        t.append("  ")
        if override is not None:
            t.append(override, style=style)
        else:
            t.append(v.note, style=NOTE_STYLES.get(v.note_style, ""))
        if v.super_privileged:
            t.append("  super-privileged", style="bold red")
        return t

    # ---- updates ---------------------------------------------------------------

    def update_view(self, view: EndpointView, same_end: bool = True) -> bool:
        """Show `view` in place; False when the control must change kind (rebuild).

        same_end=False lets the row take another plug or slot (moving between snaps)."""
        if view.control != self.view.control:
            return False
        if view.control == "select" and view.options != self.view.options:
            return False
        if same_end and view.key != self.view.key:
            return False
        self.view = view
        if self.busy:
            return True
        self._show_value()
        self.query_one(".row-title", Label).update(self._title())
        self.query_one(".row-note", Label).update(self._note())
        return True

    def _show_value(self) -> None:
        v = self.view
        if v.control == "switch":
            switch = self.query_one(Switch)
            if switch.value != bool(v.connected):
                with switch.prevent(Switch.Changed):
                    switch.value = bool(v.connected)
        elif v.control == "select":
            select = self.query_one(Select)
            if select.value != (v.value or Select.NULL):
                with select.prevent(Select.Changed):
                    select.value = v.value or Select.NULL

    def set_busy(self, text: str | None) -> None:
        focused = self.app.focused
        self._had_focus = focused is not None and self in focused.ancestors
        self.busy = text is not None
        self.disabled = self.busy
        if text is not None:
            self.query_one(".row-note", Label).update(self._note(text, "italic yellow"))

    def on_change_finished(self, message: ChangeFinished) -> None:
        message.stop()
        self.finished(message.ok, message.message)

    def finished(self, ok: bool, message: str) -> None:
        """A change of this row ended: show the result (the reload brings the new state)."""
        self.busy = False
        self.disabled = False
        if not ok:
            self._show_value()
        note = self._note(message if message != "cancelled" else None, "green" if ok else "bold red")
        self.query_one(".row-note", Label).update(note)
        if getattr(self, "_had_focus", False) and self.app.focused is None:
            for control in self.query("Switch, Select"):
                control.focus()
                break

    # ---- the admin's flips ---------------------------------------------------------

    def request_for(self, target: bool | str | None) -> ChangeRequest | None:
        """The change that puts the row in state `target` (switch: on/off; select: a ref or None)."""
        v = self.view
        plug_of = (lambda other: v.end) if v.side == "plug" else (lambda other: other)
        slot_of = (lambda other: other) if v.side == "plug" else (lambda other: v.end)
        if v.control == "switch":
            other = v.options[0]
            if target:
                return ChangeRequest("connect", plug_of(other), slot_of(other), interface=v.interface)
            return ChangeRequest("disconnect", plug_of(other), slot_of(other), interface=v.interface)
        if v.control == "select":
            if target is None:
                if not v.connected:
                    return None
                return ChangeRequest("disconnect", v.end, v.connected[0], interface=v.interface)
            if target in v.connected:
                return None
            return ChangeRequest("connect", v.end, str(target), interface=v.interface,
                                 replace=v.connected[0] if v.connected else None)
        return None

    def current_toggle(self) -> ChangeRequest | None:
        """The change a flip would make now (for the preview key)."""
        v = self.view
        if v.control == "switch":
            return self.request_for(not v.connected)
        if v.control == "select":
            select = self.query_one(Select)
            chosen = None if select.value is Select.NULL else select.value
            if chosen == v.value:
                return self.request_for(None) if v.connected else self.request_for(v.options[0])
            return self.request_for(chosen)
        return None

    def on_switch_changed(self, event: Switch.Changed) -> None:
        event.stop()
        request = self.request_for(event.value)
        if request is not None:
            self.post_message(self.Requested(self, request))

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        value = None if event.value is Select.NULL else event.value
        request = self.request_for(value)
        if request is not None:
            self.post_message(self.Requested(self, request))

    def action_preview(self) -> None:
        request = self.current_toggle()
        if request is None:
            self.notify("Nothing to change on this row.", severity="warning")
            return
        self.post_message(self.Requested(self, request, preview=True))
