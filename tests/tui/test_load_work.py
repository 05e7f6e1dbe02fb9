"""What the console asks of the engine and of Python while it works: each area loads once
when it opens, a denial stream formats only the rows on screen, and the collector is
held off only while the console starts."""
from __future__ import annotations

import gc
from collections import Counter
from dataclasses import replace

from backends.native.engine import NativeBackend
from confine_tui.adapters.denials import DenialsAdapter
from confine_tui.app import ConfineApp
from confine_tui.screens.denials import DenialsScreen
from confine_tui.widgets.fast_table import FastTable

from .support import AA_CAMERA, SECCOMP_PTRACE, press, settle, wait_for


class CountingBackend(NativeBackend):
    calls: Counter

    def snaps(self):
        self.calls["snaps"] += 1
        return super().snaps()

    def connections(self, snap=None, all=False):
        self.calls["connections"] += 1
        return super().connections(snap, all)


async def test_each_area_loads_once_when_it_opens(examples_root):
    backend = CountingBackend(examples_root, system_kind="classic")
    backend.calls = Counter()
    app = ConfineApp(backend=backend, denials=DenialsAdapter(examples_root, live=False), watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert backend.calls["snaps"] == 1
        await press(pilot, "2")
        await settle(pilot)
        assert backend.calls["connections"] == 1
        assert app.screen.query_one("#conn-table", FastTable).row_count > 0


async def test_a_denial_stream_formats_only_the_rows_on_screen(examples_root, monkeypatch):
    made = Counter()
    original = DenialsScreen._row

    def counted(self, d):
        made["rows"] += 1
        return original(self, d)

    monkeypatch.setattr(DenialsScreen, "_row", counted)
    backend = NativeBackend(examples_root, system_kind="classic")
    adapter = DenialsAdapter(examples_root, live=False)
    app = ConfineApp(backend=backend, denials=adapter, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "5")
        await settle(pilot)
        samples = adapter.feed_lines([AA_CAMERA, SECCOMP_PTRACE], backend=backend)
        adapter.feed([replace(samples[i % 2], serial=10_000 + i) for i in range(3000)])
        screen = app.screen
        table = screen.query_one("#denial-table", FastTable)
        await wait_for(pilot, lambda: table.row_count == 3002, what="3,002 rows")
        await settle(pilot)
        assert screen.following and table.cursor == 3001
        assert made["rows"] < 200                     # the rows drawn, not the 3,002 kept
        assert table.current.cells[4] == "ptrace"      # the last record, formatted when drawn
        await press(pilot, "home")
        assert table.current_key == id(screen.shown[0])


async def test_the_collector_is_held_only_while_the_console_starts(examples_root):
    assert gc.isenabled()
    thresholds = gc.get_threshold()
    app = ConfineApp(backend=NativeBackend(examples_root, system_kind="classic"),
                     denials=DenialsAdapter(examples_root, live=False), watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await wait_for(pilot, gc.isenabled, what="the collector back on")
    assert gc.isenabled() and gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0                 # nothing left frozen once the console is gone
