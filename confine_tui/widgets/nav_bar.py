"""NavBar: the console's areas on one line; the current one highlighted. Click or press its digit."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

AREAS = (
    ("snaps", "Snaps"),
    ("connections", "Connections"),
    ("interfaces", "Interfaces"),
    ("profiles", "Profiles"),
    ("denials", "Denials"),
    ("processes", "Processes"),
    ("doctor", "Doctor"),
)


class NavLabel(Label):
    def __init__(self, area: str, text: str, active: bool, first: bool = False) -> None:
        classes = "nav-item" + (" -active" if active else "") + (" -first" if first else "")
        super().__init__(text, classes=classes)
        self.area = area

    def on_click(self) -> None:
        self.app.switch_area(self.area)


class NavBar(Horizontal):
    """The areas of the console, with their keys (1 to 7)."""

    HELP = "**Areas**: press 1 to 7, or click a name, to go to an area of the console."

    def __init__(self, current: str) -> None:
        super().__init__(id="nav-bar")
        self.current = current

    def compose(self) -> ComposeResult:
        for i, (area, title) in enumerate(AREAS, 1):
            yield NavLabel(area, f"{i} {title}", area == self.current, first=i == 1)
