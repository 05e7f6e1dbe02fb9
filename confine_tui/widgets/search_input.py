"""SearchInput: an Input that filters in the same frame as the keystroke.

Input posts Changed, which the screen handles after the next repaint: a filter on
Changed costs two repaints per key. SearchInput calls its `on_value` callback from
the value's watcher instead, so the list is filtered before the first repaint.
"""
from __future__ import annotations

from typing import Callable

from textual.widgets import Input


class SearchInput(Input):
    """Type to filter; the list follows each keystroke."""

    HELP = "**Search.** Type to narrow the list; enter (or escape) goes back to the list."

    def __init__(self, *, placeholder: str = "", id: str | None = None, classes: str | None = None,
                 on_value: Callable[[str], None] | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id, classes=classes)
        self.on_value = on_value

    def watch_value(self, value: str) -> None:
        if self.on_value is not None and self.is_mounted:
            self.on_value(value)
