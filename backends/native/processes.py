"""Running confined apps: what `confine ps` lists, from /proc and psutil.

    processes(root=None, every_root=False) -> list[Process]

A process belongs to a confined app when

* its device cgroup is one the launcher made for a run, `<devices or cgroup2
  mount>/confine/<tag>.<run>[-N]` (run: the pid of `confine run`): the app cannot
  leave it, and its children stay in it; or
* its environment carries the launcher's mark SNAP_SECURITY_TAG=<tag>, set for
  every app it execs and inherited by the app's children: what finds runs that
  have no device cgroup (unprivileged runs, devmode, interfaces that manage the
  device cgroup themselves).

For each it reports the kernel's seccomp mode and number of stacked filters
(/proc/PID/status), no_new_privs, the AppArmor label (/proc/PID/attr) where
AppArmor confines it, else "landlock" when its launch plan applied Landlock on
this kernel (Landlock leaves no trace in /proc), the device cgroup, CPU time and
resident memory.

With a root, only the apps of that state root are listed: those whose $SNAP lies
under ROOT/snaps (read from their environment), or, when their environment
cannot be read (another user's process), whose launch plan ROOT has.
"""
from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

from ..model import Process

TAG_VARIABLE = "SNAP_SECURITY_TAG"      # as backends.native.launch.steps sets it
_RUN_CGROUP = re.compile(r"/confine/(?P<tag>snap\.[^/]+)\.(?P<run>\d+)(?:-\d+)?$")
SECCOMP_MODES = {"0": "disabled", "1": "strict", "2": "filter"}

__all__ = ["processes", "TAG_VARIABLE"]


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _run_cgroup(pid: int, mounts: dict) -> tuple[str, str, int] | None:
    """(tag, cgroup path, run) of the launcher's device cgroup that holds `pid`."""
    data = _read(f"/proc/{pid}/cgroup")
    if not data:
        return None
    for line in data.decode("utf-8", "replace").splitlines():
        _, controllers, path = line.split(":", 2)
        m = _RUN_CGROUP.search(path)
        if m is None:
            continue
        if "devices" in controllers.split(","):
            mount = mounts.get("v1")
        elif controllers == "":
            mount = mounts.get("v2")
        else:
            continue
        full = os.path.join(mount, path.lstrip("/")) if mount else path
        return m.group("tag"), full, int(m.group("run"))
    return None


def _environ(pid: int) -> dict[str, str] | None:
    data = _read(f"/proc/{pid}/environ")
    if data is None:
        return None
    env = {}
    for item in data.split(b"\0"):
        key, sep, value = item.partition(b"=")
        if sep:
            env[key.decode("utf-8", "replace")] = value.decode("utf-8", "replace")
    return env


def _status(pid: int) -> dict[str, str]:
    data = _read(f"/proc/{pid}/status") or b""
    out = {}
    for line in data.decode("utf-8", "replace").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key] = value.strip()
    return out


def _apparmor_label(pid: int) -> str | None:
    for path in (f"/proc/{pid}/attr/apparmor/current", f"/proc/{pid}/attr/current"):
        data = _read(path)
        if data:
            label = data.decode("utf-8", "replace").strip("\0\n ")
            if label and label != "unconfined":
                return label
            return None
    return None


def _split_tag(tag: str) -> tuple[str, str]:
    """snap.<snap>.<app> (or snap.<snap>.hook.<hook>) -> (snap, app)."""
    rest = tag[len("snap."):] if tag.startswith("snap.") else tag
    snap, _, app = rest.partition(".")
    return snap, app


