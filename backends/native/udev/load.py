"""Install a snap's udev rules into the host, and have udev apply them where it runs.

As snapd does: the rules file goes to /etc/udev/rules.d/70-snap.<snap>.rules
(written atomically, removed when the snap has no device matches); then, only
where udevd runs, `udevadm control --reload-rules` and `udevadm trigger` for the
subsystems the old and new rules select, so that present devices get (or lose)
the tags. Where udevd does not run the file is written and nothing else: the
report says so by name, and confine's launcher applies device access itself
from /sys. Nothing is reported as loaded that was not.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..state import atomic_write
from .rules import subsystems_of

RULES_DIR = Path("/etc/udev/rules.d")
NOT_RUNNING = ("udevd is not running: rules written but not loaded; "
               "confine's launcher applies device access itself")


def rules_file(snap: str, rules_dir: Path = RULES_DIR) -> Path:
    if not snap or "/" in snap or snap.startswith("."):
        raise ValueError(f"invalid snap name {snap!r}")
    return Path(rules_dir) / f"70-snap.{snap}.rules"


def udevd_status() -> tuple[bool, str]:
    """(running, detail) from confine doctor's udevd probe."""
    from ..doctor import probe_layer

    layer = probe_layer("udevd")
    return layer.available, layer.detail


def find_udevadm() -> str | None:
    found = shutil.which("udevadm")
    if found:
        return found
    for cand in ("/usr/bin/udevadm", "/bin/udevadm", "/sbin/udevadm", "/usr/sbin/udevadm"):
        if os.access(cand, os.X_OK):
            return cand
    return None


@dataclass
class UdevReport:
    """What install_rules did, by name, and what it did not do and why."""

    snap: str
    path: str
    action: str                  # written | removed | unchanged | absent | failed
    loaded: bool = False         # udev re-read its rules (udevadm control --reload-rules succeeded)
    triggered: list[str] = field(default_factory=list)   # subsystems (or "all but input") triggered
    done: list[str] = field(default_factory=list)
    not_done: list[str] = field(default_factory=list)     # "step: why"

    @property
    def ok(self) -> bool:
        return self.action != "failed"

    def lines(self) -> list[str]:
        what = f"udev rules of snap {self.snap!r} ({self.path})"
        out = [f"{what}: {d}" for d in self.done]
        out += [f"{what}: not done: {n}" for n in self.not_done]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_json(self) -> dict:
        return {"snap": self.snap, "path": self.path, "action": self.action, "loaded": self.loaded,
                "triggered": self.triggered, "done": self.done, "not-done": self.not_done}


Runner = Callable[..., subprocess.CompletedProcess]


def _run(run: Runner, argv: list[str]) -> tuple[bool, str]:
    try:
        proc = run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, str(exc)
    if proc.returncode != 0:
        msg = (proc.stderr or proc.stdout or "").strip() or f"exit status {proc.returncode}"
        return False, msg
    return True, ""


def install_rules(snap: str, text: str, rules_dir: Path = RULES_DIR, *, udevd: bool | None = None,
                  udevadm: str | None = None, run: Runner = subprocess.run) -> UdevReport:
    """Write (or remove, when `text` is empty) 70-snap.<snap>.rules in `rules_dir`,
    then reload udev and trigger the affected subsystems only where udevd runs.

    `udevd` overrides the detection (None: ask doctor's probe); `udevadm` and `run`
    name the tool and the way to run it (tests pass fakes).
    """
    path = rules_file(snap, Path(rules_dir))
    report = UdevReport(snap, str(path), "absent")
    try:
        old = path.read_text()
    except FileNotFoundError:
        old = ""
    except OSError as exc:
        report.action = "failed"
        report.not_done.append(f"read: {exc.strerror or exc}")
        return report

    try:
        if text:
            if old == text:
                report.action = "unchanged"
                report.done.append("unchanged; nothing to reload")
                return report
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, text.encode(), 0o644)
            report.action = "written"
            report.done.append("written")
        else:
            if not old and not path.exists():
                report.done.append("no device rules; no file to remove")
                return report
            path.unlink(missing_ok=True)
            report.action = "removed"
            report.done.append("removed (no device matches left)")
    except OSError as exc:
        report.action = "failed"
        report.not_done.append(f"write: {exc.strerror or exc}; udev rules left as they were")
        return report

    if udevd is None:
        udevd, detail = udevd_status()
    else:
        detail = "running" if udevd else "not running"
    if not udevd:
        if report.action == "removed":
            report.not_done.append("reload and trigger: udevd is not running: rules removed but udev not "
                                   "reloaded; confine's launcher applies device access itself")
        else:
            report.not_done.append(f"reload and trigger: {NOT_RUNNING}")
        return report

    tool = udevadm or find_udevadm()
    if tool is None:
        report.not_done.append("reload and trigger: udevd runs but udevadm was not found: rules not loaded")
        return report
    ok, msg = _run(run, [tool, "control", "--reload-rules"])
    if not ok:
        report.not_done.append(f"reload: udevadm control --reload-rules failed: {msg}; rules not loaded")
        return report
    report.loaded = True
    report.done.append("loaded (udevadm control --reload-rules)")

    new_subs, new_all = subsystems_of(text)
    old_subs, old_all = subsystems_of(old)
    triggers: list[tuple[str, list[str]]] = []
    if new_all or old_all:
        # A rule selecting devices of any subsystem: trigger everything but input
        # devices, as snapd does (re-adding input devices upsets running sessions).
        triggers.append(("all but input", ["--subsystem-nomatch=input"]))
    else:
        triggers += [(s, [f"--subsystem-match={s}"]) for s in sorted(new_subs | old_subs)]
    for name, args in triggers:
        ok, msg = _run(run, [tool, "trigger", "--action=change", *args])
        if ok:
            report.triggered.append(name)
        else:
            report.not_done.append(f"trigger {name}: udevadm trigger failed: {msg}")
    if report.triggered:
        report.done.append("triggered: " + ", ".join(report.triggered))
        ok, msg = _run(run, [tool, "settle", "--timeout=10"])
        if not ok:
            report.not_done.append(f"settle: udevadm settle failed: {msg}")
    return report
