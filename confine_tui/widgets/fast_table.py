"""FastTable: a table drawn line by line, so that only the rows on screen cost anything.

DataTable builds a row object per row (10,000 rows take seconds); this widget keeps
the rows as plain tuples and renders the visible ones when Textual asks for a line.
Replacing every row (a filter keystroke over 20,000 connections) is one list
assignment. The first line is the column header; it does not scroll.

A table of records that arrive by the thousand (denials) can hold the records
themselves and a `row_of` function: only the rows on screen are ever formatted.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = "str | Text"


@dataclass(frozen=True)
class Column:
    label: str
    width: int | None = None      # None: shares the room left by the fixed columns
    min_width: int = 4


@dataclass(frozen=True)
class Row:
    key: Any
    cells: tuple


class FastTable(ScrollView, can_focus=True):
    """A fast, read-only table with a row cursor."""

    HELP = """\
**Table**: up/down, page up/down, home/end move the cursor; enter opens the row.
Only the rows on screen are drawn, so long lists stay quick."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False, id="table.up"),
        Binding("down", "cursor(1)", "Down", show=False, id="table.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="table.page-up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="table.page-down"),
        Binding("home", "first", "First row", show=False, id="table.first"),
        Binding("end", "last", "Last row", show=False, id="table.last"),
        Binding("enter", "select", "Open", show=False, id="table.select"),
    ]

    COMPONENT_CLASSES = {"fast-table--header", "fast-table--cursor", "fast-table--cursor-blurred",
                         "fast-table--empty"}

    cursor = reactive(0, always_update=True, init=False)

    class Highlighted(Message):
        """The cursor moved to another row."""

        def __init__(self, table: "FastTable", index: int, key: Any) -> None:
            super().__init__()
            self.table = table
            self.index = index
            self.key = key

        @property
        def control(self) -> "FastTable":
            return self.table

    class Selected(Highlighted):
        """Enter (or a click on the cursor row) on a row."""

    def __init__(self, columns: Sequence[Column], *, empty: str = "Nothing to show.", name: str | None = None,
                 id: str | None = None, classes: str | None = None,
                 row_of: Callable[[Any], Row] | None = None, key_of: Callable[[Any], Any] | None = None) -> None:
        """`row_of`: `rows` holds records, and this makes the Row of one when it is drawn
        (`key_of` gives a record's key without formatting it; default: its Row's key)."""
        super().__init__(name=name, id=id, classes=classes)
        self.columns = list(columns)
        self.rows: list = []
        self.empty_text = empty
        self._last_key: Any = object()
        self.row_of = row_of
        self.key_of = key_of
        self._made: dict[int, tuple[Any, Row]] = {}   # id(record) -> (record, its Row), rows drawn lately

    # ---- data ------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.rows)

    def row(self, index: int) -> Row:
        """The Row at `index` (made from its record when the table holds records)."""
        item = self.rows[index]
        if self.row_of is None:
            return item
        made = self._made.get(id(item))
        if made is None or made[0] is not item:
            if len(self._made) > 512:
                self._made.clear()
            made = self._made[id(item)] = (item, self.row_of(item))
        return made[1]

    def _key(self, item: Any) -> Any:
        if self.key_of is not None:
            return self.key_of(item)
        return (self.row_of(item) if self.row_of is not None else item).key

    @property
    def current(self) -> Row | None:
        return self.row(self.cursor) if 0 <= self.cursor < len(self.rows) else None

    @property
    def current_key(self) -> Any:
        if not 0 <= self.cursor < len(self.rows):
            return None
        return self._key(self.rows[self.cursor])

    def set_rows(self, rows: list, keep: Any = None) -> None:
        """Show `rows`; the cursor stays on the row of key `keep` (default: the current one)."""
        key = self.current_key if keep is None else keep
        self.rows = rows
        self._made.clear()
        index = 0
        if key is not None:
            for i, row in enumerate(rows):
                if self._key(row) == key:
                    index = i
                    break
        self._resize()
        self.cursor = min(index, max(0, len(rows) - 1))
        self.refresh()

    def append_rows(self, rows: list, follow: bool = True, limit: int | None = None) -> int:
        """Add rows at the end (the tail of a stream); returns how many old rows were dropped."""
        at_end = self.at_end
        self.rows.extend(rows)
        dropped = 0
        if limit is not None and len(self.rows) > limit:
            dropped = len(self.rows) - limit
            del self.rows[:dropped]
            if not (follow and at_end):
                self.cursor = max(0, self.cursor - dropped)
        self._resize()
        if follow and at_end:
            self.action_last()
        else:
            self.refresh()
        return dropped

    def _resize(self) -> None:
        set_virtual_size(self, Size(0, len(self.rows) + 1))

    @property
    def at_end(self) -> bool:
        """The view shows the last row (a tail that follows new rows)."""
        return self.scroll_offset.y >= self.max_scroll_y or not self.rows

    # ---- geometry --------------------------------------------------------------

    def column_widths(self, width: int) -> list[int]:
        fixed = sum(c.width for c in self.columns if c.width is not None)
        flex = [c for c in self.columns if c.width is None]
        gaps = len(self.columns) - 1
        room = max(0, width - fixed - gaps)
        out = []
        left = room
        for i, c in enumerate(self.columns):
            if c.width is not None:
                out.append(c.width)
            else:
                share = room // len(flex) if flex else 0
                if c is flex[-1]:
                    share = left
                left -= share
                out.append(max(c.min_width, share))
        return out

    def on_resize(self, event: events.Resize) -> None:
        self._resize()

    # ---- rendering ---------------------------------------------------------------

    def _line(self, cells: Sequence, widths: list[int], style: Style) -> Strip:
        segments: list[Segment] = []
        console = self.app.console
        for i, (cell, width) in enumerate(zip(cells, widths)):
            if i:
                segments.append(Segment(" ", style))
            if isinstance(cell, Text):
                text = cell.copy()
            else:
                text = Text(str(cell))
            text.truncate(width, overflow="ellipsis", pad=True)
            for seg in text.render(console, end=""):
                segments.append(Segment(seg.text, style + seg.style if seg.style else style))
        return Strip(segments)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}

    def _style(self, name: str) -> Style:
        """The widget's style plus a component's, computed once per style change."""
        styles = self.__dict__.setdefault("_styles", {})
        style = styles.get(name)
        if style is None:
            style = self.rich_style if name == "base" else self.rich_style + self.get_component_rich_style(name)
            styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self._style("base")
        widths = self.column_widths(width)
        if y == 0:
            style = self._style("fast-table--header")
            strip = self._line([c.label for c in self.columns], widths, style)
            return strip.crop_extend(0, width, style)
        index = self.scroll_offset.y + y - 1
        if index >= len(self.rows):
            if not self.rows and y == 1:
                style = self._style("fast-table--empty")
                return Strip([Segment(self.empty_text[:width], style)]).crop_extend(0, width, base)
            return Strip.blank(width, base)
        style = base
        if index == self.cursor:
            name = "fast-table--cursor" if self.has_focus else "fast-table--cursor-blurred"
            style = self._style(name)
        return self._line(self.row(index).cells, widths, style).crop_extend(0, width, style)

    def on_focus(self) -> None:
        self._styles = {}
        self.refresh()

    def on_blur(self) -> None:
        self._styles = {}
        self.refresh()

    # ---- cursor ----------------------------------------------------------------

    def watch_cursor(self, cursor: int) -> None:
        self._scroll_to_cursor()
        self.refresh()
        key = self.current_key
        if key != self._last_key:
            self._last_key = key
            self.post_message(self.Highlighted(self, cursor, key))

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.size.height - 1)
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    def move_to(self, index: int) -> None:
        if self.rows:
            self.cursor = max(0, min(index, len(self.rows) - 1))

    def action_cursor(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        self.move_to(self.cursor + direction * max(1, self.size.height - 2))

    def action_first(self) -> None:
        self.move_to(0)

    def action_last(self) -> None:
        self.move_to(len(self.rows) - 1)
        self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

    def action_select(self) -> None:
        row = self.current
        if row is not None:
            self.post_message(self.Selected(self, self.cursor, row.key))

    def on_click(self, event: events.Click) -> None:
        if event.y < 1:
            return
        index = self.scroll_offset.y + event.y - 1
        if 0 <= index < len(self.rows):
            if index == self.cursor and event.chain > 1:
                self.action_select()
            self.cursor = index


def cell_width(text: str) -> int:
    return cell_len(text)


def set_virtual_size(widget, size: Size) -> None:
    """Change a scroll view's virtual size without a layout of the whole screen.

    Setting `virtual_size` lays out the screen (every widget): for a list filtered on
    each keystroke that is most of the cost. Only a scrollbar appearing or going
    away changes the layout; otherwise the scrollbars are updated and the widget
    repainted."""
    from textual.widget import Widget

    old = widget.virtual_size
    if size == old:
        return
    height, width = widget.size.height, widget.size.width
    if (old.height > height) != (size.height > height) or (old.width > width) != (size.width > width):
        widget.virtual_size = size
        return
    widget.set_reactive(Widget.virtual_size, size)
    widget._scroll_update(size)
    widget.refresh()
