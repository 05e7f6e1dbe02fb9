"""GrantScreen: confirm a super-privileged grant, saying what it gives the app."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..changes import ChangeRequest
from ..describe import grant_text
from .preview import PreviewScreen


class GrantScreen(ModalScreen[str]):
    """Returns "apply" or "cancel"."""

    HELP = """\
**A dangerous grant.** This interface gives the app power close to root. Read what it
grants; **d** shows the profile diff first; **c** connects; escape cancels."""
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="grant.cancel"),
        Binding("c", "connect", "Connect", id="grant.connect"),
        Binding("d", "preview", "Preview diff", id="grant.preview"),
    ]

    def __init__(self, request: ChangeRequest, iface) -> None:
        super().__init__(id="grant-screen")
        self.request = request
        self.iface = iface

    def compose(self) -> ComposeResult:
        r, i = self.request, self.iface
        with Vertical(classes="dialog wide danger"):
            title = Text(f"Grant {i.label} ({i.name}) to {r.plug}?", style="bold")
            yield Static(title, classes="dialog-title")
            with VerticalScroll(id="grant-body"):
                body = Text()
                body.append("super-privileged: ", style="bold red")
                body.append((i.warning or i.summary) + "\n\n")
                if i.description:
                    body.append(i.description.strip() + "\n\n", style="italic")
                body.append("What it grants\n", style="bold underline")
                body.append_text(grant_text(i, "plug"))
                body.append(f"\nsame as: {r.command()}", style="dim")
                yield Static(body, id="grant-text")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Connect", id="connect", variant="error")
                yield Button("Preview diff", id="preview")
                yield Button("Cancel", id="cancel", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"connect": self.action_connect, "preview": self.action_preview, "cancel": self.action_cancel}[
            event.button.id]()

    def action_connect(self) -> None:
        self.dismiss("apply")

    def action_cancel(self) -> None:
        self.dismiss("cancel")

    def action_preview(self) -> None:
        def answered(accept: bool | None) -> None:
            if accept:
                self.dismiss("apply")

        self.app.push_screen(PreviewScreen(self.request, self.iface), answered)
