"""Denials: the live stream of what confinement refused, filtered, explained, fixable.

Records arrive in the DenialsAdapter's thread; a timer takes what is new ten times a
second and appends it to the table in one batch, so a thousand records a second
never cost the UI a thousand updates. The table holds the records themselves and
formats only the rows on screen. The tail follows new records while the cursor
is on the last row; moving up pauses it and the status counts "+N new".
"""
from __future__ import annotations

import time

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label

from ..changes import ChangeRequest
from ..messages import ChangeFinished
from ..rows import Filter
from ..widgets.denial_card import DenialCard, _s
from ..widgets.fast_table import Column, FastTable, Row
from ..widgets.search_input import SearchInput
from .base import AreaScreen

FIELDS = ("snap", "kind", "op", "path", "syscall")
TABLE_LIMIT = 20_000
# Records kept since the last freeze of the heap (see ConfineApp.settle_heap): a full
# collection walks every record not frozen (here 10,000 records cost about 50 ms), so
# a long storm that fills the adapter (50,000) would stall the UI for longer. Each
# freeze also keeps the few thousand objects of Textual's render caches that are in
# cycles until the console ends: rarely, then.
FREEZE_EVERY = 10_000
KIND_STYLE = {"apparmor": "cyan", "seccomp": "magenta", "landlock": "yellow", "dbus": "blue", "unparsed": "dim"}


def _values(d) -> dict[str, str]:
    return {"snap": f"{d.snap or ''}.{d.app or ''}", "kind": d.kind or "", "op": d.operation or d.cls or "",
            "path": d.name or "", "syscall": d.syscall or ""}


def _target(d) -> str:
    if d.kind == "seccomp":
        return d.syscall or (f"#{d.syscall_nr}" if d.syscall_nr is not None else "?")
    if d.capability:
        return f"capability {d.capability}"
    return d.name or d.family or d.operation or ""


