"""HelpScreen: the help of the focused field, the area and the keys (F1)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown, Static


class HelpScreen(ModalScreen[None]):
    HELP = "**Help.** escape or F1 closes it."
    BINDINGS = [
        Binding("escape", "close", "Close", id="help.close"),
        Binding("f1", "close", "Close", show=False, id="help.close-f1"),
        Binding("q", "close", "Close", show=False, id="help.close-q"),
    ]

    def __init__(self, text: str) -> None:
        super().__init__(id="help-screen")
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static("Help  (escape closes)", classes="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Markdown(self.text)

    def on_mount(self) -> None:
        self.query_one("#help-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
