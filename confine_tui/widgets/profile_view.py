"""ProfileView: one generated profile, highlighted, or its diff against the version shown before."""
from __future__ import annotations

import difflib
import time

from rich.text import Text

from .code_view import CodeView


class ProfileView(CodeView):
    """A profile's text (or diff)."""

    HELP = """\
**A generated profile.** The text the engine generates for the app from its snap and
its connections, highlighted. **d** switches to the diff against the version this
console showed before the last change (and back). Arrows and page keys scroll."""

    def __init__(self, kind: str) -> None:
        super().__init__(id=f"pv-{kind}", classes="profile-view")
        self.profile_kind = kind
        self.text = ""
        self.previous: str | None = None
        self.changed: float | None = None
        self.diff_mode = False
        self.target = ""

    def show(self, target: str, text: str, previous: str | None, changed: float | None) -> None:
        self.target, self.text, self.previous, self.changed = target, text, previous, changed
        self._paint()

    def show_error(self, message: str) -> None:
        self.text = ""
        self.set_message(Text(message, style="bold red"))

    def toggle_diff(self) -> None:
        self.diff_mode = not self.diff_mode
        self._paint()

    def status(self) -> str:
        if not self.target:
            return ""
        lines = self.text.count("\n")
        if self.previous is None:
            since = "no earlier version seen"
        else:
            ago = int(time.time() - (self.changed or time.time()))
            since = f"changed {ago // 60} min ago" if ago >= 60 else f"changed {ago} s ago"
        return f"{self.target} · {self.profile_kind} · {lines} lines · {since}" + (" · diff" if self.diff_mode else "")

    def _paint(self) -> None:
        if not self.diff_mode:
            if not self.text:
                self.set_message(Text(f"No {self.profile_kind} profile for this app.", style="dim italic"))
            else:
                self.set_text(self.text, self.profile_kind)
            return
        if self.previous is None:
            self.set_message(Text("No earlier version seen: connect or disconnect something and come back.",
                                  style="italic"))
            return
        diff = "".join(difflib.unified_diff(self.previous.splitlines(keepends=True),
                                            self.text.splitlines(keepends=True),
                                            fromfile=f"{self.target} ({self.profile_kind}) before",
                                            tofile=f"{self.target} ({self.profile_kind}) now"))
        if diff:
            self.set_text(diff, "diff")
        else:
            self.set_message(Text("No change.", style="italic"))
