"""Helpers for the live denials tests and the burst benchmark: a `confine denials
--follow` process read line by line, the confined children that make denials, and the
kernel's audit switch put back as it was.

Every process a test starts runs in a session of its own and is killed by its group
id when the test ends, whatever happened; the audit switch is restored by value.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOT_USER = os.geteuid() == 0


def denials_cli() -> str:
    """The module that runs `confine denials`."""
    return "backends.cli"


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(REPO)
    return e


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


def audit_enabled() -> int:
    from backends.native.denials import audit

    return audit.get_status().enabled


def set_audit(value: int) -> None:
    from backends.native.denials import audit

    audit.set_enabled(value)


class Follower:
    """`confine --root R denials --follow ...` with its stdout lines timestamped as they come."""

    def __init__(self, root, *extra: str, module: str | None = None):
        self.cmd = [sys.executable, "-m", module or denials_cli(), "--root", str(root), "denials", "--follow",
                    *extra]
        self.lines: list[tuple[float, str]] = []
        self.stderr: list[str] = []
        self.ready = threading.Event()
        self.proc: subprocess.Popen | None = None
        self._new = threading.Condition()
        self._decoded: list = []

    def start(self, timeout: float = 30) -> "Follower":
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(),
                                     cwd=str(REPO), start_new_session=True, bufsize=0)
        threading.Thread(target=self._read_out, daemon=True).start()
        threading.Thread(target=self._read_err, daemon=True).start()
        if not self.ready.wait(timeout):
            self.kill()
            raise AssertionError(f"the follower never said it was listening: {self.stderr}")
        return self

    def _read_out(self) -> None:
        """Large reads, each line stamped with the time its chunk came (cheaper than a
        readline per line, so the reader does not lag behind a burst)."""
        assert self.proc is not None
        fd = self.proc.stdout.fileno()
        partial = b""
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            now = time.time()
            parts = (partial + chunk).split(b"\n")
            partial = parts.pop()
            with self._new:
                self.lines.extend((now, p.decode("utf-8", "replace")) for p in parts)
                self._new.notify_all()

    def _read_err(self) -> None:
        assert self.proc is not None
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            self.stderr.append(line)
            if "listening" in line:
                self.ready.set()
        self.ready.set()

    def records(self, start: int = 0) -> list[dict]:
        """The JSON lines from line `start` on (decoded once each)."""
        while len(self._decoded) < len(self.lines):
            _, line = self.lines[len(self._decoded)]
            try:
                self._decoded.append(json.loads(line))
            except ValueError:
                self._decoded.append(None)
        return [r for r in self._decoded[start:len(self.lines)] if r is not None]

    def wait_for(self, predicate, timeout: float = 30, quiet: float = 0.0) -> bool:
        """Wait until predicate(records) holds (then, if `quiet`, until no line came for that long)."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate(self.records()):
                break
            with self._new:
                self._new.wait(0.05)
        else:
            return False
        if quiet:
            while time.time() < deadline:
                n = len(self.lines)
                time.sleep(quiet)
                if len(self.lines) == n:
                    break
        return True

    def settle(self, quiet: float = 0.4, timeout: float = 10) -> None:
        """Wait until no line came for `quiet` seconds."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            n = len(self.lines)
            time.sleep(quiet)
            if len(self.lines) == n:
                return

    def stop(self, sig: int = signal.SIGINT, timeout: float = 10) -> int:
        """Signal the follower itself (not its group) and wait; the group is killed after."""
        assert self.proc is not None
        try:
            self.proc.send_signal(sig)
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        kill_group(self.proc)
        time.sleep(0.05)
        return code if code is not None else -1

    def kill(self) -> None:
        if self.proc is not None:
            kill_group(self.proc)


CHILD = r"""
import json, os, socket, sys, time
n = int(sys.argv[1])
print(os.getpid(), flush=True)
times = []
for i in range(n):
    times.append(time.time())
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    except OSError:
        pass
done = time.time()
landlock = sys.argv[2] if len(sys.argv) > 2 else ""
if landlock:
    try:
        os.listdir(landlock)
    except OSError:
        pass
print(json.dumps({"times": times, "done": done}), flush=True)
"""


def run_confined_burst(root, n: int, landlock_path: str = "/root", app: str = "hello.hello",
                       timeout: float = 60) -> tuple[int, dict, subprocess.CompletedProcess]:
    """Run CHILD inside `app`'s sandbox (`confine run --shell`): n denied socket(AF_INET)
    calls, then a Landlock-denied listing of `landlock_path`. Returns (pid, result, proc)."""
    cmd = [sys.executable, "-m", "backends.cli_run", "--root", str(root), "run", "--shell", app, "--",
           "-c", 'exec python3 -I -S -c "$0" "$@"', CHILD, str(n), landlock_path]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
                            cwd="/", start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        kill_group(proc)
    lines = out.splitlines()
    if proc.returncode != 0 or len(lines) < 2:
        raise AssertionError(f"confined child failed ({proc.returncode}): {out}\n{err}")
    return int(lines[0]), json.loads(lines[1]), subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def install_examples(root) -> None:
    p = subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), "install", "--examples"],
                       capture_output=True, text=True, cwd=REPO, env=env(), timeout=180)
    assert p.returncode == 0, p.stderr


def confine(root, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), *args],
                          capture_output=True, text=True, cwd=REPO, env=env(), timeout=timeout)
