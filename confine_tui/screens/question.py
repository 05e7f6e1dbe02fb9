"""QuestionScreen: a yes/no question in a dialog (returns True or False)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Markdown, Static


class QuestionScreen(ModalScreen[bool]):
    HELP = "**A question.** Enter on a button answers; escape says no."
    BINDINGS = [
        Binding("escape", "answer(False)", "No", id="question.no"),
        Binding("y", "answer(True)", "Yes", id="question.yes"),
    ]

    def __init__(self, title: str, text: str, yes: str = "Yes", no: str = "No", id: str | None = None) -> None:
        super().__init__(id=id)
        self.title_text = title
        self.text = text
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="dialog-title")
            yield Markdown(self.text, classes="dialog-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button(self.yes, id="yes", variant="primary")
                yield Button(self.no, id="no")

    def on_mount(self) -> None:
        self.query_one("#yes", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
