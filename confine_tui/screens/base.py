"""AreaScreen: what every area of the console shares (navigation bar, footer, reloads)."""
from __future__ import annotations

from typing import Iterable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Input

from ..widgets.nav_bar import NavBar

# (title, help, callable): what the command palette offers on a screen now.
Command = tuple[str, str, object]


class AreaScreen(Screen, inherit_bindings=False):
    """One area of the console. Subclasses set AREA and HELP and implement `reload()`."""

    AREA = ""
    HELP = ""
    BINDINGS = [
        Binding("tab", "app.focus_next", "Next field", show=False, id="screen.focus-next"),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, id="screen.focus-previous"),
    ]

    def __init__(self) -> None:
        super().__init__(id=f"{self.AREA}-screen")
        self.loaded_serial = -1
        self._mount_done = False

    def compose(self) -> ComposeResult:
        yield NavBar(self.AREA)
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:  # pragma: no cover - every area overrides it
        yield from ()

    # The app's state serial grows on every change of ROOT/state.json. A screen in the
    # background reloads when it comes back; the one on top reloads at once.
    def on_mount(self) -> None:
        # Textual calls the on_mount of every class of the screen, and the areas call
        # this one first through super() as well: run it once (one load, not two).
        if self._mount_done:
            return
        self._mount_done = True
        if self.app.is_headless:  # tests and screenshots: no blinking cursor, same picture every run
            for field in self.query(Input):
                field.cursor_blink = False
        self.reload()

    def on_screen_resume(self) -> None:
        if self.loaded_serial != self.app.state_serial:
            self.reload()

    def state_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.loaded_serial = self.app.state_serial

    def commands(self) -> Iterable[Command]:
        return ()
