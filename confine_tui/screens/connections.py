"""Connections: the `confine connections --all` table, filtered by interface, snap and state."""
from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select

from ..changes import ChangeRequest
from ..messages import ConnectionsLoaded, LoadFailed
from ..widgets.fast_table import Column, FastTable, Row
from ..widgets.search_input import SearchInput
from .base import AreaScreen

STATES = [("any state", "all"), ("connected", "connected"), ("not connected", "unconnected"),
          ("manual", "manual"), ("auto", "auto"), ("undesired", "undesired"), ("granted", "granted")]
NOTE_STYLE = {"manual": "yellow", "undesired": "magenta", "granted": "bold red"}


def _state_ok(row, state: str) -> bool:
    connected = row.plug is not None and row.slot is not None and not row.undesired
    return {
        "all": True,
        "connected": connected,
        "unconnected": not connected,
        "manual": connected and row.manual,
        "auto": connected and row.auto,
        "undesired": row.undesired,
        "granted": row.granted,
    }[state]


class ConnectionsScreen(AreaScreen):
    AREA = "connections"
    HELP = """\
## Connections

Every connection, and every plug and slot that is not connected (`confine connections
--all`). Filter by interface, by snap (either end) and by state. **enter** opens the
plug's snap in the Snaps area; **d** disconnects the selected connection."""

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="connections.filter"),
        Binding("d", "disconnect", "Disconnect", id="connections.disconnect"),
        Binding("escape", "to_table", "Table", show=False, id="connections.to-table"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.all_rows: list = []
        self._index: list[tuple[str, str, object]] = []

    def compose_body(self) -> ComposeResult:
        with Vertical(id="connections-body"):
            with Horizontal(classes="filters"):
                yield SearchInput(placeholder="interface", id="conn-iface", classes="filter",
                                  on_value=self.filter_changed)
                yield SearchInput(placeholder="snap", id="conn-snap", classes="filter", on_value=self.filter_changed)
                yield Select(STATES, value="all", allow_blank=False, compact=True, id="conn-state")
            yield FastTable([Column("Interface", 22), Column("Plug"), Column("Slot"), Column("Notes", 10)],
                            id="conn-table", empty="Loading...")
            yield Label("", id="conn-status", classes="status")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#conn-table", FastTable).focus()

    def reload(self) -> None:
        super().reload()
        self.load_rows(self.app.state_serial)

    @work(thread=True, name="load connections", group="connections", exclusive=True)
    def load_rows(self, serial: int) -> None:
        try:
            rows = self.app.backend.connections(all=True)
        except Exception as exc:  # noqa: BLE001
            self.post_message(LoadFailed("connections", str(exc)))
            return
        self.post_message(ConnectionsLoaded(rows, serial))

    def on_load_failed(self, message: LoadFailed) -> None:
        table = self.query_one("#conn-table", FastTable)
        table.empty_text = f"Cannot read the connections: {message.error}"
        table.set_rows([])

    def on_connections_loaded(self, message: ConnectionsLoaded) -> None:
        self.all_rows = message.rows
        self._index = []
        for r in message.rows:
            snaps = " ".join(ref.split(":")[0] or "system" for ref in (r.plug, r.slot) if ref)
            notes = r.notes
            row = Row((r.interface, r.plug, r.slot),
                      (r.interface, r.plug or "-", r.slot or "-",
                       Text(notes, style=NOTE_STYLE.get(notes.split(",")[0], "dim"))))
            self._index.append((r.interface.lower(), snaps.lower(), r, row))
        self.query_one("#conn-table", FastTable).empty_text = "No row matches the filters."
        self.apply_filter()
        self.app.settle_heap()          # the rows live until the next change

    def apply_filter(self) -> None:
        iface = self.query_one("#conn-iface", Input).value.strip().lower()
        snap = self.query_one("#conn-snap", Input).value.strip().lower()
        state = self.query_one("#conn-state", Select).value
        rows = [row for iface_l, snaps_l, r, row in self._index
                if (not iface or iface in iface_l) and (not snap or snap in snaps_l)
                and (state == "all" or _state_ok(r, state))]
        self.query_one("#conn-table", FastTable).set_rows(rows)
        self.query_one("#conn-status", Label).update(f"{len(rows)} of {len(self.all_rows)} rows")

    def filter_changed(self, value: str = "") -> None:
        if self._index or not self.all_rows:
            self.apply_filter()

    @on(Select.Changed, "#conn-state")
    def state_changed_filter(self) -> None:
        self.apply_filter()

    @on(Input.Submitted, ".filter")
    def filter_submitted(self) -> None:
        self.query_one("#conn-table", FastTable).focus()

    @on(FastTable.Selected, "#conn-table")
    def row_selected(self, event: FastTable.Selected) -> None:
        _, plug, slot = event.key
        ref = plug or slot
        snap = ref.split(":")[0]
        if not snap:
            self.notify("That is a slot of the system.", severity="information")
            return
        self.app.switch_area("snaps")
        self.app.call_after_refresh(lambda: self.app.area_screen("snaps").select_snap(snap))

    def action_filter(self) -> None:
        self.query_one("#conn-iface", Input).focus()

    def action_to_table(self) -> None:
        self.query_one("#conn-table", FastTable).focus()

    def action_disconnect(self) -> None:
        key = self.query_one("#conn-table", FastTable).current_key
        if key is None or not key[1] or not key[2]:
            self.notify("Select a connection first.", severity="warning")
            return
        interface, plug, slot = key
        self.app.request_change(ChangeRequest("disconnect", plug, slot, interface=interface))

    def commands(self):
        out = [("Connections: Filter", "Filter by interface, snap and state", self.action_filter)]
        key = self.query_one("#conn-table", FastTable).current_key
        if key and key[1] and key[2]:
            out.append((f"Connections: Disconnect {key[1]} {key[2]}", "Disconnect the selected connection",
                        self.action_disconnect))
        return out
