"""CodeView: long highlighted text (profiles, diffs) drawn line by line.

A Static holding a 2,000-line compiled filter lays out every line on each update;
this keeps the lines as strings and highlights only those on screen (cached), so a
large profile opens at once. No wrapping: long lines scroll horizontally.
"""
from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..highlight import highlight
from .fast_table import set_virtual_size


class CodeView(ScrollView, can_focus=True):
    """Highlighted text, scrollable with the arrow and page keys."""

    HELP = "**Text.** up/down, page up/down, home/end scroll; left/right scroll long lines."

    BINDINGS = [
        Binding("up", "scroll_up", "Up", show=False, id="code.up"),
        Binding("down", "scroll_down", "Down", show=False, id="code.down"),
        Binding("left", "scroll_left", "Left", show=False, id="code.left"),
        Binding("right", "scroll_right", "Right", show=False, id="code.right"),
        Binding("pageup", "page_up", "Page up", show=False, id="code.page-up"),
        Binding("pagedown", "page_down", "Page down", show=False, id="code.page-down"),
        Binding("home", "scroll_home", "Top", show=False, id="code.top"),
        Binding("end", "scroll_end", "Bottom", show=False, id="code.bottom"),
    ]

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.lines: list[str] = []
        self.kind = ""
        self.message: Text | None = None
        self._cache: dict[int, Strip] = {}

    def set_text(self, text: str, kind: str) -> None:
        self.message = None
        self.lines = text.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        self.kind = kind
        self._cache = {}
        width = max((cell_len(line.expandtabs(8)) for line in self.lines), default=0)
        set_virtual_size(self, Size(width, len(self.lines)))
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def set_message(self, message: Text) -> None:
        self.lines = []
        self._cache = {}
        self.message = message
        set_virtual_size(self, Size(0, 1))
        self.refresh()

    @property
    def plain(self) -> str:
        return self.message.plain if self.message is not None else "\n".join(self.lines)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache = {}

    def _strip(self, index: int) -> Strip:
        strip = self._cache.get(index)
        if strip is None:
            text = highlight(self.lines[index].expandtabs(8), self.kind)
            base = self.rich_style
            strip = Strip([Segment(s.text, base + s.style if s.style else base)
                           for s in text.render(self.app.console, end="")])
            if len(self._cache) > 2000:
                self._cache.clear()
            self._cache[index] = strip
        return strip

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if self.message is not None:
            if y == 0:
                segs = [Segment(s.text, base + s.style if s.style else base)
                        for s in self.message.render(self.app.console, end="")]
                return Strip(segs).crop_extend(0, width, base)
            return Strip.blank(width, base)
        scroll_x, scroll_y = self.scroll_offset
        index = scroll_y + y
        if index >= len(self.lines):
            return Strip.blank(width, base)
        return self._strip(index).crop_extend(scroll_x, scroll_x + width, base)
