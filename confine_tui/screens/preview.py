"""PreviewScreen: the profile diff a change would make, to accept (apply it) or cancel."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..changes import ChangeRequest
from ..messages import PreviewLoaded
from ..widgets.code_view import CodeView


class PreviewScreen(ModalScreen[bool]):
    HELP = """\
**Preview.** The unified diff of every profile file the change would rewrite (AppArmor,
seccomp, udev, Landlock, launch plan). **a** applies the change, escape cancels it."""
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="preview.cancel"),
        Binding("a", "apply", "Apply", id="preview.apply"),
    ]

    def __init__(self, request: ChangeRequest, iface=None) -> None:
        super().__init__(id="preview-screen")
        self.request = request
        self.iface = iface
        self.loaded = False
        self.files = 0

    def compose(self) -> ComposeResult:
        r = self.request
        with Vertical(classes="dialog wide"):
            title = Text(f"Preview: {r.title()}", style="bold")
            if self.iface is not None and self.iface.super_privileged:
                title.append("\nsuper-privileged: ", style="bold red")
                title.append(self.iface.warning or self.iface.summary)
            title.append(f"\nsame as: {r.command()}", style="dim")
            yield Static(title, classes="dialog-title")
            yield CodeView(id="preview-diff")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Apply", id="apply", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()
        self.query_one("#preview-diff", CodeView).set_message(
            Text("Computing the profiles this change would write...", style="italic"))
        request, backend = self.request, self.app.backend

        def work() -> None:
            try:
                self.post_message(PreviewLoaded(request.preview(backend)))
            except Exception as exc:  # noqa: BLE001
                self.post_message(PreviewLoaded({}, str(exc)))

        self.run_worker(work, name=f"preview: {request.title()}", group="preview", thread=True, exclusive=True)

    def on_preview_loaded(self, message: PreviewLoaded) -> None:
        self.loaded = True
        diff = self.query_one("#preview-diff", CodeView)
        if message.error:
            diff.set_message(Text(f"This change would fail: {message.error}", style="bold red"))
            self.query_one("#apply", Button).disabled = True
            return
        if not message.diffs:
            diff.set_message(Text("No profile changes: the profiles stay as they are.", style="italic"))
            return
        self.files = len(message.diffs)
        diff.set_text("".join(message.diffs[key] for key in sorted(message.diffs)), "diff")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "apply")

    def action_apply(self) -> None:
        if not self.query_one("#apply", Button).disabled:
            self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
