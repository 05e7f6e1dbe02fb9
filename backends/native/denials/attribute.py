"""Which snap and app a denial belongs to, when the record does not say.

An AppArmor record names its profile (`snap.SNAP.APP`), so the parser maps it. A
seccomp or Landlock record on a kernel without AppArmor carries only the pid, comm
and exe of the process; the process is looked up while it still runs:

1. its cgroup: `confine run` puts every app in a device cgroup named
   `/confine/snap.SNAP.APP.RUN` (cgroup v1 devices controller or v2);
2. its environment: SNAP_INSTANCE_NAME (or SNAP_NAME) names the snap, and the
   command line names the app's command under $SNAP;
3. its executable (also after it exited): a path under an installed snap's
   directory names the snap, and the app whose command it is.

A process that denied something and exited at once (a short helper such as
`renice` run by the app) is gone before its record is read. For those, a
ProcessTracker listens to the kernel's process events (the proc connector,
NETLINK_CONNECTOR, root only): a forked process inherits its parent's snap and
app, an exec'd one is looked up while it starts, and an exited one is kept for a
while. Records are placed after the events queued before them were read, and a
fork always comes before the child's first system call.

A Landlock domain (the `domain=` of its records) is remembered once one of its
records was placed, so later records of the same sandbox are placed even when
their process is gone. Lookups are cached for a few seconds per pid.
"""
from __future__ import annotations

import errno
import os
import re
import select
import socket
import struct
import threading
import time
from dataclasses import replace
from typing import Callable

from ...model import Denial

CGROUP_TAG = re.compile(r"/confine/(snap\.[A-Za-z0-9][A-Za-z0-9._+-]*?)\.[0-9]+(?:-[0-9]+)?$")
TTL = 3.0
MAX_CACHE = 4096


def split_tag(tag: str) -> tuple[str, str] | None:
    """`snap.SNAP.APP` -> (SNAP, APP); `snap.SNAP.hook.HOOK` -> (SNAP, "hook.HOOK")."""
    parts = tag.split(".")
    if len(parts) < 3 or parts[0] != "snap" or not parts[1]:
        return None
    if len(parts) == 4 and parts[2] == "hook":
        return parts[1], "hook." + parts[3]
    if len(parts) != 3 or not parts[2]:
        return None
    return parts[1], parts[2]


def _read(path: str, limit: int = 65536) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(limit)
    except OSError:
        return None


NETLINK_CONNECTOR = 11
CN_IDX_PROC = 1
CN_VAL_PROC = 1
PROC_CN_MCAST_LISTEN = 1
PROC_EVENT_FORK = 0x00000001
PROC_EVENT_EXEC = 0x00000002
PROC_EVENT_EXIT = 0x80000000
_NLHDR = struct.Struct("=IHHII")
_CNMSG = struct.Struct("=IIIIHH")
_EVHDR = struct.Struct("=IIQ")
KEEP_EXITED = 30.0          # seconds a process's placement outlives it


