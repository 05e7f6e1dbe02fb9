"""Screenshots of every area of the console, at 120x40 and 80x24.

    .venv/bin/python -m confine_tui.screenshots [--out DIR] [--only NAME...]

installs the bundled examples into a temporary root, opens the console over it,
plays each scene's keys and saves `screenshots/<scene>-<W>x<H>.svg`. The same scenes
are the snapshot tests (tests/tui/test_snapshots.py). What depends on the machine
(the kernel's layers, the running processes, live denials) is replaced by fixed
samples so the pictures are the same everywhere.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable

SIZES = ((120, 40), (80, 24))
REPO = Path(__file__).resolve().parent.parent

# Audit records (fixed stamps) fed through the denials adapter.
AA_REMOVABLE = ('type=1400 audit(1700000000.100:101): apparmor="DENIED" operation="open" class="file" '
                'profile="snap.notes.notes" name="/media/usb/todo.txt" pid=4242 comm="notes" '
                'requested_mask="r" denied_mask="r" fsuid=0 ouid=0')
AA_CAMERA = ('type=1400 audit(1700000001.200:102): apparmor="DENIED" operation="open" class="file" '
             'profile="snap.webbrowser.webbrowser" name="/dev/video0" pid=4243 comm="webbrowser" '
             'requested_mask="wr" denied_mask="wr" fsuid=0 ouid=0')
SECCOMP_PTRACE = ('type=1326 audit(1700000002.300:103): auid=0 uid=0 gid=0 ses=1 subj=snap.sysmon.sysmon '
                  'pid=4244 comm="sysmon" exe="/usr/bin/python3" sig=0 arch=c000003e syscall=101 compat=0 '
                  'ip=0x7f0000000000 code=0x50000')
DOCKER = ('type=1400 audit(1700000003.400:104): apparmor="DENIED" operation="connect" class="file" '
          'profile="snap.containerd-lite.daemon" name="/run/containerd/containerd.sock" pid=4245 '
          'comm="containerd" requested_mask="wr" denied_mask="wr" fsuid=0 ouid=0')
SAMPLE_DENIALS = (AA_REMOVABLE, AA_CAMERA, SECCOMP_PTRACE, DOCKER)


def fake_layers() -> list:
    from backends.native.doctor import Layer

    return [
        Layer("seccomp", True, "filters with errno, log and user notification"),
        Layer("landlock", True, "ABI 7: files, TCP bind and connect, scopes"),
        Layer("apparmor-kernel", False, "AppArmor is not among the kernel's LSMs"),
        Layer("apparmor-parser", True, "apparmor_parser compiles profiles"),
        Layer("cgroup-v1-devices", True, "devices controller mounted"),
        Layer("cgroup-v2-device-bpf", True, "BPF_PROG_TYPE_CGROUP_DEVICE loads"),
        Layer("mount-namespace", True, "unshare(CLONE_NEWNS) works"),
        Layer("pid-namespace", True, "unshare(CLONE_NEWPID) works"),
        Layer("user-namespace", True, "unprivileged user namespaces allowed"),
        Layer("audit-netlink", True, "read-log multicast group joined"),
        Layer("udevd", False, "udevd is not running"),
        Layer("kernel-modules", True, "modprobe found"),
    ]


def fixed_backend(root: Path):
    """The engine over `root`, with a doctor report that does not depend on the machine."""
    from backends.native.engine import NativeBackend

    class FixedDoctorBackend(NativeBackend):
        def doctor(self):
            return fake_layers()

    return FixedDoctorBackend(root, system_kind="classic")


def fixed_processes(root: Path):
    from .adapters.processes import ProcessesAdapter

    class FixedProcesses(ProcessesAdapter):
        rows = [SimpleNamespace(pid=4242, target="notes.notes", snap="notes", app="notes", label="landlock",
                                seccomp="filter", seccomp_filters=2, cpu_percent=0.0, memory_rss=12 << 20,
                                started=0),
                SimpleNamespace(pid=4250, target="webbrowser.webbrowser", snap="webbrowser", app="webbrowser",
                                label="landlock", seccomp="filter", seccomp_filters=2, cpu_percent=3.0,
                                memory_rss=180 << 20, started=0)]

        @staticmethod
        def available():
            return True, ""

        def list(self):
            return list(self.rows)

    return FixedProcesses(root)


@dataclass(frozen=True)
class Scene:
    name: str
    what: str
    keys: tuple[str, ...] = ()
    denials: bool = False                       # feed SAMPLE_DENIALS first
    before: Callable | None = field(default=None, compare=False)


SCENES = (
    Scene("snaps", "Snaps: the list with badges; the first snap's plugs", ()),
    Scene("snaps-webbrowser", "Snaps: a snap with many plugs, some refused auto-connection", ("end",)),
    Scene("snaps-search", "Snaps: search as you type", ("slash", "n", "e", "t")),
    Scene("snaps-grant", "Snaps: confirming a super-privileged grant", ("down", "enter", "space")),
    Scene("snaps-preview", "Snaps: the profile diff a connection would make",
          ("end", "enter", "tab", "tab", "p")),
    Scene("connections", "Connections: every connection and unconnected end", ("2",)),
    Scene("connections-filter", "Connections: filtered by interface", ("2", "slash", "c", "a", "m")),
    Scene("interfaces", "Interfaces: the catalogue and what docker-support grants",
          ("3", "slash", *"docker-s", "enter")),
    Scene("profiles", "Profiles: the AppArmor profile of an app", ("4", "end")),
    Scene("profiles-seccomp", "Profiles: the seccomp policy", ("4", "end", "right_square_bracket")),
    Scene("denials", "Denials: the stream and a denial's card", ("5", "up", "up"), denials=True),
    Scene("processes", "Processes: running confined apps", ("6",)),
    Scene("doctor", "Doctor: what enforces here", ("7",)),
    Scene("help", "Help for the focused field (F1)", ("f1",)),
)


# Profiles print the snaps' paths, so every picture is made over the same root path.
FIXED_ROOT = Path("/tmp/confine-tui-example-root")


def install_examples(root: Path) -> Path:
    from backends.native.engine import NativeBackend

    NativeBackend(root, system_kind="classic", profiles=False).install_examples()
    return root


def fresh_fixed_root() -> Path:
    """FIXED_ROOT, emptied and holding the examples."""
    import shutil

    shutil.rmtree(FIXED_ROOT, ignore_errors=True)
    return install_examples(FIXED_ROOT)


def scene_app(root: Path):
    from .adapters.denials import DenialsAdapter
    from .app import ConfineApp

    return ConfineApp(backend=fixed_backend(root), denials=DenialsAdapter(root, live=False),
                      processes=fixed_processes(root), watch=False)


async def settle(pilot, timeout: float = 15.0) -> None:
    """Wait until no worker runs and what they posted is handled."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline and quiet < 2:
        await app.workers.wait_for_complete()
        await pilot.pause(0.05)
        quiet = quiet + 1 if not any(w.is_running for w in app.workers) else 0


