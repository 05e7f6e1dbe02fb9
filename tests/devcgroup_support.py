"""Helpers for the device cgroup and hotplug tests: a child process that opens
device nodes on request (placed in a cgroup by the test), and loop devices made
and removed through /dev/loop-control. Everything is cleaned up by pid or index."""
from __future__ import annotations

import errno
import fcntl
import os
import random
import select
import signal
import subprocess
import sys
import time

import pytest

from backends.native.launch import devcgroup

LOOP_CTL_ADD = 0x4C80
LOOP_CTL_REMOVE = 0x4C81

ROOT = os.geteuid() == 0
MOUNTS = devcgroup.find_mounts()
MODES = [
    pytest.param("v1", marks=pytest.mark.skipif(not (ROOT and MOUNTS["v1"] and MOUNTS["v1-writable"]),
                                                reason="needs root and a writable cgroup v1 devices controller")),
    pytest.param("v2", marks=pytest.mark.skipif(not (ROOT and MOUNTS["v2"]), reason="needs root and cgroup2")),
]

# Requests, one a line: "open PATH r|w|rw" or "mknod PATH c|b MAJOR MINOR"; the answer
# is "ok" or the errno name.
CHILD = r"""
import errno, os, sys
FLAGS = {"r": os.O_RDONLY, "w": os.O_WRONLY, "rw": os.O_RDWR}
out = sys.stdout
for line in sys.stdin:
    words = line.split()
    try:
        if words[0] == "open":
            os.close(os.open(words[1], FLAGS[words[2]] | os.O_NOCTTY | os.O_NONBLOCK))
        elif words[0] == "mknod":
            kind = {"c": 0o020000, "b": 0o060000}[words[2]]
            os.mknod(words[1], kind | 0o600, os.makedev(int(words[3]), int(words[4])))
            os.unlink(words[1])
        r = "ok"
    except OSError as e:
        r = errno.errorcode.get(e.errno, str(e.errno))
    out.write(r + "\n")
    out.flush()
"""


class Prober:
    """A running child that answers open/mknod requests; `pid` goes into a cgroup."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-I", "-c", CHILD], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE)
        self.pid = self.proc.pid
        self._buf = b""

    def ask(self, request: str, timeout: float = 10.0) -> str:
        self.proc.stdin.write(request.encode() + b"\n")
        self.proc.stdin.flush()
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError(f"child {self.pid} did not answer {request!r} within {timeout} s")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise EOFError(f"child {self.pid} exited (status {self.proc.poll()})")
            self._buf += chunk
        line, _, self._buf = self._buf.partition(b"\n")
        return line.decode()

    def open(self, path: str, mode: str = "r") -> str:
        return self.ask(f"open {path} {mode}")

    def mknod(self, path: str, kind: str, major: int, minor: int) -> str:
        return self.ask(f"mknod {path} {kind} {major} {minor}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=10)
        for f in (self.proc.stdin, self.proc.stdout):
            try:
                f.close()
            except OSError:
                pass


class Loops:
    """Loop devices created with LOOP_CTL_ADD, removed by index at cleanup."""

    def __init__(self) -> None:
        self.indices: list[int] = []

    @staticmethod
    def free_index() -> int:
        """An index no loop device has now (LOOP_CTL_ADD may still race another user: add() retries)."""
        while True:
            n = random.randint(100, 1000)
            if not os.path.exists(f"/sys/block/loop{n}"):
                return n

    def add(self, n: int | None = None) -> int:
        """Create loop device `n` (default: a free index) and return its index."""
        fd = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
        try:
            for _ in range(200):
                want = self.free_index() if n is None else n
                try:
                    got = fcntl.ioctl(fd, LOOP_CTL_ADD, want)
                except OSError as exc:
                    if exc.errno == errno.EEXIST and n is None:
                        continue
                    raise
                if got not in self.indices:
                    self.indices.append(got)
                return got
        finally:
            os.close(fd)
        raise RuntimeError("no free loop index")

    def remove(self, n: int) -> None:
        fd = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
        try:
            deadline = time.monotonic() + 5
            while True:
                try:
                    fcntl.ioctl(fd, LOOP_CTL_REMOVE, n)
                    break
                except OSError as exc:
                    if exc.errno == errno.ENODEV:
                        break
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
        finally:
            os.close(fd)
        if n in self.indices:
            self.indices.remove(n)

    def cleanup(self) -> None:
        for n in list(self.indices):
            self.remove(n)


def loop_number(n: int) -> tuple[int, int]:
    """(major, minor) of loop device `n` as the kernel will number it (max_part shifts minors)."""
    try:
        max_part = int(open("/sys/module/loop/parameters/max_part").read())
    except (OSError, ValueError):
        max_part = 0
    shift = max_part.bit_length() if max_part else 0
    return 7, n << shift