class DenialsScreen(AreaScreen):
    AREA = "denials"
    HELP = """\
## Denials

What confinement refused, live from the kernel's audit stream. Filter with words or
`snap:NAME kind:seccomp op:open path:/etc syscall:ptrace`. The tail follows new records
while the last row is selected; moving up pauses it (**end** or **f** follows again).
**c** connects the first suggested interface (asking first for a super-privileged one),
**s** silences this kind of denial for its snap."""

    BINDINGS = [
        Binding("slash", "filter", "Filter", id="denials.filter"),
        Binding("c", "connect", "Connect suggestion", id="denials.connect"),
        Binding("s", "silence", "Silence", id="denials.silence"),
        Binding("f", "follow", "Follow", id="denials.follow"),
        Binding("escape", "to_table", "Table", show=False, id="denials.to-table"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.seq = 0
        self.shown: list = []           # the denials in the table, in order
        self.new_while_paused = 0
        self.filter = Filter()
        self.message = ""
        self._card_at = 0.0
        self._card_timer = None
        self._unfrozen = 0

    def compose_body(self) -> ComposeResult:
        with Vertical(id="denials-body"):
            with Horizontal(classes="filters"):
                yield SearchInput(placeholder="filter: words, snap: kind: op: path: syscall:", id="denial-filter",
                                  on_value=self.filter_changed)
            yield FastTable([Column("Time", 8), Column("App", 18), Column("Kind", 8), Column("Op", 10),
                             Column("Path or syscall")], id="denial-table", empty="No denials yet.",
                            row_of=self._row, key_of=id)
            yield Label("", id="denial-status", classes="status")
            yield DenialCard()

    def on_mount(self) -> None:
        super().on_mount()
        adapter = self.app.denials
        ok, why = adapter.available()
        if not ok:
            self.message = why
            self.query_one("#denial-table", FastTable).empty_text = why
        else:
            adapter.load_silences(self.app.backend)
            adapter.start(self.app.backend)
        self.query_one("#denial-table", FastTable).focus()
        self.take_new()
        self.set_interval(0.1, self.take_new, name="denials batch")

    # ---- the stream ---------------------------------------------------------------

    def _row(self, d) -> Row:
        when = time.strftime("%H:%M:%S", time.localtime(d.epoch)) if d.epoch else "-"
        app = f"{d.snap}.{d.app}" if d.snap and d.app else (d.snap or d.profile or d.comm or "?")
        return Row(id(d), (when, app, Text(d.kind, style=KIND_STYLE.get(d.kind, "")),
                           d.operation or d.cls or "-", _target(d)))

    def _visible(self, d) -> bool:
        if self.app.denials.is_silenced(d):
            return False
        if not self.filter:
            return True
        values = _values(d)
        return self.filter.match(" ".join(values.values()).lower() + " " + (d.raw or "").lower(), values)

    @property
    def following(self) -> bool:
        table = self.query_one("#denial-table", FastTable)
        return table.row_count == 0 or table.cursor >= table.row_count - 1

    def take_new(self) -> None:
        new, self.seq = self.app.denials.since(self.seq)
        if new:
            keep = [d for d in new if self._visible(d)]
            if keep:
                follow = self.following
                table = self.query_one("#denial-table", FastTable)
                self.shown.extend(keep)
                dropped = table.append_rows(keep, follow=follow, limit=TABLE_LIMIT)
                if dropped:
                    del self.shown[:dropped]
                if follow:
                    self.new_while_paused = 0
                else:
                    self.new_while_paused += len(keep)
        self._unfrozen += len(new)
        if self._unfrozen >= FREEZE_EVERY:
            self._unfrozen = 0
            self.app.settle_heap(young=True)
        self.show_status()

    def rebuild(self) -> None:
        """Filter or silences changed: rebuild the table from every record kept."""
        records = [d for d in self.app.denials.all() if self._visible(d)][-TABLE_LIMIT:]
        self.shown = records
        table = self.query_one("#denial-table", FastTable)
        table.set_rows(list(records))
        table.action_last()
        self.new_while_paused = 0
        self.show_status()

    def show_status(self) -> None:
        adapter = self.app.denials
        t = Text()
        if self.message:
            t.append(self.message, style="bold red")
        else:
            t.append(f"{len(self.shown)} shown")
            if self.following:
                t.append(" · following", style="green")
            else:
                t.append(f" · paused +{self.new_while_paused} new", style="bold yellow")
            t.append(f" · {adapter.status}", style="dim")
            if adapter.notes:
                t.append(f" · {adapter.notes[-1]}", style="yellow")
        # one line of fixed size (.status): no layout of the screen ten times a second
        self.query_one("#denial-status", Label).update(t, layout=False)

    @on(FastTable.Highlighted, "#denial-table")
    def highlighted(self, event: FastTable.Highlighted) -> None:
        # While the tail follows a storm the card would be redrawn ten times a second:
        # at most three times a second then; at once when the admin moves the cursor.
        now = time.monotonic()
        if self.following and now - self._card_at < 0.3:
            if self._card_timer is None:
                self._card_timer = self.set_timer(0.3, self._show_card, name="denial card")
        else:
            self._show_card()
        if self.following:
            self.new_while_paused = 0
        self.show_status()

    def _show_card(self) -> None:
        self._card_timer = None
        self._card_at = time.monotonic()
        d = self.current()
        if d is not None:
            self.query_one(DenialCard).show(d, self.app.denials.is_silenced(d))

    def current(self):
        table = self.query_one("#denial-table", FastTable)
        i = table.cursor
        return self.shown[i] if 0 <= i < len(self.shown) else None

    # ---- filters and keys -------------------------------------------------------------

    def filter_changed(self, value: str) -> None:
        self.filter = Filter.parse(value, FIELDS)
        self.rebuild()

    @on(Input.Submitted, "#denial-filter")
    def filter_submitted(self) -> None:
        self.query_one("#denial-table", FastTable).focus()

    def action_filter(self) -> None:
        self.query_one("#denial-filter", Input).focus()

    def action_to_table(self) -> None:
        self.query_one("#denial-table", FastTable).focus()

    def action_follow(self) -> None:
        self.query_one("#denial-table", FastTable).action_last()
        self.new_while_paused = 0
        self.show_status()

    def suggestion_to_connect(self, d):
        for s in d.suggestions or ():
            if _s(s, "interface") and _s(s, "action") == "connect" and _s(s, "plug"):
                return s
        return None

    def action_connect(self) -> None:
        d = self.current()
        if d is None:
            self.notify("Select a denial first.", severity="warning")
            return
        s = self.suggestion_to_connect(d)
        if s is None:
            declare = next((x for x in d.suggestions or () if _s(x, "interface")), None)
            if declare is not None:
                self.notify(f"{d.snap} has no plug of {_s(declare, 'interface')}: its snap.yaml must declare one "
                            f"(plugs: [{_s(declare, 'interface')}]) before it can be connected.",
                            title="Nothing to connect", severity="warning", timeout=8)
            else:
                self.notify("No interface would allow this denial.", severity="warning")
            return
        request = ChangeRequest("connect", _s(s, "plug"), _s(s, "slot"), interface=_s(s, "interface"))
        self.app.request_change(request, origin=self)

    def on_change_finished(self, message: ChangeFinished) -> None:
        message.stop()

    def action_silence(self) -> None:
        d = self.current()
        if d is None or not d.snap:
            self.notify("Select a denial of a snap first.", severity="warning")
            return
        adapter, backend = self.app.denials, self.app.backend
        key = adapter.key(d)
        snap = d.snap

        def work() -> None:
            try:
                backend.silence_denial(snap, key)
                adapter.load_silences(backend)
                self.app.call_from_thread(self._silenced, snap, key, "")
            except Exception as exc:  # noqa: BLE001
                self.app.call_from_thread(self._silenced, snap, key, str(exc))

        self.run_worker(work, name=f"silence {snap} {key}", group="changes", thread=True)

    def _silenced(self, snap: str, key: str, error: str) -> None:
        if error:
            self.notify(error, title="Could not silence", severity="error")
            return
        self.notify(f"{snap}: {key} silenced (confine silence --remove {snap} '{key}' undoes it)",
                    title="Silenced")
        self.rebuild()

    def commands(self):
        out = [("Denials: Filter", "Filter by snap, kind, operation, path or syscall", self.action_filter)]
        d = self.current()
        if d is not None:
            s = self.suggestion_to_connect(d)
            if s is not None:
                out.append((f"Denials: Connect {_s(s, 'plug')} ({_s(s, 'interface')})",
                            "Connect the interface suggested for the selected denial", self.action_connect))
            if d.snap:
                out.append((f"Denials: Silence this for {d.snap}", "Hide this kind of denial for the snap",
                            self.action_silence))
        if not self.following:
            out.append(("Denials: Follow", "Jump to the newest record and follow the tail", self.action_follow))
        return out
