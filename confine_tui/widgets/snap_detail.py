"""SnapDetail: the selected snap: what it is, and its plugs and slots with their controls.

Going from one snap to the next reuses the rows already on screen (a row takes the
new plug when its control is of the same kind), so that moving through a long list
does not rebuild dozens of widgets per key.
"""
from __future__ import annotations

from rich.text import Text
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from ..rows import Badges, EndpointView, confinement_text
from .plug_row import PlugRow


class SnapDetail(VerticalScroll):
    """The plugs and slots of the selected snap."""

    HELP = """\
**The selected snap.** Its plugs (what it asks for) and its slots (what it offers),
each with a switch or a list. Tab moves between rows; **r** resets the snap to its
declaration (manual connections dropped, undesired auto-connections made again)."""

    def __init__(self) -> None:
        super().__init__(id="snap-detail")
        self.snap = None
        self.rows: dict[str, PlugRow] = {}

    def compose(self):
        yield Static("Select a snap on the left.", id="snap-title")
        yield Label("Plugs: what it asks for", id="plugs-title", classes="section-title")
        yield Vertical(id="plug-rows", classes="rows")
        yield Label("Slots: what it offers", id="slots-title", classes="section-title")
        yield Vertical(id="slot-rows", classes="rows")
        yield Label("No plugs or slots: it gets only the default sandbox.", id="no-ends", classes="row-note")

    def on_mount(self) -> None:
        self._sections(False, False, False)

    def _sections(self, plugs: bool, slots: bool, none: bool) -> None:
        self.query_one("#plugs-title").display = plugs
        self.query_one("#slots-title").display = slots
        self.query_one("#no-ends").display = none

    async def show_message(self, text: str) -> None:
        self.snap = None
        self.rows = {}
        for container in self.query(".rows"):
            await container.remove_children()
        self._sections(False, False, False)
        self.query_one("#snap-title", Static).update(text)

    async def show(self, snap, plugs: list[EndpointView], slots: list[EndpointView], badges: Badges) -> None:
        """Show `snap`, reusing the rows on screen where the control kind allows."""
        focused_key = None
        focused = self.app.focused
        for key, row in self.rows.items():
            if focused is not None and (focused is row or row in focused.ancestors):
                focused_key = key
        self.snap = None
        self.query_one("#snap-title", Static).update(self._title(snap, badges))
        rows: dict[str, PlugRow] = {}
        for container_id, views in (("#plug-rows", plugs), ("#slot-rows", slots)):
            container = self.query_one(container_id, Vertical)
            for row, view in zip(await self._reconcile(container, views), views):
                rows[view.key] = row
        self.rows = rows
        self._sections(bool(plugs), bool(slots), not plugs and not slots)
        self.snap = snap
        if focused_key in self.rows:
            self.call_after_refresh(self._refocus, focused_key)

    async def _reconcile(self, container: Vertical, views: list[EndpointView]) -> list[PlugRow]:
        existing = [c for c in container.children if isinstance(c, PlugRow)]
        kept: list[PlugRow] = []
        for row, view in zip(existing, views):
            if row.busy or not row.update_view(view, same_end=False):
                break
            kept.append(row)
        stale = existing[len(kept):]
        if stale:
            await container.remove_children(stale)
        new = [PlugRow(v) for v in views[len(kept):]]
        if new:
            await container.mount_all(new)
        return kept + new

    def _refocus(self, key: str) -> None:
        row = self.rows.get(key)
        if row is not None:
            for child in row.query("Switch, Select"):
                child.focus()
                break

    @staticmethod
    def _title(snap, badges: Badges) -> Text:
        t = Text()
        t.append(snap.name, style="bold")
        t.append(f" {snap.version}", style="")
        t.append(f" ({snap.revision})  ", style="dim")
        t.append_text(confinement_text(snap.confinement))
        if snap.example:
            t.append("  example", style="cyan")
        if snap.grants:
            t.append(f"  granted: {', '.join(snap.grants)}", style="yellow")
        if snap.summary:
            t.append(f"\n{snap.summary}", style="italic")
        words = badges.words()
        if words:
            t.append(f"\n{words}", style="yellow")
        return t

    def first_control(self):
        for row in self.rows.values():
            for child in row.query("Switch, Select"):
                return child
        return None
