"""Processes: the confined apps running now (refreshed), launching an app with its
output shown here, and stopping one."""
from __future__ import annotations

import time

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Log, Select

from ..messages import LoadFailed, OutputLines, ProcessesLoaded, SnapsLoaded
from ..widgets.fast_table import Column, FastTable, Row
from .base import AreaScreen


def _p(p, *names, default=None):
    for n in names:
        v = p.get(n) if isinstance(p, dict) else getattr(p, n, None)
        if v not in (None, ""):
            return v
    return default


class ProcessesScreen(AreaScreen):
    AREA = "processes"
    HELP = """\
## Processes

The confined apps running now, refreshed every two seconds. Pick an app in the list
at the top and press **l** to launch it (`confine run SNAP.APP`): its output shows
below. **k** stops the selected process (SIGTERM, which `confine run` passes on)."""

    BINDINGS = [
        Binding("l", "launch", "Launch", id="processes.launch"),
        Binding("k", "stop", "Stop", id="processes.stop"),
        Binding("r", "refresh", "Refresh", show=False, id="processes.refresh"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.processes: list = []
        self.message = ""
        self.targets: list[str] = []

    def compose_body(self) -> ComposeResult:
        with Vertical(id="processes-body"):
            with Horizontal(classes="filters"):
                yield Label("App to launch:", classes="filter-label")
                yield Select([], prompt="pick an app", compact=True, id="launch-target")
            yield FastTable([Column("PID", 7), Column("App"), Column("Sandbox", 18), Column("CPU", 5),
                             Column("Memory", 7), Column("Up", 7)], id="proc-table", empty="Loading...")
            yield Label("", id="proc-status", classes="status")
            yield Log(id="proc-output", max_lines=5000)

    def on_mount(self) -> None:
        ok, why = self.app.processes.available()
        self.message = "" if ok else why
        super().on_mount()
        self.query_one("#proc-table", FastTable).focus()
        self.set_interval(2.0, self.refresh_processes, name="processes refresh")

    def reload(self) -> None:
        super().reload()

        def work() -> None:
            try:
                self.post_message(SnapsLoaded(self.app.backend.snaps(), [], self.app.state_serial))
            except Exception as exc:  # noqa: BLE001
                self.post_message(LoadFailed("apps", str(exc)))

        self.run_worker(work, name="load apps to launch", group="processes-apps", exclusive=True, thread=True)
        self.refresh_processes()

    def on_snaps_loaded(self, message: SnapsLoaded) -> None:
        targets = [f"{s.name}.{a}" for s in message.snaps for a in sorted(s.apps)]
        select = self.query_one("#launch-target", Select)
        if targets != self.targets:
            self.targets = targets
            current = select.value
            select.set_options([(t, t) for t in targets])
            if current in targets:
                select.value = current
        snaps = self.app.area_screens_value("snaps", "detail_name")
        if select.value is Select.NULL and snaps:
            first = next((t for t in targets if t.split(".")[0] == snaps), None)
            if first:
                select.value = first

    def on_load_failed(self, message: LoadFailed) -> None:
        self.notify(message.error, title=f"Cannot load {message.what}", severity="error")

    def action_refresh(self) -> None:
        self.refresh_processes()

    def refresh_processes(self) -> None:
        adapter = self.app.processes
        available = not self.message

        def work() -> None:
            if not available:
                self.post_message(ProcessesLoaded([]))
                return
            try:
                self.post_message(ProcessesLoaded(adapter.list()))
            except Exception as exc:  # noqa: BLE001
                self.post_message(ProcessesLoaded([], str(exc)))

        self.run_worker(work, name="list processes", group="processes", exclusive=True, thread=True)

    def on_processes_loaded(self, message: ProcessesLoaded) -> None:
        rows = []
        seen = set()
        now = time.time()
        for p in message.processes:
            pid = _p(p, "pid")
            seen.add(pid)
            name = _p(p, "target", default=None) or f"{_p(p, 'snap', default='?')}.{_p(p, 'app', default='?')}"
            started = _p(p, "started", default=None)
            up = _fmt_age(now - started) if isinstance(started, (int, float)) and started else "-"
            cpu = _p(p, "cpu_percent", default=None)
            mem = _p(p, "memory_rss", default=None)
            rows.append(Row(pid, (str(pid), name, _sandbox(p),
                                  f"{cpu:.0f}%" if isinstance(cpu, (int, float)) else "-",
                                  _fmt_bytes(mem) if isinstance(mem, (int, float)) else "-", up)))
        for launch in self.app.processes.launches.values():
            if launch.pid in seen:
                continue
            running = launch.proc.poll() is None
            state = "running" if running else f"exit {launch.status if launch.status is not None else launch.proc.returncode}"
            rows.append(Row(launch.pid, (str(launch.pid), f"{launch.target} (launched here)", state, "-", "-",
                                         _fmt_age(now - launch.started) if running else "-")))
        table = self.query_one("#proc-table", FastTable)
        table.empty_text = "No confined app is running."
        table.set_rows(rows)
        status = self.query_one("#proc-status", Label)
        if message.error:
            status.update(Text(f"Cannot list processes: {message.error}", style="bold red"))
        elif self.message:
            status.update(Text(self.message, style="yellow"))
        else:
            status.update(Text(f"{len(rows)} process{'es' * (len(rows) != 1)} · refreshed every 2 s", style="dim"))

    def action_launch(self) -> None:
        target = self.query_one("#launch-target", Select).value
        if target is Select.NULL:
            self.notify("Pick an app to launch first.", severity="warning")
            self.query_one("#launch-target", Select).focus()
            return
        log = self.query_one("#proc-output", Log)
        try:
            launch = self.app.processes.launch(
                target, lambda i, lines, ended, status: self.post_message(OutputLines(i, lines, ended, status)))
        except OSError as exc:
            self.notify(str(exc), title=f"Could not launch {target}", severity="error")
            return
        log.write_line(f"$ {launch.command}   (pid {launch.pid})")
        self.refresh_processes()

    def on_output_lines(self, message: OutputLines) -> None:
        log = self.query_one("#proc-output", Log)
        launch = self.app.processes.launches.get(message.run_id)
        prefix = f"[{launch.target}] " if launch else ""
        if message.lines:
            log.write_lines([prefix + line for line in message.lines])
        if message.ended:
            log.write_line(f"{prefix}ended with status {message.status}")
            self.refresh_processes()

    def action_stop(self) -> None:
        pid = self.query_one("#proc-table", FastTable).current_key
        if pid is None:
            self.notify("Select a process first.", severity="warning")
            return
        adapter = self.app.processes

        def work() -> None:
            try:
                text = adapter.stop(pid)
                self.app.call_from_thread(self.notify, text, title="Stop")
            except Exception as exc:  # noqa: BLE001
                self.app.call_from_thread(self.notify, str(exc), title="Could not stop", severity="error")
            self.app.call_from_thread(self.refresh_processes)

        self.run_worker(work, name=f"stop {pid}", group="processes-stop", thread=True)

    def commands(self):
        out = []
        target = self.query_one("#launch-target", Select).value
        if target is not Select.NULL:
            out.append((f"Processes: Launch {target}", "Run the app confined and show its output",
                        self.action_launch))
        pid = self.query_one("#proc-table", FastTable).current_key
        if pid is not None:
            out.append((f"Processes: Stop {pid}", "Send SIGTERM to the selected process", self.action_stop))
        return out


def _sandbox(p) -> str:
    """The layers that hold a process: its label (AppArmor or landlock) and seccomp filters."""
    parts = []
    label = _p(p, "label", default="")
    if label and label != "unconfined":
        parts.append("apparmor" if label.startswith("snap.") else label)
    filters = _p(p, "seccomp_filters", default=None)
    if _p(p, "seccomp", default="") == "filter":
        parts.append(f"seccomp×{filters}" if filters else "seccomp")
    return "+".join(parts) or "unconfined"


def _fmt_age(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def _fmt_bytes(n: float) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024:
            return f"{n:.0f}{unit}"
        n /= 1024
    return f"{n:.0f}T"