class _Plans:
    """The launch plans of tags, per root, read once: did the plan apply Landlock here?"""

    def __init__(self):
        self.cache: dict[tuple[str, str], dict | None] = {}
        self._abi: int | None = None

    def plan(self, root: str, tag: str) -> dict | None:
        key = (root, tag)
        if key not in self.cache:
            data = _read(os.path.join(root, "profiles", "launch", tag + ".json"))
            try:
                self.cache[key] = json.loads(data) if data else None
            except ValueError:
                self.cache[key] = None
        return self.cache[key]

    def landlock_abi(self) -> int:
        if self._abi is None:
            from .landlock.apply import kernel_abi
            self._abi = kernel_abi()[0]
        return self._abi

    def applies_landlock(self, root: str | None, tag: str) -> bool:
        plan = self.plan(root, tag) if root else None
        if plan is None:
            return False
        step = next((s for s in plan.get("steps", ()) if s.get("step") == "landlock"), None)
        return step is not None and not step.get("skip") and self.landlock_abi() > 0


def _root_of(env: dict[str, str] | None, snap: str) -> str | None:
    """The state root a process was launched from: $SNAP is ROOT/snaps/<snap>/<revision>."""
    if not env or not env.get("SNAP"):
        return None
    p = Path(env["SNAP"])
    if len(p.parts) < 4 or p.parent.name != snap or p.parent.parent.name != "snaps":
        return None
    return str(p.parent.parent.parent)


def processes(root: str | os.PathLike | None = None, every_root: bool = False) -> list[Process]:
    """The processes of confined apps running now, by pid (those of `root` unless
    every_root, or when root is None)."""
    import psutil

    from .launch.devcgroup import find_mounts

    root_s = os.path.abspath(os.fspath(root)) if root is not None else None
    mounts = find_mounts()
    plans = _Plans()
    now = time.time()
    out = []
    me = os.getpid()
    for pid in psutil.pids():
        if pid == me:
            continue
        found = _run_cgroup(pid, mounts)
        env = _environ(pid)
        if found is not None:
            tag, cgroup, run = found
            how = "cgroup"
        elif env and env.get(TAG_VARIABLE, "").startswith("snap."):
            tag, cgroup, run, how = env[TAG_VARIABLE], None, None, "environment"
        else:
            continue
        snap, app = _split_tag(tag)
        its_root = _root_of(env, snap)
        if root_s is not None and not every_root:
            if its_root is not None:
                if its_root != root_s:
                    continue
            elif plans.plan(root_s, tag) is None:
                continue
            else:
                its_root = root_s
        try:
            proc = psutil.Process(pid)
            with proc.oneshot():
                cmdline = proc.cmdline()
                name = proc.name()
                ppid = proc.ppid()
                started = proc.create_time()
                times = proc.cpu_times()
                rss = proc.memory_info().rss
                try:
                    user = proc.username()
                except (KeyError, psutil.Error):
                    user = ""
                uids = proc.uids()
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue                                    # gone meanwhile
        except psutil.AccessDenied:
            cmdline, name, ppid, started, rss, user, uids = [], "", None, now, 0, "", None
            times = None
        status = _status(pid)
        if not status:
            continue
        cpu = (times.user + times.system) if times is not None else 0.0
        elapsed = max(now - started, 1e-6)
        filters = status.get("Seccomp_filters")
        nnp = status.get("NoNewPrivs")
        label = _apparmor_label(pid)
        if label is None:
            label = "landlock" if plans.applies_landlock(its_root, tag) else "unconfined"
        command = " ".join(cmdline) if cmdline else name
        out.append(Process(
            pid=pid, target=f"{snap}.{app}", snap=snap, app=app, tag=tag, ppid=ppid, run=run, found_by=how,
            command=command[:400], user=user, uid=uids.real if uids is not None else None,
            seccomp=SECCOMP_MODES.get(status.get("Seccomp", ""), status.get("Seccomp", "")),
            seccomp_filters=int(filters) if filters and filters.isdigit() else None,
            no_new_privs=(nnp == "1") if nnp is not None else None,
            label=label, cgroup=cgroup, cpu_seconds=round(cpu, 2), cpu_percent=round(100.0 * cpu / elapsed, 1),
            memory_rss=rss, started=round(started, 2)))
    out.sort(key=lambda p: p.pid)
    return out
