"""DenialCard: one denial in full: what was refused and why, the suggestions, every
decoded field and the raw record."""
from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

SKIP = {"raw", "fields", "explanation", "suggestions", "reason", "line"}


def _s(s, name, default=None):
    return s.get(name, default) if isinstance(s, dict) else getattr(s, name, default)


class DenialCard(VerticalScroll):
    """The selected denial."""

    HELP = """\
**The selected denial.** The explanation, the interfaces that would allow it (the first
one ready to connect is what **c** connects; a red one is super-privileged and asks
first), every decoded field, and the raw audit record. **s** silences this kind of
denial for this snap."""

    def __init__(self) -> None:
        super().__init__(id="denial-card")
        self.denial = None

    def compose(self):
        yield Static(Text("Select a denial to see why it happened and how to allow it.", style="dim"),
                     id="denial-text")

    def show(self, denial, silenced: bool = False) -> None:
        self.denial = denial
        self.query_one("#denial-text", Static).update(self.render_denial(denial, silenced))

    @staticmethod
    def render_denial(d, silenced: bool = False) -> Text:
        t = Text()
        who = f"{d.snap}.{d.app}" if d.snap and d.app else (d.snap or d.profile or d.comm or "?")
        t.append(f"{d.kind} {d.mode or ''} ", style="bold red" if d.mode == "DENIED" else "bold yellow")
        t.append(who, style="bold cyan")
        if silenced:
            t.append("  (silenced)", style="dim")
        t.append("\n")
        if d.explanation:
            t.append(d.explanation.strip() + "\n")
        if d.suggestions:
            t.append("Suggestions\n", style="bold underline")
            for i, s in enumerate(d.suggestions, 1):
                iface, action = _s(s, "interface"), _s(s, "action", "")
                t.append(f" {i}. ", style="bold")
                if iface:
                    t.append(iface, style="bold red" if _s(s, "super_privileged") else "bold green")
                    t.append(f" ({action})")
                else:
                    t.append(action or "note", style="dim")
                if not _s(s, "certain", True):
                    t.append(" may allow it", style="italic")
                if _s(s, "super_privileged"):
                    t.append(" super-privileged", style="red")
                if _s(s, "command"):
                    t.append(f"  {_s(s, 'command')}", style="dim")
                if _s(s, "note"):
                    t.append(f"  {_s(s, 'note')}", style="italic dim")
                t.append("\n")
        t.append("Fields\n", style="bold underline")
        for key, value in vars(d).items() if hasattr(d, "__dict__") else ():
            if key in SKIP or value in (None, "", ()):
                continue
            t.append(f"  {key}: ", style="cyan")
            t.append(f"{value}\n")
        for key, value in sorted((d.fields or {}).items()):
            t.append(f"  {key}=", style="dim cyan")
            t.append(f"{value}\n", style="dim")
        t.append("Raw record\n", style="bold underline")
        t.append((d.raw or "").strip() + "\n", style="dim")
        return t
