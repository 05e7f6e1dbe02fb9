"""Kernel modules that connected interfaces need: the list, and loading it.

As snapd does: the modules of a snap go into /etc/modules-load.d/snap.<snap>.conf
(one name a line; removed when none are left), so the system loads them at boot,
and each is loaded now with modprobe, only where the kernel has loadable modules
(/proc/modules exists) and modprobe is installed. A module already in the kernel
(/sys/module/NAME, or listed in modules.builtin) is reported as such and never
passed to modprobe. The report says, per module, what happened and why; nothing
is reported as loaded that was not.

Only the standard library is imported.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from .state import atomic_write

if TYPE_CHECKING:  # pragma: no cover
    from .profiles.context import TagContext

CONF_DIR = Path("/etc/modules-load.d")
SYS_MODULE = Path("/sys/module")
PROC_MODULES = Path("/proc/modules")
HEADER = "# Kernel modules of snap {snap!r}, written by confine from its connected interfaces.\n"


def modules_for(contexts: "Iterable[TagContext]") -> list[str]:
    """Every kernel module the interfaces granted to these contexts ask for, sorted."""
    mods: set[str] = set()
    for ctx in contexts:
        for _grant, names in ctx.bodies("kernel-modules"):
            mods.update(names or ())
    return sorted(mods)


def conf_file(snap: str, conf_dir: Path = CONF_DIR) -> Path:
    if not snap or "/" in snap or snap.startswith("."):
        raise ValueError(f"invalid snap name {snap!r}")
    return Path(conf_dir) / f"snap.{snap}.conf"


def conf_text(snap: str, modules: Iterable[str]) -> str:
    """The modules-load.d file of a snap; "" when it has no modules."""
    mods = sorted(set(modules))
    return HEADER.format(snap=snap) + "".join(m + "\n" for m in mods) if mods else ""


def find_modprobe() -> str | None:
    found = shutil.which("modprobe")
    if found:
        return found
    for cand in ("/usr/sbin/modprobe", "/sbin/modprobe", "/usr/bin/modprobe", "/bin/modprobe"):
        if os.access(cand, os.X_OK):
            return cand
    return None


def module_support(proc_modules: Path = PROC_MODULES, modprobe: str | None = None) -> tuple[bool, str, dict]:
    """(loading possible, detail, facts): what `confine doctor` shows for kernel modules."""
    tool = modprobe or find_modprobe()
    loadable = Path(proc_modules).exists()
    facts = {"loadable_modules": loadable, "modprobe": tool}
    if not loadable:
        return False, ("this kernel has no loadable module support (no /proc/modules): module lists are "
                       "written, only modules built into the kernel are present"), facts
    if tool is None:
        return False, "modprobe not found: module lists are written but modules are not loaded", facts
    return True, f"loadable modules; {tool}", facts


def _builtin_names(release: str | None = None) -> set[str]:
    rel = release or os.uname().release
    names: set[str] = set()
    for base in ("/lib/modules", "/usr/lib/modules"):
        try:
            with open(f"{base}/{rel}/modules.builtin", encoding="utf-8") as fh:
                for line in fh:
                    stem = line.strip().rpartition("/")[2]
                    if stem.endswith(".ko"):
                        names.add(stem[:-3].replace("-", "_"))
            break
        except OSError:
            continue
    return names


def module_state(name: str, sys_module: Path = SYS_MODULE, builtin: set[str] | None = None) -> str | None:
    """"built-in", "loaded" (a loadable module already in the kernel) or None (absent)."""
    norm = name.replace("-", "_")
    d = Path(sys_module) / norm
    if d.is_dir():
        # Loadable modules have an initstate; built-in ones (listed when they have
        # parameters) do not.
        return "loaded" if (d / "initstate").exists() else "built-in"
    if norm in (builtin if builtin is not None else _builtin_names()):
        return "built-in"
    return None


@dataclass
class ModuleResult:
    name: str
    status: str          # loaded | already-loaded | built-in | not-loaded | failed | unavailable
    detail: str = ""

    def to_json(self) -> dict:
        return {"name": self.name, "status": self.status, "detail": self.detail}


@dataclass
class ModulesReport:
    snap: str
    path: str
    action: str                                   # written | removed | unchanged | absent | failed
    modules: list[ModuleResult] = field(default_factory=list)
    support: str = ""                             # what the kernel allows here
    not_done: list[str] = field(default_factory=list)

    @property
    def loaded(self) -> list[str]:
        """Modules this call loaded with modprobe."""
        return [m.name for m in self.modules if m.status == "loaded"]

    @property
    def present(self) -> list[str]:
        """Modules in the kernel after this call (loaded now, before, or built in)."""
        return [m.name for m in self.modules if m.status in ("loaded", "already-loaded", "built-in")]

    def lines(self) -> list[str]:
        what = f"kernel modules of snap {self.snap!r} ({self.path})"
        out = [f"{what}: {self.action}"]
        out += [f"{what}: {m.name}: {m.status}" + (f" ({m.detail})" if m.detail else "") for m in self.modules]
        out += [f"{what}: not done: {n}" for n in self.not_done]
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def to_json(self) -> dict:
        return {"snap": self.snap, "path": self.path, "action": self.action, "support": self.support,
                "modules": [m.to_json() for m in self.modules], "not-done": self.not_done}


Runner = Callable[..., subprocess.CompletedProcess]


def install_modules(snap: str, modules: Iterable[str], conf_dir: Path = CONF_DIR, load: bool = True, *,
                    sys_module: Path = SYS_MODULE, proc_modules: Path = PROC_MODULES,
                    modprobe: str | None = None, builtin: set[str] | None = None,
                    run: Runner = subprocess.run) -> ModulesReport:
    """Write (or remove) snap.<snap>.conf in `conf_dir`, then load each module with
    modprobe where the kernel has loadable modules. Paths and the runner are
    parameters so tests work in temporary directories with fakes."""
    mods = sorted(set(modules))
    path = conf_file(snap, Path(conf_dir))
    report = ModulesReport(snap, str(path), "absent")
    text = conf_text(snap, mods)
    try:
        try:
            old = path.read_text()
        except FileNotFoundError:
            old = ""
        if text:
            if old == text:
                report.action = "unchanged"
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write(path, text.encode(), 0o644)
                report.action = "written"
        elif old or path.exists():
            path.unlink(missing_ok=True)
            report.action = "removed"
    except OSError as exc:
        report.action = "failed"
        report.not_done.append(f"write: {exc.strerror or exc}; the module list was left as it was")

    possible, detail, facts = module_support(proc_modules, modprobe)
    report.support = detail
    tool = facts["modprobe"]
    for name in mods:
        state = module_state(name, sys_module, builtin)
        if state == "built-in":
            report.modules.append(ModuleResult(name, "built-in", "part of the kernel"))
        elif state == "loaded":
            report.modules.append(ModuleResult(name, "already-loaded", f"{Path(sys_module) / name.replace('-', '_')} exists"))
        elif not load:
            report.modules.append(ModuleResult(name, "not-loaded", "loading not requested"))
        elif not possible:
            report.modules.append(ModuleResult(name, "unavailable", f"not built in, and {detail}"))
        else:
            try:
                proc = run([tool, "--syslog", name], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
                ok, msg = proc.returncode == 0, (proc.stderr or proc.stdout or "").strip()
                if not ok and not msg:
                    msg = f"exit status {proc.returncode}"
            except (OSError, subprocess.SubprocessError) as exc:
                ok, msg = False, str(exc)
            if ok:
                report.modules.append(ModuleResult(name, "loaded", f"modprobe {name}"))
            else:
                report.modules.append(ModuleResult(name, "failed", f"modprobe: {msg}"))
    return report
