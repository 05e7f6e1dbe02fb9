"""Snaps (the home area): every snap with its badges, search as you type, and the
selected snap's plugs and slots with their switches."""
from __future__ import annotations

import time

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input

from ..changes import ChangeRequest
from ..messages import LoadFailed, SnapDetailLoaded, SnapsLoaded
from ..rows import Badges, confinement_text, connection_counts, endpoint_views
from ..widgets.fast_table import Column, FastTable, Row
from ..widgets.plug_row import PlugRow
from ..widgets.search_input import SearchInput
from ..widgets.snap_detail import SnapDetail
from .base import AreaScreen


class SnapsScreen(AreaScreen):
    AREA = "snaps"
    HELP = """\
## Snaps

The list shows every installed snap; type in the search box (**/**) to narrow it.
Badges: **M** connections made by the admin, **U** auto-connections the admin
disconnected (undesired), **D** denials seen, **R** apps running.
Select a snap to see its plugs and slots; flip a switch to connect or disconnect."""

    BINDINGS = [
        Binding("slash", "search", "Search", id="snaps.search"),
        Binding("escape", "to_list", "List", show=False, id="snaps.to-list"),
        Binding("r", "reset", "Reset snap", id="snaps.reset"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.snaps: list = []
        self.connections: list = []
        self.manual = None
        self.undesired = None
        self.detail_name: str | None = None
        self._detail_timer = None
        self.by_name: dict = {}
        self.rows: dict = {}
        self._candidates: dict[str, tuple[int, list]] = {}   # snap -> (state serial, candidates)
        self._typed_at = 0.0
        self._badge_version = (-1, -1)

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="snaps-body"):
            with Vertical(id="snaps-left"):
                yield SearchInput(placeholder="search snaps  (/)", id="snap-search", on_value=self.search_changed)
                yield FastTable([Column("Snap"), Column("Conf.", 7), Column("Badges", 11)], id="snap-list",
                                empty="Loading...")
            yield SnapDetail()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#snap-list", FastTable).focus()
        self.set_interval(1.0, self._refresh_badges, name="badges")
        self.set_interval(2.0, self._count_running, name="count running")

    def on_screen_resume(self) -> None:   # AreaScreen's runs too (Textual calls both)
        self._refresh_badges()

    def _count_running(self) -> None:
        if not self.is_current:
            return
        self.run_worker(self.app.processes.refresh_counts, name="count running apps", group="running",
                        exclusive=True, thread=True)

    # ---- loading ------------------------------------------------------------------

    def reload(self) -> None:
        super().reload()
        self.load_snaps(self.app.state_serial)
        if self.detail_name:
            self.load_detail(self.detail_name)

    @work(thread=True, name="load snaps", group="snaps-list", exclusive=True)
    def load_snaps(self, serial: int) -> None:
        # the list first; the connections (for the badges) once the list is on screen
        try:
            snaps = self.app.backend.snaps()
        except Exception as exc:  # noqa: BLE001
            self.post_message(LoadFailed("snaps", str(exc)))
            return
        self.post_message(SnapsLoaded(snaps, None, serial))

    @work(thread=True, name="load connections of snaps", group="snaps-badges", exclusive=True)
    def load_badges(self, snaps: list, serial: int) -> None:
        try:
            connections = self.app.backend.connections_state()
        except Exception as exc:  # noqa: BLE001
            self.post_message(LoadFailed("snaps", str(exc)))
            return
        self.post_message(SnapsLoaded(snaps, connections, serial))

    def on_load_failed(self, message: LoadFailed) -> None:
        self.query_one("#snap-list", FastTable).empty_text = f"Cannot read the snaps: {message.error}"
        self.query_one("#snap-list", FastTable).set_rows([])
        self.notify(message.error, title=f"Cannot load {message.what}", severity="error")

    async def on_snaps_loaded(self, message: SnapsLoaded) -> None:
        if message.serial < self.loaded_serial:
            return                      # a load of an older state, overtaken by a reload
        if message.connections is None:
            self.call_after_refresh(self.load_badges, message.snaps, message.serial)
            if self.snaps and message.serial == self.loaded_serial:
                return                  # a reload: keep the badges until the counts come
        self.snaps = message.snaps
        self.by_name = {s.name: s for s in message.snaps}
        if message.connections is not None:
            self.connections = message.connections
            self.manual, self.undesired = connection_counts(message.connections)
            self.app.settle_heap()      # 20,000 connections, alive until the next change
        self.rows = {}
        table = self.query_one("#snap-list", FastTable)
        table.empty_text = "No snap matches the search." if self.snaps else "No snaps are installed."
        self.apply_filter()
        self.app.snaps_seen(len(self.snaps))
        if not self.snaps:
            await self.query_one(SnapDetail).show_message(
                "No snaps are installed here.\n\nInstall the examples from the command palette "
                "(ctrl+p, Snaps: Install examples) or with `confine install --examples`.")

    def badges(self, name: str) -> Badges:
        app = self.app
        running = app.processes.counts.get(name, 0)
        return Badges(self.manual[name] if self.manual else 0, self.undesired[name] if self.undesired else 0,
                      app.denials.counts.get(name, 0), running)

    def _row(self, snap) -> Row:
        row = self.rows.get(snap.name)
        if row is None:
            row = Row(snap.name, (snap.name, confinement_text(snap.confinement), self.badges(snap.name).text()))
            self.rows[snap.name] = row
        return row

    def apply_filter(self) -> None:
        query = self.query_one("#snap-search", Input).value.strip().lower()
        table = self.query_one("#snap-list", FastTable)
        if query:
            rows = [self._row(s) for s in self.snaps if query in s.name or query in s.summary.lower()]
        else:
            rows = [self._row(s) for s in self.snaps]
        table.set_rows(rows)
        if not rows:
            self.detail_name = None

    def _refresh_badges(self) -> None:
        if not self.is_current:         # another area is on top: done when this one comes back
            return
        version = (self.app.denials.version, self.app.processes.version)
        if version != self._badge_version and self.snaps:
            self._badge_version = version
            self.rows = {}
            self.apply_filter()

    def search_changed(self, value: str) -> None:
        self._typed_at = time.monotonic()
        self.apply_filter()

    @on(Input.Submitted, "#snap-search")
    def search_submitted(self) -> None:
        self.query_one("#snap-list", FastTable).focus()

    # ---- the selected snap ---------------------------------------------------------

    @on(FastTable.Highlighted, "#snap-list")
    def snap_highlighted(self, event: FastTable.Highlighted) -> None:
        if event.key is None or event.key == self.detail_name:
            return
        self.detail_name = event.key
        if self._detail_timer is not None:
            self._detail_timer.stop()
        # a short wait, so that holding the down key (or typing a search) does not start a
        # load per row; a snap seen before in this state shows at once (cached)
        cached = self._candidates.get(event.key)
        delay = 0.0 if cached and cached[0] == self.app.state_serial else 0.3
        self._detail_timer = self.set_timer(delay, lambda: self.load_detail(event.key), name="detail")

    @on(FastTable.Selected, "#snap-list")
    def snap_selected(self, event: FastTable.Selected) -> None:
        control = self.query_one(SnapDetail).first_control()
        if control is not None:
            control.focus()

    def load_detail(self, name: str) -> None:
        serial = self.app.state_serial
        since = time.monotonic() - self._typed_at
        if since < 0.3 and name == self.detail_name:   # the admin is typing: load when they pause
            self._detail_timer = self.set_timer(0.3 - since, lambda: self.load_detail(name), name="detail")
            return
        cached = self._candidates.get(name)
        if cached is not None and cached[0] == serial and name in self.by_name:
            self.post_message(SnapDetailLoaded(name, self.by_name[name], cached[1], serial))
            return
        self.run_worker(lambda: self._load_detail(name, serial), name=f"load snap {name}",
                        group="snap-detail", exclusive=True, thread=True)

    def _load_detail(self, name: str, serial: int) -> None:
        backend = self.app.backend
        try:
            snap = self.by_name.get(name) if serial == self.loaded_serial else None
            snap = snap or backend.snap(name)
            candidates = backend.candidates(name)
        except Exception as exc:  # noqa: BLE001
            self.post_message(LoadFailed(f"snap {name}", str(exc)))
            return
        self.post_message(SnapDetailLoaded(name, snap, candidates, serial))

    async def on_snap_detail_loaded(self, message: SnapDetailLoaded) -> None:
        if len(self._candidates) > 256:
            self._candidates.clear()
        self._candidates[message.name] = (message.serial, message.candidates)
        if message.name != self.detail_name:
            return
        interfaces = self.app.interfaces or {i.name: i for i in self.app.backend.interfaces()}
        plugs, slots = endpoint_views(message.snap, message.candidates, interfaces)
        await self.query_one(SnapDetail).show(message.snap, plugs, slots, self.badges(message.name))

    # ---- changes --------------------------------------------------------------------

    def on_plug_row_requested(self, event: PlugRow.Requested) -> None:
        row, request = event.row, event.request
        if event.preview:
            from .preview import PreviewScreen

            def answered(accept: bool | None) -> None:
                if accept:
                    row.set_busy(f"{request.title()}...")
                    self.app.request_change(request, origin=row, confirmed=True)

            self.app.push_screen(PreviewScreen(request, self.app.interface(request.interface)), answered)
            return
        row.set_busy(f"{request.title()}...")
        self.app.request_change(request, origin=row)

    def action_search(self) -> None:
        self.query_one("#snap-search", Input).focus()

    def action_to_list(self) -> None:
        self.query_one("#snap-list", FastTable).focus()

    def action_reset(self) -> None:
        if not self.detail_name:
            self.notify("Select a snap first.", severity="warning")
            return
        request = ChangeRequest("reset", snap=self.detail_name)
        from .preview import PreviewScreen

        def answered(accept: bool | None) -> None:
            if accept:
                self.app.apply_change(request)

        self.app.push_screen(PreviewScreen(request, None), answered)

    def commands(self):
        out = []
        if self.detail_name:
            out.append((f"Snaps: Reset {self.detail_name}", "Drop manual connections, restore auto-connections",
                        self.action_reset))
        out.append(("Snaps: Search", "Type to narrow the list of snaps", self.action_search))
        if not self.snaps:
            out.append(("Snaps: Install examples", "Install the bundled example snaps",
                        self.app.run_examples_install))
        return out

    def select_snap(self, name: str) -> None:
        """Show `name` (from another area)."""
        search = self.query_one("#snap-search", Input)
        if search.value:
            search.value = ""
            self.apply_filter()
        table = self.query_one("#snap-list", FastTable)
        for i, row in enumerate(table.rows):
            if row.key == name:
                table.move_to(i)
                break
