"""ProcessesAdapter: running confined apps (backends.native.processes), and apps the
console launched with `confine run` (their output read in a thread, in batches).

Launching goes through the `confine run` command in a child process, exactly as an
admin would from a shell: the launcher forks, sets up namespaces and filters and
execs the app, which a console's own process must never do.
"""
from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable


@dataclass
class Launch:
    """One app started from the console."""

    id: int
    target: str
    proc: subprocess.Popen
    started: float = field(default_factory=time.time)
    status: int | None = None

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def command(self) -> str:
        return f"confine run {self.target}"


class ProcessesAdapter:
    def __init__(self, root: str | Path, python: str | None = None) -> None:
        self.root = Path(root)
        self.python = python or sys.executable
        self.launches: dict[int, Launch] = {}
        self._next = 1
        self.counts: dict[str, int] = {}    # per snap: processes running (last refresh)
        self.version = 0

    @staticmethod
    def available() -> tuple[bool, str]:
        try:
            from backends.native.processes import processes  # noqa: F401
        except ImportError as exc:
            return False, f"This build of confine has no processes API ({exc.name or exc}): only apps launched here are listed."
        return True, ""

    def list(self) -> list:
        """The running confined apps (engine API)."""
        from backends.native.processes import processes

        found = list(processes(self.root))
        self._count(found)
        return found

    def refresh_counts(self) -> None:
        """Count the running apps per snap (for the Snaps badges); quiet when unavailable."""
        if self.available()[0]:
            try:
                self.list()
                return
            except Exception:  # noqa: BLE001 - a badge is not worth an error
                pass
        self._count([])

    def _count(self, found: list) -> None:
        counts: dict[str, int] = {}
        pids = set()
        for p in found:
            snap = getattr(p, "snap", None)
            pids.add(getattr(p, "pid", None))
            if snap:
                counts[snap] = counts.get(snap, 0) + 1
        for launch in self.running_launches():
            if launch.pid not in pids and not any(getattr(p, "run", None) == launch.pid for p in found):
                snap = launch.target.split(".")[0]
                counts[snap] = counts.get(snap, 0) + 1
        if counts != self.counts:
            self.counts = counts
            self.version += 1

    # ---- launch and stop ----------------------------------------------------------

    def launch(self, target: str, on_lines: Callable[[int, list[str], bool, int | None], None]) -> Launch:
        """Start `confine run TARGET`; `on_lines(id, lines, ended, status)` is called from a thread."""
        cmd = [self.python, "-m", "backends.cli", "--root", str(self.root), "run", target]
        env = dict(os.environ)
        env.setdefault("PYTHONUNBUFFERED", "1")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True, env=env, cwd=str(Path(__file__).resolve().parents[2]))
        launch = Launch(self._next, target, proc)
        self._next += 1
        self.launches[launch.id] = launch
        threading.Thread(target=self._read, args=(launch, on_lines), name=f"confine-tui output {target}",
                         daemon=True).start()
        return launch

    def _read(self, launch: Launch, on_lines) -> None:
        """Deliver the output in batches: at most every 50 ms or 200 lines while it
        flows, and at once when it pauses (a line followed by silence must show)."""
        stream = launch.proc.stdout
        assert stream is not None
        fd = stream.fileno()
        batch: list[str] = []
        pending = b""
        last = time.monotonic()
        while True:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                *lines, pending = (pending + chunk).split(b"\n")
                batch.extend(line.decode("utf-8", "replace") for line in lines)
            now = time.monotonic()
            if batch and (len(batch) >= 200 or now - last > 0.05 or not ready):
                on_lines(launch.id, batch, False, None)
                batch = []
                last = now
        if pending:
            batch.append(pending.decode("utf-8", "replace"))
        stream.close()
        launch.status = launch.proc.wait()
        on_lines(launch.id, batch, True, launch.status)

    def stop(self, pid: int) -> str:
        """Ask a process to end (SIGTERM; `confine run` forwards it to the app)."""
        for launch in self.launches.values():
            if launch.pid == pid and launch.status is None:
                launch.proc.terminate()
                return f"sent SIGTERM to {launch.command} (pid {pid})"
        try:
            from backends.native import processes as engine_processes

            stop = getattr(engine_processes, "stop", None)
        except ImportError:
            stop = None
        if stop is not None:
            result = stop(pid)
            return str(result) if result else f"stopped pid {pid}"
        os.kill(pid, signal.SIGTERM)
        return f"sent SIGTERM to pid {pid}"

    def stop_all(self) -> None:
        for launch in self.launches.values():
            if launch.status is None and launch.proc.poll() is None:
                try:
                    launch.proc.terminate()
                except OSError:
                    pass

    def running_launches(self) -> list[Launch]:
        return [l for l in self.launches.values() if l.proc.poll() is None]