async def play(pilot, scene: Scene) -> None:
    """Feed the scene's data, press its keys (settling after each), and wait for quiet."""
    app = pilot.app
    await settle(pilot)
    if scene.denials:
        app.denials.feed_lines(SAMPLE_DENIALS, backend=app.backend)
    if scene.before is not None:
        await scene.before(pilot)
    for key in scene.keys:
        await pilot.press(key)
        await settle(pilot)
    await pilot.pause(0.3)
    await settle(pilot)


def stable_environment(cache: Path) -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()
    os.environ["XDG_CACHE_HOME"] = str(cache)


async def save(root: Path, scene: Scene, size: tuple[int, int], out: Path) -> Path:
    app = scene_app(root)
    async with app.run_test(size=size) as pilot:
        await play(pilot, scene)
        svg = app.export_screenshot(title=f"confine-tui: {scene.what}")
    path = out / f"{scene.name}-{size[0]}x{size[1]}.svg"
    path.write_text(svg)
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m confine_tui.screenshots", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=REPO / "screenshots", help="where to write the SVGs")
    p.add_argument("--only", nargs="*", default=None, metavar="SCENE", help="only these scenes")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="confine-tui-shots.") as tmp:
        stable_environment(Path(tmp) / "cache")
        root = fresh_fixed_root()
        for scene in SCENES:
            if args.only and scene.name not in args.only:
                continue
            for size in SIZES:
                path = asyncio.run(save(root, scene, size, args.out))
                print(f"{path.relative_to(REPO) if path.is_relative_to(REPO) else path}  {scene.what}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
