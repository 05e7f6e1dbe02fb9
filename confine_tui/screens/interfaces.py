"""Interfaces: the catalogue, what each interface grants, and which snaps plug or slot it."""
from __future__ import annotations

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static

from ..describe import grant_text
from ..messages import CatalogueLoaded, InterfaceUsersLoaded, LoadFailed
from ..widgets.fast_table import Column, FastTable, Row
from ..widgets.search_input import SearchInput
from .base import AreaScreen


class InterfacesScreen(AreaScreen):
    AREA = "interfaces"
    HELP = """\
## Interfaces

The catalogue: every interface with its label, what it grants on each layer (AppArmor
rules, seccomp syscalls, udev devices, kernel modules, Landlock paths and network),
its base declaration, and the snaps that plug or slot it. A red **!** marks a
super-privileged interface."""

    BINDINGS = [
        Binding("slash", "search", "Search", id="interfaces.search"),
        Binding("escape", "to_table", "Table", show=False, id="interfaces.to-table"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.catalogue: list = []
        self.selected: str | None = None
        self.users: dict[str, tuple[list, list]] = {}

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="interfaces-body"):
            with Vertical(id="interfaces-left", classes="left-pane"):
                yield SearchInput(placeholder="search interfaces  (/)", id="iface-search",
                                  on_value=lambda value: self.apply_filter())
                yield FastTable([Column("Interface"), Column("", 1)], id="iface-table", empty="Loading...")
            with VerticalScroll(id="iface-detail", classes="detail-pane"):
                yield Static("", id="iface-text")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#iface-table", FastTable).focus()

    def reload(self) -> None:
        super().reload()
        self.users = {}
        self.load_catalogue()
        if self.selected:
            self.load_users(self.selected)

    @work(thread=True, name="load interfaces", group="interfaces", exclusive=True)
    def load_catalogue(self) -> None:
        self.post_message(CatalogueLoaded(sorted(self.app.backend.interfaces(), key=lambda i: i.name)))

    def on_catalogue_loaded(self, message: CatalogueLoaded) -> None:
        message.stop()
        self.catalogue = message.interfaces
        self.apply_filter()

    def apply_filter(self) -> None:
        q = self.query_one("#iface-search", Input).value.strip().lower()
        rows = [Row(i.name, (i.name, Text("!", style="bold red") if i.super_privileged else ""))
                for i in self.catalogue
                if not q or q in i.name or q in i.label.lower() or q in i.summary.lower()]
        table = self.query_one("#iface-table", FastTable)
        table.empty_text = "No interface matches."
        table.set_rows(rows)

    @on(Input.Submitted, "#iface-search")
    def search_submitted(self) -> None:
        self.query_one("#iface-table", FastTable).focus()

    @on(FastTable.Highlighted, "#iface-table")
    def highlighted(self, event: FastTable.Highlighted) -> None:
        if event.key is None:
            return
        self.selected = event.key
        self.show_detail()
        if event.key not in self.users:
            self.load_users(event.key)

    def load_users(self, name: str) -> None:
        def work() -> None:
            try:
                plugs, slots = self.app.backend.interface_users(name)
            except Exception as exc:  # noqa: BLE001
                self.post_message(LoadFailed(f"interface {name}", str(exc)))
                return
            self.post_message(InterfaceUsersLoaded(name, plugs, slots))

        self.run_worker(work, name=f"load users of {name}", group="interface-users", exclusive=True, thread=True)

    def on_interface_users_loaded(self, message: InterfaceUsersLoaded) -> None:
        self.users[message.name] = (message.plugs, message.slots)
        if message.name == self.selected:
            self.show_detail()

    def show_detail(self) -> None:
        iface = next((i for i in self.catalogue if i.name == self.selected), None)
        if iface is None:
            return
        t = Text()
        t.append(iface.label, style="bold")
        t.append(f"  {iface.name}\n", style="dim")
        t.append(iface.summary + "\n", style="italic")
        if iface.super_privileged:
            t.append("super-privileged: ", style="bold red")
            t.append((iface.warning or "close to root") + "\n")
        if iface.description:
            t.append("\n" + iface.description.strip() + "\n")
        implicit = [k for k, v in (("classic", iface.implicit_on_classic), ("core", iface.implicit_on_core)) if v]
        t.append("\nThe system offers a slot on: ", style="bold")
        t.append((", ".join(implicit) or "neither (a snap must offer it)") + "\n")
        t.append("\nWhat a connected plug grants\n", style="bold underline")
        t.append_text(grant_text(iface, "plug"))
        slot_side = grant_text(iface, "slot")
        if "Nothing beyond" not in slot_side.plain:
            t.append("\nWhat the slot side gets\n", style="bold underline")
            t.append_text(slot_side)
        decl = iface.base_declaration
        if decl:
            t.append("\nBase declaration\n", style="bold underline")
            for side, rules in decl.items():
                for rule, value in (rules or {}).items():
                    t.append(f"  {side}.{rule}: ", style="cyan")
                    t.append(f"{value}\n")
        users = self.users.get(iface.name)
        t.append("\nPlugged by: ", style="bold")
        if users is None:
            t.append("loading...\n", style="dim")
        else:
            plugs, slots = users
            t.append((", ".join(p.ref for p in plugs) or "no installed snap") + "\n")
            t.append("Slotted by: ", style="bold")
            t.append((", ".join(s.ref if s.snap != "system" else f"system ({s.ref})" for s in slots)
                      or "no installed snap") + "\n")
        self.query_one("#iface-text", Static).update(t)

    def action_search(self) -> None:
        self.query_one("#iface-search", Input).focus()

    def action_to_table(self) -> None:
        self.query_one("#iface-table", FastTable).focus()

    def commands(self):
        return [("Interfaces: Search", "Type to narrow the catalogue", self.action_search)]
