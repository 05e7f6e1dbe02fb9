"""Doctor: which enforcement layers this kernel offers, each with why (confine doctor)."""
from __future__ import annotations

import json

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from ..messages import DoctorLoaded
from ..widgets.fast_table import Column, FastTable, Row
from .base import AreaScreen

WHAT = {
    "seccomp": "system-call filters",
    "landlock": "file and network access rules",
    "apparmor-kernel": "AppArmor mediation in the kernel",
    "apparmor-parser": "compiling AppArmor profiles",
    "cgroup-v1-devices": "device access (cgroup v1)",
    "cgroup-v2-device-bpf": "device access (cgroup v2 BPF)",
    "mount-namespace": "private mounts, /tmp, read-only /proc and /sys",
    "pid-namespace": "private process tree",
    "user-namespace": "launching without root",
    "audit-netlink": "live denials",
    "udevd": "device tagging",
    "kernel-modules": "loading modules interfaces need",
}


def _get(layer, name, default=None):
    return layer.get(name, default) if isinstance(layer, dict) else getattr(layer, name, default)


class DoctorScreen(AreaScreen):
    AREA = "doctor"
    HELP = """\
## Doctor

Each layer the launcher may use, probed once on this kernel: available or not, and
why. A layer that is missing is skipped by name when an app starts; nothing is
reported as enforced that is not. **r** probes again (`confine doctor`)."""

    BINDINGS = [
        Binding("r", "probe", "Probe again", id="doctor.probe"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.probed: list = []

    def compose_body(self) -> ComposeResult:
        with Vertical(id="doctor-body"):
            yield Label("Probing the kernel...", id="doctor-summary", classes="status")
            yield FastTable([Column("Layer", 21), Column("OK", 3), Column("What it enforces", 26),
                             Column("Detail")], id="doctor-table", empty="Probing...")
            with VerticalScroll(id="doctor-detail"):
                yield Static("", id="doctor-facts")

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#doctor-table", FastTable).focus()
        self.action_probe()

    def reload(self) -> None:  # the kernel does not change with the state
        super().reload()

    def action_probe(self) -> None:
        self.query_one("#doctor-summary", Label).update("Probing the kernel...")
        self.probe()

    @work(thread=True, name="doctor probe", group="doctor", exclusive=True)
    def probe(self) -> None:
        try:
            self.post_message(DoctorLoaded(list(self.app.backend.doctor())))
        except Exception as exc:  # noqa: BLE001
            self.post_message(DoctorLoaded([], str(exc)))

    def on_doctor_loaded(self, message: DoctorLoaded) -> None:
        summary = self.query_one("#doctor-summary", Label)
        if message.error:
            summary.update(Text(f"The probe failed: {message.error}", style="bold red"))
            return
        self.probed = message.layers
        rows = []
        for layer in self.probed:
            name, ok = _get(layer, "name"), _get(layer, "available")
            rows.append(Row(name, (name, Text("yes", style="green") if ok else Text("no", style="red"),
                                   WHAT.get(name, ""), _get(layer, "detail", ""))))
        self.query_one("#doctor-table", FastTable).set_rows(rows)
        yes = [_get(l, "name") for l in self.probed if _get(l, "available")]
        no = [_get(l, "name") for l in self.probed if not _get(l, "available")]
        t = Text()
        t.append(f"{len(yes)} of {len(self.probed)} layers available", style="bold")
        if no:
            t.append("; missing: ", style="")
            t.append(", ".join(no), style="red")
        summary.update(t)

    @on(FastTable.Highlighted, "#doctor-table")
    def highlighted(self, event: FastTable.Highlighted) -> None:
        layer = next((l for l in self.probed if _get(l, "name") == event.key), None)
        if layer is None:
            return
        t = Text()
        t.append(f"{_get(layer, 'name')}: ", style="bold")
        t.append(_get(layer, "detail", "") + "\n")
        for k, v in (_get(layer, "facts") or {}).items():
            t.append(f"  {k}: ", style="cyan")
            t.append((v if isinstance(v, str) else json.dumps(v, default=str)) + "\n")
        self.query_one("#doctor-facts", Static).update(t)

    def commands(self):
        return [("Doctor: Probe", "Probe the kernel's layers again", self.action_probe)]
