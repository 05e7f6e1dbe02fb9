"""ConfineApp: the console. Areas are Textual modes; engine calls run in thread workers.

The app owns the engine (a Backend), the watcher of ROOT/state.json, the denials
and processes adapters, and the machinery every area shares: changes with their
confirmation, help, and the command palette.
"""
from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Iterable

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from .adapters.denials import DenialsAdapter
from .adapters.processes import ProcessesAdapter
from .changes import ChangeRequest
from .messages import CatalogueLoaded, ChangeFinished, ExamplesInstalled, StateFileChanged
from .screens.snaps import SnapsScreen
from .watcher import StateWatcher
from .widgets.nav_bar import AREAS

STYLES = Path(__file__).resolve().parent.parent / "styles"


def _lazy(module: str, name: str):
    """A screen factory that imports its module on first use (a quicker start)."""
    def make():
        import importlib

        return getattr(importlib.import_module(f"confine_tui.screens.{module}"), name)()
    return make


class ConfineApp(App, inherit_bindings=False):
    """confine's administration console."""

    TITLE = "confine"
    CSS_PATH = [STYLES / name for name in ("app.tcss", "snaps.tcss", "lists.tcss", "profiles.tcss",
                                             "denials.tcss", "dialogs.tcss")]
    MODES = {"snaps": SnapsScreen, "connections": _lazy("connections", "ConnectionsScreen"),
             "interfaces": _lazy("interfaces", "InterfacesScreen"), "profiles": _lazy("profiles", "ProfilesScreen"),
             "denials": _lazy("denials", "DenialsScreen"), "processes": _lazy("processes", "ProcessesScreen"),
             "doctor": _lazy("doctor", "DoctorScreen")}
    DEFAULT_MODE = "snaps"
    HELP = """\
# confine console

Every snap, what it may do, and what it was refused. Areas: **1** Snaps, **2** Connections,
**3** Interfaces, **4** Profiles, **5** Denials, **6** Processes, **7** Doctor.
**ctrl+p** opens the command palette, **F1** the help of the field you are in,
**q** or **ctrl+q** quits. Every change here is also a `confine` command (the dialogs show it).
"""

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="app.quit"),
        Binding("q", "quit", "Quit", id="app.quit-q"),
        Binding("f1", "help", "Help", id="app.help"),
        Binding("ctrl+p", "command_palette", "Commands", show=False, priority=True, id="app.palette"),
        Binding("ctrl+c", "help_quit", "How to quit", show=False, system=True, id="app.ctrl-c"),
    ] + [
        Binding(str(i), f"switch_area('{area}')", f"Go to {title}", show=False, id=f"app.area-{area}")
        for i, (area, title) in enumerate(AREAS, 1)
    ]

    def __init__(self, root: str | os.PathLike | None = None, *, backend=None, examples: bool = False,
                 offer_examples: bool = True, denials: DenialsAdapter | None = None,
                 processes: ProcessesAdapter | None = None, watch: bool = True) -> None:
        super().__init__()
        if backend is None:
            from backends import open_backend

            backend = open_backend(root)
        self.backend = backend
        self.root = Path(backend.root)
        self.install_examples_now = examples
        self.offer_examples = offer_examples
        self.denials = denials if denials is not None else DenialsAdapter(self.root)
        self.processes = processes if processes is not None else ProcessesAdapter(self.root)
        self.watch_state = watch
        self.watcher: StateWatcher | None = None
        self.state_serial = 0
        self.interfaces: dict = {}
        self._reload_timer = None
        self.sub_title = str(self.root)
        self._gc_held = False
        self._gc_thresholds: tuple | None = None
        self._started = False
        self._identity_at_start = self._state_identity()
        self._shown_identity = self._identity_at_start   # the state the screens show (or load)

    # ---- the collector's pauses ------------------------------------------------------
    # The console keeps a big heap that lives as long as it runs (Textual, the snaps of a
    # 20,000-connection state, up to 50,000 denials). CPython's full collections walk all
    # of it and stop the UI for 100 ms and more (measured: 100-450 ms in a denial storm).
    # So the collector is held off while the console starts (until the snap list is on
    # screen), and what is alive then, and after each big load (a state change), is
    # frozen: gc.freeze leaves it out of later collections. The loaded records hold no
    # reference cycles, so reference counting still frees them when a reload replaces
    # them; only frozen objects in cycles (a few widgets) wait until unmounting
    # unfreezes everything, so a process that runs many consoles (the tests) frees them.
    # While it runs, the youngest generation is collected every 10,000 allocations
    # instead of 700: the short-lived objects of each frame (strips, in cycles) die young
    # instead of reaching the old generation, and full collections come about eight
    # times less often during a denial storm (measured).
    GC_THRESHOLD0 = 10_000

    def hold_collector(self) -> None:
        if gc.isenabled() and not self._gc_held:
            gc.freeze()                 # the modules imported so far
            gc.disable()
            self._gc_held = True
            self._gc_thresholds = gc.get_threshold()
            gc.set_threshold(max(self.GC_THRESHOLD0, self._gc_thresholds[0]), *self._gc_thresholds[1:])

    def settle_heap(self, young: bool = False) -> None:
        """A big load is done: leave what is alive now out of later collections.
        `young`: collect the young generations first (a few ms), so that their garbage
        is not frozen with the rest."""
        if young:
            gc.collect(1)
        gc.freeze()
        if self._gc_held:
            self._gc_held = False
            gc.enable()

    # ---- life ------------------------------------------------------------------

    def on_mount(self) -> None:
        # Engine calls run in threads and hold the GIL while they compute; a short switch
        # interval hands it back to the UI thread sooner (key answers stay quick).
        sys.setswitchinterval(0.0005)
        self.hold_collector()
        self.set_timer(10.0, self.started, name="start-up over")   # should the list never come
        self.load_catalogue()

    def started(self) -> None:
        """The snap list is on screen: what the start-up could postpone runs now."""
        if self._started:
            return
        self._started = True
        self.settle_heap()
        if self.watch_state:
            self.watcher = StateWatcher(self.root, lambda: self.post_message(StateFileChanged()))
            self.run_worker(self._start_watcher, name="watch the state", group="watcher", thread=True)

    def _start_watcher(self) -> None:
        self.watcher.start()
        if self._state_identity() != self._identity_at_start:   # replaced before the watch began
            self.post_message(StateFileChanged())

    def _state_identity(self):
        try:
            st = os.stat(self.root / "state.json")
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)

    def on_unmount(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.denials.stop()
        self.processes.stop_all()
        if self._gc_held:
            self._gc_held = False
            gc.enable()
        if self._gc_thresholds is not None:
            gc.set_threshold(*self._gc_thresholds)
            self._gc_thresholds = None
        gc.unfreeze()

    @work(thread=True, name="load catalogue", group="catalogue")
    def load_catalogue(self) -> None:
        self.post_message(CatalogueLoaded(self.backend.interfaces()))

    def on_catalogue_loaded(self, message: CatalogueLoaded) -> None:
        self.interfaces = {i.name: i for i in message.interfaces}

    def interface(self, name: str):
        iface = self.interfaces.get(name)
        if iface is None:  # the catalogue is read in a worker at start; rarely not yet there
            iface = self.backend.interface(name)
            self.interfaces[name] = iface
        return iface

    # ---- external and own changes of the state ----------------------------------

    def on_state_file_changed(self, message: StateFileChanged) -> None:
        self.state_changed()

    def state_changed(self) -> None:
        """The state changed: reload the screens that show it (coalesced over 50 ms)."""
        if self._reload_timer is not None:
            return

        def fire() -> None:
            self._reload_timer = None
            # the console's own change and the watcher's news of it are one reload; a
            # change that wrote nothing (refused) is none
            identity = self._state_identity()
            if identity == self._shown_identity:
                return
            self._shown_identity = identity
            self.state_serial += 1
            for screen in self.screen_stack:
                handler = getattr(screen, "state_changed", None)
                if handler is not None:
                    handler()

        self._reload_timer = self.set_timer(0.05, fire, name="state reload")

    # ---- examples on an empty root -----------------------------------------------

    def snaps_seen(self, count: int) -> None:
        """The snaps area loaded: on an empty root, offer (or install) the examples once."""
        if not self._started:
            self.call_after_refresh(self.started)
        if count or not (self.install_examples_now or self.offer_examples):
            self.offer_examples = False
            return
        if self.install_examples_now:
            self.install_examples_now = False
            self.offer_examples = False
            self.run_examples_install()
            return
        self.offer_examples = False
        from .screens.question import QuestionScreen

        question = QuestionScreen(
            "No snaps yet",
            f"{self.root} holds no snaps. Install the bundled example snaps (a browser, a notes "
            "app, a container engine, ...) to see what the console does?\n\nThe same from a shell: "
            "`confine install --examples`",
            yes="Install examples", no="Not now", id="examples-question")
        self.push_screen(question, lambda yes: self.run_examples_install() if yes else None)

    def run_examples_install(self) -> None:
        self.notify("Installing the example snaps...", title="Examples")
        self._install_examples()

    @work(thread=True, name="install examples", group="changes")
    def _install_examples(self) -> None:
        try:
            results = self.backend.install_examples()
        except Exception as exc:  # noqa: BLE001 - shown to the admin
            self.post_message(ExamplesInstalled(0, str(exc)))
            return
        self.post_message(ExamplesInstalled(len(results)))

    def on_examples_installed(self, message: ExamplesInstalled) -> None:
        if message.error:
            self.notify(message.error, title="Examples not installed", severity="error", timeout=10)
        else:
            self.notify(f"Installed {message.count} example snaps.", title="Examples")
        self.state_changed()

    # ---- changes ----------------------------------------------------------------

    def request_change(self, request: ChangeRequest, origin=None, confirmed: bool = False) -> None:
        """Apply `request`, after the confirmation a super-privileged grant needs."""
        iface = self.interface(request.interface) if request.interface else None
        if request.grants and iface is not None and iface.super_privileged and not confirmed:
            from .screens.grant import GrantScreen

            def answered(result: str | None) -> None:
                if result == "apply":
                    self.apply_change(request, origin)
                elif origin is not None:
                    origin.post_message(ChangeFinished(request, False, "cancelled"))

            self.push_screen(GrantScreen(request, iface), answered)
            return
        self.apply_change(request, origin)

    def apply_change(self, request: ChangeRequest, origin=None) -> None:
        self.run_worker(lambda: self._run_change(request, origin), name=f"change: {request.title()}",
                        group="changes", thread=True)

    def _run_change(self, request: ChangeRequest, origin) -> None:
        try:
            text = request.run(self.backend)
            message = ChangeFinished(request, True, text)
        except Exception as exc:  # noqa: BLE001 - the engine's message, shown to the admin
            message = ChangeFinished(request, False, str(exc))
        self.post_message(message)
        if origin is not None:
            origin.post_message(ChangeFinished(request, message.ok, message.message))

    def on_change_finished(self, message: ChangeFinished) -> None:
        if message.ok:
            self.notify(message.message, title="Done")
        else:
            self.notify(message.message, title=f"Could not {message.request.title()}", severity="error",
                        timeout=10)
        self.state_changed()

    # ---- areas, help, palette ------------------------------------------------------

    def action_switch_area(self, area: str) -> None:
        self.switch_area(area)

    def switch_area(self, area: str) -> None:
        if area in self.MODES and self.current_mode != area:
            self.switch_mode(area)

    def area_screen(self, area: str) -> Screen:
        """The screen of an area (made on first use)."""
        if area not in self._screen_stacks or not self._screen_stacks[area]:
            self.switch_mode(area)
        return self._screen_stacks[area][0]

    def area_screens_value(self, area: str, attribute: str):
        """An attribute of an area's screen if that screen exists (None otherwise)."""
        stack = self._screen_stacks.get(area) if hasattr(self, "_screen_stacks") else None
        return getattr(stack[0], attribute, None) if stack else None

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen(self.help_text()))

    def help_text(self) -> str:
        """The help of the focused widget (or its nearest ancestor that has one) and the screen's."""
        parts = []
        node = self.focused
        while node is not None and not isinstance(node, Screen):
            text = getattr(type(node), "HELP", None)
            if text and type(node).__module__.startswith("confine_tui"):
                parts.append(text)
                break
            node = node.parent
        screen = self.screen
        if getattr(screen, "HELP", ""):
            parts.append(screen.HELP)
        parts.append(self.HELP)
        keys = []
        for key, active in sorted(screen.active_bindings.items()):
            if active.binding.description:
                keys.append(f"| `{key}` | {active.binding.description} |")
        if keys:
            parts.append("## Keys here\n\n| key | does |\n|---|---|\n" + "\n".join(keys))
        return "\n\n".join(parts)

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Only commands that do something now, named `Area: Verb ...`."""
        for title, help_text, callback in getattr(screen, "commands", lambda: ())():
            yield SystemCommand(title, help_text, callback)
        for area, title in AREAS:
            if area != self.current_mode:
                yield SystemCommand(f"{title}: Open", f"Go to the {title} area",
                                    lambda a=area: self.switch_area(a))
        yield SystemCommand("App: Help", "Help for the field you are in (F1)", self.action_help)
        yield SystemCommand("App: Quit", "Leave the console (q)", self.exit)