class ProcessTracker:
    """Snap and app of processes, kept from the kernel's fork/exec/exit events.

    open() raises OSError when the proc connector cannot be used (not root, a kernel
    without CONFIG_PROC_EVENTS); the Attributor then looks processes up in /proc only.
    """

    def __init__(self, look_up: Callable[[int], tuple[str, str, str] | None]):
        self.look_up = look_up
        self.sock: socket.socket | None = None
        self.tags: dict[int, tuple[str, str, str]] = {}
        self.exited: dict[int, float] = {}
        self.lost = False
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self._stop_r = self._stop_w = -1
        self._stopping = False

    def open(self, proc: str = "/proc") -> "ProcessTracker":
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC, NETLINK_CONNECTOR)
        try:
            try:
                s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)      # SO_RCVBUFFORCE
            except OSError:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
            s.bind((os.getpid(), CN_IDX_PROC))
            op = struct.pack("=I", PROC_CN_MCAST_LISTEN)
            cn = _CNMSG.pack(CN_IDX_PROC, CN_VAL_PROC, 0, 0, len(op), 0) + op
            s.send(_NLHDR.pack(_NLHDR.size + len(cn), 3, 0, 0, os.getpid()) + cn)   # NLMSG_DONE
            s.setblocking(False)
        except OSError:
            s.close()
            raise
        self.sock = s
        # processes already running inside an app's cgroup
        try:
            pids = [int(n) for n in os.listdir(proc) if n.isdigit()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                with open(f"{proc}/{pid}/cgroup", "rb") as f:
                    data = f.read(4096)
            except OSError:
                continue
            if b"/confine/snap." in data:
                found = self.look_up(pid)
                if found:
                    self.tags[pid] = found
        # Events are read as they come, by a thread: a process is looked up when it
        # execs (it is alive then), not when its denial is read (it may be gone).
        self._stop_r, self._stop_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self.thread = threading.Thread(target=self._loop, name="confine-process-events", daemon=True)
        self.thread.start()
        return self

    def _loop(self) -> None:
        s = self.sock
        while not self._stopping and s is not None:
            try:
                ready, _, _ = select.select([s, self._stop_r], [], [], 5.0)
            except (OSError, ValueError):
                return
            if self._stopping or self._stop_r in ready:
                return
            self.drain()

    def drain(self) -> None:
        """Read every queued process event (also called before placing a record, so that
        events queued before it are never left for later)."""
        with self.lock:
            self._drain()

    def _drain(self) -> None:
        s = self.sock
        if s is None:
            return
        while True:
            try:
                data = s.recv(65536)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno == errno.ENOBUFS:
                    self.lost = True
                    continue
                break
            self._event(data)
        now = time.monotonic()
        if len(self.exited) > 256:
            for pid, when in list(self.exited.items()):
                if when < now:
                    del self.exited[pid]
                    self.tags.pop(pid, None)

    def _event(self, data: bytes) -> None:
        off = _NLHDR.size + _CNMSG.size
        if len(data) < off + _EVHDR.size + 16:
            return
        what, _cpu, _ts = _EVHDR.unpack_from(data, off)
        body = off + _EVHDR.size
        if what == PROC_EVENT_FORK:
            _ppid, ptgid, cpid, ctgid = struct.unpack_from("=iiii", data, body)
            parent = self.tags.get(ptgid)
            if parent is not None and cpid == ctgid:
                self.tags[ctgid] = (parent[0], parent[1], "parent process")
                self.exited.pop(ctgid, None)
        elif what == PROC_EVENT_EXEC:
            pid, tgid = struct.unpack_from("=ii", data, body)
            found = self.look_up(tgid)
            if found:
                self.tags[tgid] = found
                self.exited.pop(tgid, None)
        elif what == PROC_EVENT_EXIT:
            pid, tgid = struct.unpack_from("=ii", data, body)
            if pid == tgid and tgid in self.tags:
                self.exited[tgid] = time.monotonic() + KEEP_EXITED

    def get(self, pid: int) -> tuple[str, str, str] | None:
        return self.tags.get(pid)

    def close(self) -> None:
        self._stopping = True
        if self._stop_w >= 0:
            try:
                os.write(self._stop_w, b"x")
            except OSError:
                pass
        if self.thread is not None:
            self.thread.join(5)
            self.thread = None
        with self.lock:
            if self.sock is not None:
                self.sock.close()
                self.sock = None
        for fd in (self._stop_r, self._stop_w):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._stop_r = self._stop_w = -1


class Attributor:
    """Place denials without a snap on the snap and app whose process made them."""

    def __init__(self, snaps: Callable[[], list] | list | None = None, proc: str = "/proc",
                 track: bool = False):
        self._snaps_src = snaps
        self._snaps: list | None = None
        self.proc = proc
        self.by_pid: dict[int, tuple[float, tuple[str, str, str] | None]] = {}
        self.by_domain: dict[str, tuple[str, str, str]] = {}
        self.by_exe: dict[str, tuple[str, str, str] | None] = {}
        self.tracker: ProcessTracker | None = None
        self.tracking_problem: str | None = None
        if track:
            self.start_tracking()

    def start_tracking(self) -> bool:
        """Follow process events (root); False, with `tracking_problem` set, when it cannot."""
        if self.tracker is not None:
            return True
        try:
            self.tracker = ProcessTracker(self._look_up).open(self.proc)
        except OSError as exc:
            self.tracker = None
            self.tracking_problem = (f"process events (proc connector) unavailable: "
                                     f"{exc.strerror or exc}; short-lived processes may stay unplaced")
            return False
        return True

    def drain(self) -> None:
        if self.tracker is not None:
            self.tracker.drain()

    def close(self) -> None:
        if self.tracker is not None:
            self.tracker.close()
            self.tracker = None

    # ---- what is installed -------------------------------------------------------------------

    def snaps(self) -> list:
        if self._snaps is None:
            src = self._snaps_src
            try:
                self._snaps = list(src() if callable(src) else (src or []))
            except Exception:  # no state root: nothing installed to map to
                self._snaps = []
        return self._snaps

    def _app_of_command(self, snap, paths: list[str]) -> str | None:
        base = (snap.path or "").rstrip("/")
        if not base:
            return None
        for name, app in sorted(snap.apps.items()):
            cmd = (app.command or "").split()
            if not cmd:
                continue
            full = os.path.normpath(os.path.join(base, cmd[0]))
            if full in paths:
                return name
        return None

    def _by_paths(self, paths: list[str], snap_name: str | None = None) -> tuple[str, str, str] | None:
        for snap in self.snaps():
            if snap_name is not None and snap.name != snap_name:
                continue
            base = (snap.path or "").rstrip("/")
            inside = snap_name is not None or (base and any(p == base or p.startswith(base + "/") for p in paths))
            if not inside:
                continue
            app = self._app_of_command(snap, paths)
            if app is None and len(snap.apps) == 1:
                app = next(iter(snap.apps))
            return snap.name, app or "", "executable" if snap_name is None else "environment"
        return None

    # ---- a running process ---------------------------------------------------------------------

    def of_pid(self, pid: int | None) -> tuple[str, str, str] | None:
        """(snap, app, how) for a process, or None."""
        if not pid or pid <= 0:
            return None
        if self.tracker is not None:
            hit = self.tracker.get(pid)
            if hit is not None:
                return hit
        now = time.monotonic()
        hit = self.by_pid.get(pid)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = self._look_up(pid)
        if len(self.by_pid) >= MAX_CACHE:
            self.by_pid.clear()
        # a process not found is asked again soon (it may be placed in its cgroup any moment)
        self.by_pid[pid] = (now + (TTL if found else 0.2), found)
        return found

    def _look_up(self, pid: int) -> tuple[str, str, str] | None:
        base = f"{self.proc}/{pid}"
        cg = _read(f"{base}/cgroup")
        if cg:
            for line in cg.decode("utf-8", "replace").splitlines():
                m = CGROUP_TAG.search(line.rpartition(":")[2])
                if m:
                    parts = split_tag(m.group(1))
                    if parts:
                        return parts[0], parts[1], "cgroup"
        env = _read(f"{base}/environ", 1 << 20)
        if env:
            values = dict(item.split(b"=", 1) for item in env.split(b"\0") if b"=" in item)
            name = (values.get(b"SNAP_INSTANCE_NAME") or values.get(b"SNAP_NAME") or b"").decode("utf-8", "replace")
            if name:
                cmdline = _read(f"{base}/cmdline") or b""
                paths = [os.path.normpath(a.decode("utf-8", "replace")) for a in cmdline.split(b"\0") if a]
                hit = self._by_paths(paths, name)
                if hit:
                    return hit
                return name, "", "environment"
        return None

    # ---- denials -------------------------------------------------------------------------------

    def locate(self, d: Denial) -> tuple[str, str, str] | None:
        """(snap, app, how) for a record that does not name its snap, or None."""
        if d.snap or d.kind == "unparsed":
            self._learn_domain(d)
            return None
        domain = _domain(d)
        found = None
        self.drain()
        for pid in _pids(d):
            found = self.of_pid(pid)
            if found:
                break
        if found is None and domain:
            found = self.by_domain.get(domain)
        if found is None and d.exe:
            exe = d.exe
            if exe in self.by_exe:
                found = self.by_exe[exe]
            else:
                found = self._by_paths([os.path.normpath(exe)])
                if len(self.by_exe) > MAX_CACHE:
                    self.by_exe.clear()
                self.by_exe[exe] = found
        if found is not None and domain and domain not in self.by_domain:
            self.by_domain[domain] = found
        return found

    def place(self, d: Denial) -> Denial:
        """`d` with snap and app filled in when the record did not name them."""
        found = self.locate(d)
        if found is None:
            return d
        snap, app, how = found
        fields = dict(d.fields)
        fields["attributed-by"] = how
        return replace(d, snap=snap, app=app or None, fields=fields)

    def _learn_domain(self, d: Denial) -> None:
        domain = _domain(d)
        if domain and d.snap and domain not in self.by_domain:
            self.by_domain[domain] = (d.snap, d.app or "", "domain")


def _domain(d: Denial) -> str | None:
    f = d.fields or {}
    return f.get("domain") or f.get("LANDLOCK_DOMAIN.domain")


def _pids(d: Denial) -> list[int]:
    out = []
    if d.pid:
        out.append(d.pid)
    f = d.fields or {}
    # the process of the event, then the creator of its Landlock domain (not opid:
    # that is the target of a signal)
    for key in ("SYSCALL.pid", "LANDLOCK_DOMAIN.pid"):
        v = f.get(key)
        try:
            p = int(v) if v is not None else 0
        except (TypeError, ValueError):
            p = 0
        if p and p not in out:
            out.append(p)
    return out
