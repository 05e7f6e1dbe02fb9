"""Pilot tests of the console's workflows, each checking the engine's state afterwards."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from textual.widgets import Button, Input, Select, Switch

from backends.native.engine import NativeBackend
from confine_tui.changes import ChangeRequest
from confine_tui.screens.grant import GrantScreen
from confine_tui.screens.preview import PreviewScreen
from confine_tui.screens.question import QuestionScreen
from confine_tui.widgets.fast_table import FastTable
from confine_tui.widgets.snap_detail import SnapDetail

from .support import AA_CAMERA, DOCKER, conns, feed_denials, make_app, press, settle, wait_for

REPO = Path(__file__).resolve().parents[2]


async def open_snap(pilot, name: str):
    screen = pilot.app.area_screen("snaps")
    await settle(pilot)
    screen.select_snap(name)
    await settle(pilot)
    await wait_for(pilot, lambda: screen.query_one(SnapDetail).snap is not None
                   and screen.query_one(SnapDetail).snap.name == name, what=f"{name} shown")
    return screen.query_one(SnapDetail)


async def flip(pilot, detail: SnapDetail, key: str) -> None:
    switch = detail.rows[key].query_one(Switch)
    switch.focus()
    await pilot.press("space")


async def test_toggle_a_plug_connects_then_disconnects(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await open_snap(pilot, "notes")
        row_key = "plug notes:removable-media"
        assert not detail.rows[row_key].query_one(Switch).value
        await flip(pilot, detail, row_key)
        await settle(pilot)
        assert conns(root, "notes")["notes:removable-media"] == (":removable-media", "manual")
        await wait_for(pilot, lambda: detail.rows[row_key].view.note == "manual", what="note manual")
        assert detail.rows[row_key].query_one(Switch).value
        await flip(pilot, detail, row_key)
        await settle(pilot)
        assert conns(root, "notes")["notes:removable-media"] == (None, "-")
        # an auto-connection switched off is kept as undesired
        await flip(pilot, detail, "plug notes:home")
        await settle(pilot)
        assert conns(root, "notes")["notes:home"] == (":home", "undesired")
        await wait_for(pilot, lambda: detail.rows["plug notes:home"].view.note_style == "undesired")


async def test_cancel_a_dangerous_grant_changes_nothing(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await open_snap(pilot, "containerd-lite")
        key = "plug containerd-lite:docker-support"
        await flip(pilot, detail, key)
        await wait_for(pilot, lambda: isinstance(app.screen, GrantScreen), what="the grant dialog")
        text = str(app.screen.query_one("#grant-text").render())
        assert "super-privileged" in text and "container engine runs as root" in text
        assert "kernel modules: overlay" in text          # what it grants, per layer
        await press(pilot, "escape")
        assert not isinstance(app.screen, GrantScreen)
        assert conns(root, "containerd-lite")["containerd-lite:docker-support"] == (None, "-")
        await wait_for(pilot, lambda: not detail.rows[key].busy and not detail.rows[key].query_one(Switch).value,
                       what="the switch back off")


async def test_accept_a_dangerous_grant_connects(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await open_snap(pilot, "containerd-lite")
        await flip(pilot, detail, "plug containerd-lite:docker-support")
        await wait_for(pilot, lambda: isinstance(app.screen, GrantScreen), what="the grant dialog")
        await press(pilot, "c")
        await settle(pilot)
        assert conns(root, "containerd-lite")["containerd-lite:docker-support"] == (":docker-support", "manual")


async def test_grant_dialog_preview_then_accept(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await open_snap(pilot, "vm-manager")
        await flip(pilot, detail, "plug vm-manager:multipass-support")
        await wait_for(pilot, lambda: isinstance(app.screen, GrantScreen), what="the grant dialog")
        await press(pilot, "d")
        assert isinstance(app.screen, PreviewScreen)
        await wait_for(pilot, lambda: app.screen.loaded, what="the diff")
        diff = app.screen.query_one("#preview-diff").plain
        assert "+++ b/profiles/apparmor/snap.vm-manager.vm-manager" in diff
        assert conns(root, "vm-manager")["vm-manager:multipass-support"] == (None, "-")   # not yet
        await press(pilot, "a")
        await settle(pilot)
        assert conns(root, "vm-manager")["vm-manager:multipass-support"] == (":multipass-support", "manual")


async def test_preview_key_shows_the_diff_and_cancel_keeps_state(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await open_snap(pilot, "webbrowser")
        detail.rows["plug webbrowser:camera"].query_one(Switch).focus()
        await press(pilot, "p")
        assert isinstance(app.screen, PreviewScreen)
        await wait_for(pilot, lambda: app.screen.loaded, what="the diff")
        assert "/dev/video[0-9]* rw," in app.screen.query_one("#preview-diff").plain
        await press(pilot, "escape")
        assert conns(root, "webbrowser")["webbrowser:camera"] == (None, "-")
        await press(pilot, "p")
        await wait_for(pilot, lambda: isinstance(app.screen, PreviewScreen) and app.screen.loaded)
        await press(pilot, "a")
        await settle(pilot)
        assert conns(root, "webbrowser")["webbrowser:camera"] == (":camera", "manual")


async def test_reset_restores_the_declaration(root):
    engine = NativeBackend(root, system_kind="classic", profiles=False)
    engine.connect("webbrowser:camera")
    engine.disconnect("webbrowser:home")
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await open_snap(pilot, "webbrowser")
        app.area_screen("snaps").query_one("#snap-list", FastTable).focus()
        await press(pilot, "r")
        assert isinstance(app.screen, PreviewScreen)
        await wait_for(pilot, lambda: app.screen.loaded)
        await press(pilot, "a")
        await settle(pilot)
    now = conns(root, "webbrowser")
    assert now["webbrowser:camera"] == (None, "-")
    assert now["webbrowser:home"] == (":home", "-")


async def test_select_where_several_slots_fit(tmp_path, make_snap):
    root = tmp_path / "root"
    engine = NativeBackend(root, system_kind="classic", profiles=False)
    for name in ("engine-a", "engine-b"):
        engine.install(make_snap(f"""
            name: {name}
            version: '1'
            slots:
              docker: docker
            apps:
              d:
                command: bin/run
        """), grants=["docker"])
    engine.install(make_snap("""
        name: client
        version: '1'
        plugs:
          docker: docker
        apps:
          c:
            command: bin/run
    """), grants=["docker"])
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await open_snap(pilot, "client")
        row = detail.rows["plug client:docker"]
        select = row.query_one(Select)
        assert row.view.control == "select" and row.view.options == ("engine-a:docker", "engine-b:docker")
        select.value = "engine-b:docker"
        await wait_for(pilot, lambda: isinstance(app.screen, GrantScreen))   # docker is super-privileged
        await press(pilot, "c")
        assert conns(root, "client")["client:docker"] == ("engine-b:docker", "manual,granted")
        await wait_for(pilot, lambda: detail.rows["plug client:docker"].view.value == "engine-b:docker")
        detail.rows["plug client:docker"].query_one(Select).value = "engine-a:docker"
        await wait_for(pilot, lambda: isinstance(app.screen, GrantScreen))
        await press(pilot, "c")
        assert conns(root, "client") == {"client:docker": ("engine-a:docker", "manual,granted")}
        detail.rows["plug client:docker"].query_one(Select).clear()
        await settle(pilot)
        assert conns(root, "client")["client:docker"] == (None, "-")


async def test_external_change_appears_within_a_second(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        detail = await open_snap(pilot, "notes")
        row = "plug notes:removable-media"
        assert not detail.rows[row].query_one(Switch).value
        proc = subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), "connect",
                               "notes:removable-media"], cwd=REPO, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        took = await wait_for(pilot, lambda: detail.rows[row].query_one(Switch).value, timeout=3.0,
                              what="the switch to turn on")
        assert took < 1.0, f"the external change took {took:.2f} s to appear"
        # a snap installed by a script appears in the list
        table = app.screen.query_one("#snap-list", FastTable)
        before = table.row_count
        NativeBackend(root, system_kind="classic", profiles=False).remove("hello")
        await wait_for(pilot, lambda: table.row_count == before - 1, timeout=3.0, what="hello gone")


async def test_search_narrows_the_snap_list(root):
    app = make_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one("#snap-list", FastTable)
        assert table.row_count == 9
        await press(pilot, "slash", "n", "o")
        assert [r.key for r in table.rows] == ["notes"]
        await press(pilot, "backspace")
        expected = {s.name for s in NativeBackend(root, profiles=False).snaps()
                    if "n" in s.name or "n" in s.summary.lower()}
        assert {r.key for r in table.rows} == expected and 1 < len(expected)
        await press(pilot, "x", "y", "z")
        assert table.row_count == 0


async def test_connections_filters_narrow_the_table(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "2")
        table = app.screen.query_one("#conn-table", FastTable)
        total = table.row_count
        assert total == len(NativeBackend(root, profiles=False).connections(all=True))
        app.screen.query_one("#conn-iface", Input).focus()
        await press(pilot, *"camera")
        keys = [r.key for r in table.rows]
        assert keys and all(k[0] == "camera" for k in keys)
        app.screen.query_one("#conn-snap", Input).focus()
        await press(pilot, *"web")
        assert [r.key for r in table.rows] == [("camera", "webbrowser:camera", None)]
        app.screen.query_one("#conn-iface", Input).value = ""
        app.screen.query_one("#conn-snap", Input).value = ""
        app.screen.query_one("#conn-state", Select).value = "auto"
        await settle(pilot)
        assert table.row_count == len([r for r in NativeBackend(root, profiles=False).connections() if r.auto])


async def test_disconnect_from_the_connections_table(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "2")
        app.screen.query_one("#conn-snap", Input).value = "nettool"
        app.screen.query_one("#conn-state", Select).value = "connected"
        await settle(pilot)
        table = app.screen.query_one("#conn-table", FastTable)
        table.focus()
        assert table.current_key == ("network", "nettool:network", ":network")
        await press(pilot, "d")
        await settle(pilot)
        assert conns(root, "nettool")["nettool:network"] == (":network", "undesired")


async def test_connect_from_a_denials_suggestion(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "5")
        denials = feed_denials(app, AA_CAMERA)
        assert denials[0].suggestions[0].interface == "camera"
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.shown) == 1, what="the denial in the table")
        # the explanation follows the highlighted row a message later
        await wait_for(pilot, lambda: "webbrowser.webbrowser" in str(screen.query_one("#denial-text").render()),
                       what="the denial's explanation")
        await press(pilot, "c")
        await settle(pilot)
        assert conns(root, "webbrowser")["webbrowser:camera"] == (":camera", "manual")


async def test_connect_a_super_privileged_suggestion_asks_first(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "5")
        feed_denials(app, DOCKER)
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.shown) == 1)
        await press(pilot, "c")
        assert isinstance(app.screen, GrantScreen)
        await press(pilot, "escape")
        assert conns(root, "containerd-lite")["containerd-lite:docker-support"] == (None, "-")
        await press(pilot, "c")
        await press(pilot, "c")
        await settle(pilot)
        assert conns(root, "containerd-lite")["containerd-lite:docker-support"] == (":docker-support", "manual")


async def test_silence_a_denial_for_its_snap(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "5")
        feed_denials(app, AA_CAMERA, DOCKER)
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.shown) == 2)
        table = screen.query_one("#denial-table", FastTable)
        table.focus()
        table.move_to(0)
        await press(pilot, "s")
        await wait_for(pilot, lambda: len(screen.shown) == 1, what="the silenced denial hidden")
        assert screen.shown[0].snap == "containerd-lite"
    silenced = NativeBackend(root, profiles=False).denial_silences()
    assert silenced == {"webbrowser": ["apparmor:open:/dev/video0"]}


async def test_denials_filter_and_pause(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "5")
        feed_denials(app, AA_CAMERA, DOCKER)
        screen = app.screen
        await wait_for(pilot, lambda: len(screen.shown) == 2)
        screen.query_one("#denial-filter", Input).value = "snap:webbrowser"
        await settle(pilot)
        assert [d.snap for d in screen.shown] == ["webbrowser"]
        screen.query_one("#denial-filter", Input).value = ""
        await settle(pilot)
        table = screen.query_one("#denial-table", FastTable)
        table.focus()
        table.move_to(0)
        await settle(pilot)
        assert not screen.following
        feed_denials(app, AA_CAMERA)
        await wait_for(pilot, lambda: screen.new_while_paused == 1, what="+1 new")
        assert "+1 new" in str(screen.query_one("#denial-status").render())
        await press(pilot, "f")
        assert screen.following and table.cursor == table.row_count - 1


async def test_empty_root_offers_the_examples(tmp_path):
    root = tmp_path / "empty"
    app = make_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionScreen), what="the examples question")
        await pilot.click("#yes")
        await wait_for(pilot, lambda: len(NativeBackend(root, profiles=False).snaps()) == 9, timeout=30,
                       what="the examples installed")
        await settle(pilot)
        await wait_for(pilot, lambda: app.screen.query_one("#snap-list", FastTable).row_count == 9, timeout=5)


async def test_examples_option_installs_without_asking(tmp_path):
    root = tmp_path / "empty"
    app = make_app(root, examples=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: len(NativeBackend(root, profiles=False).snaps()) == 9, timeout=30)
        assert not isinstance(app.screen, QuestionScreen)


async def test_declining_the_examples_leaves_the_root_empty(tmp_path):
    root = tmp_path / "empty"
    app = make_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, QuestionScreen))
        await press(pilot, "escape")
        assert NativeBackend(root, profiles=False).snaps() == []


async def test_profiles_show_each_kind_and_the_diff_after_a_change(root):
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "4")
        screen = app.screen
        screen.show_target("notes.notes")
        await settle(pilot)
        view = screen.query_one("#pv-apparmor")
        assert "profile" in view.text and view.previous is None
        for kind in ("seccomp", "pfc", "udev", "modules", "landlock", "launch"):
            await press(pilot, "right_square_bracket")
            assert screen.current_kind() == kind
        NativeBackend(root, system_kind="classic").connect("notes:removable-media")
        await wait_for(pilot, lambda: app.state_serial > 0, what="the reload")
        await press(pilot, "left_square_bracket", *["left_square_bracket"] * 5)
        assert screen.current_kind() == "apparmor"
        await wait_for(pilot, lambda: view.previous is not None, what="a previous version")
        await press(pilot, "d")
        assert view.kind == "diff" and "removable-media" in view.plain and "\n+" in view.plain


async def test_help_and_palette_and_quit(root):
    app = make_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press(pilot, "f1")
        assert "Table" in app.screen.text and "Snaps" in app.screen.text   # the list's help and the area's
        await press(pilot, "escape")
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert all(": " in t and t.split(": ")[0][0].isupper() for t in titles), titles
        assert "Snaps: Open" not in titles and "Denials: Open" in titles
        assert "Snaps: Install examples" not in titles        # only what is valid now
        await press(pilot, "q")
    assert app.return_code == 0


async def test_ctrl_q_quits(root):
    app = make_app(root)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.pause(0.2)
    assert not app.is_running


def test_every_binding_has_an_id_and_a_description():
    import importlib
    import pkgutil

    import confine_tui

    classes = []
    for info in pkgutil.walk_packages(confine_tui.__path__, prefix="confine_tui."):
        if info.name.endswith(("screenshots", "__main__")):
            continue
        mod = importlib.import_module(info.name)
        classes += [c for c in vars(mod).values() if isinstance(c, type) and c.__module__ == mod.__name__]
    bindings = [(c.__name__, b) for c in classes for b in vars(c).get("BINDINGS", [])]
    assert len(bindings) > 30
    for owner, b in bindings:
        assert b.id, f"{owner}: binding {b.key} has no id"
        assert b.description, f"{owner}: binding {b.key} has no description"
    ids = [b.id for _, b in bindings]
    assert len(ids) == len(set(ids)), "binding ids must be unique"


def test_every_change_is_also_a_cli_command():
    from backends.cli import build_parser

    commands = set(build_parser()._subparsers._group_actions[0].choices)
    for request in (ChangeRequest("connect", "a:p", ":s"), ChangeRequest("disconnect", "a:p", ":s"),
                    ChangeRequest("reset", snap="a")):
        assert request.command().split()[1] in commands
    assert {"silence", "run", "doctor", "profile", "connections", "interface"} <= commands


async def test_launch_an_app_see_its_output_and_stop_it(tmp_path, make_snap):
    root = tmp_path / "root"
    engine = NativeBackend(root, system_kind="classic")          # with profiles: `confine run` needs them
    src = make_snap("""
        name: sleeper
        version: '1'
        apps:
          sleeper:
            command: bin/sleeper
    """)
    (src / "bin" / "sleeper").write_text("#!/bin/sh\necho sleeper started\nexec sleep 60\n")
    (src / "bin" / "sleeper").chmod(0o755)
    engine.install(src)
    app = make_app(root)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await press(pilot, "6")
        screen = app.screen
        await wait_for(pilot, lambda: screen.targets == ["sleeper.sleeper"], what="the app list")
        screen.query_one("#launch-target", Select).value = "sleeper.sleeper"
        await press(pilot, "l")
        log = screen.query_one("#proc-output")
        await wait_for(pilot, lambda: any("sleeper started" in line for line in log.lines), timeout=15,
                       what="the app's output")
        launch = next(iter(app.processes.launches.values()))
        table = screen.query_one("#proc-table", FastTable)
        # the engine finds the app itself (not only the `confine run` the console started)
        await wait_for(pilot, lambda: any(r.cells[1] == "sleeper.sleeper" for r in table.rows), timeout=10,
                       what="the engine's process list")
        app_row = next(i for i, r in enumerate(table.rows) if r.cells[1] == "sleeper.sleeper")
        table.focus()
        table.move_to(app_row)
        await press(pilot, "k")
        await wait_for(pilot, lambda: launch.proc.poll() is not None, timeout=10, what="the app to end")
        await wait_for(pilot, lambda: any("ended with status" in line for line in log.lines), timeout=5)
