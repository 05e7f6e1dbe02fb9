"""Fixtures of the escape suite.

The suite installs one test snap, `escape`, whose only app (`escape.run`) is
bin/guard: it refuses to run anything unless its own process is confined (a
seccomp filter, no_new_privs, a mount namespace other than the host's), then
execs the attack program named in its arguments. The attack programs are
compiled now from the C sources beside this file, into the snap before it is
installed: `attack` (x86-64), `attack32` (i386, int 0x80, no libc) and `suid`
(installed setuid root).

The state root lives in a directory every user may traverse, so that an app run
as nobody reaches its snap. Every run is a `confine run` in a session of its
own, killed by group id when a test fails or times out; the device cgroups of
the runs, the data directories they create on the host and the whole root are
removed afterwards.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from audit_support import AuditSocket
from launch_support import REPO, ROOT_USER, HostDirs, cgroups_checked, confine_run

HERE = Path(__file__).resolve().parent
TAG = "snap.escape.run"
SNAP_YAML = """\
name: escape
version: '1'
summary: Attacks on the sandbox, for confine's escape suite
description: |
  One app, run, that refuses to do anything unless it runs confined, then
  execs the attack program named in its arguments.
confinement: strict
base: core22
grade: stable
apps:
  run:
    command: bin/guard
"""


@dataclass
class Lab:
    root: Path                 # the state root
    snap: Path                 # the installed snap's directory ($SNAP)
    host_mnt: str              # the host's mount namespace, as this test process sees it
    started: list = field(default_factory=list)

    def filters(self) -> list[bytes]:
        """The app's compiled seccomp filters in load order (deny, then allow)."""
        d = self.root / "profiles" / "seccomp"
        out = []
        for name in (f"{TAG}.deny.bin", f"{TAG}.bin"):
            p = d / name
            if p.exists():
                out.append(p.read_bytes())
        return out


@dataclass
class Result:
    label: str
    pid: int | None = None
    ret: int | None = None
    errno: str | None = None
    signal: int | None = None
    exit: int | None = None


_RESULT = re.compile(r"^(?P<label>.+?)(?: pid=(?P<pid>\d+))?"
                     r"(?: ret=(?P<ret>-?\d+) errno=(?P<errno>\w+)| signal=(?P<signal>\d+)| exit=(?P<exit>\d+))$")


@dataclass
class Outcome:
    proc: subprocess.CompletedProcess
    pid: int                   # the attack program's pid (the app's own process)
    results: dict              # label -> Result
    lines: list

    def __getitem__(self, label: str) -> Result:
        try:
            return self.results[label]
        except KeyError:
            raise AssertionError(f"no result for {label!r} in the attack's output:\n{self.proc.stdout}"
                                 f"{self.proc.stderr}") from None


def _compile(args: list[str], what: str) -> None:
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        pytest.fail(f"gcc could not build {what}: {proc.stderr.strip()[-1500:]}", pytrace=False)


@pytest.fixture(scope="package")
def lab():
    if not ROOT_USER:
        pytest.skip("the escape suite starts confined apps as root")
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.fail("gcc is needed to build the attack programs", pytrace=False)
    base = Path(tempfile.mkdtemp(prefix="confine-escape-"))
    host_dirs = HostDirs(["escape"])
    try:
        os.chmod(base, 0o755)                   # nobody must reach the snap (mkdtemp makes 0700)
        src = base / "src-escape"
        (src / "meta").mkdir(parents=True)
        (src / "bin").mkdir()
        (src / "meta" / "snap.yaml").write_text(SNAP_YAML)
        shutil.copy(HERE / "guard.sh", src / "bin" / "guard")
        os.chmod(src / "bin" / "guard", 0o755)
        _compile([gcc, "-O1", "-Wall", "-o", str(src / "bin" / "attack"), str(HERE / "attack.c")], "attack")
        _compile([gcc, "-m32", "-static", "-nostdlib", "-ffreestanding", "-fno-pie", "-no-pie",
                  "-fno-stack-protector", "-O1", "-o", str(src / "bin" / "attack32"), str(HERE / "attack32.c")],
                 "attack32 (i386)")
        _compile([gcc, "-O1", "-Wall", "-o", str(src / "bin" / "suid"), str(HERE / "suid.c")], "suid")
        root = base / "root"
        proc = subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), "install", str(src)],
                              capture_output=True, text=True, cwd=REPO, timeout=120)
        assert proc.returncode == 0, proc.stderr
        snap = root / "snaps" / "escape" / "x1"
        suid = snap / "bin" / "suid"
        os.chown(suid, 0, 0)
        os.chmod(suid, 0o4755)
        yield Lab(root=root, snap=snap, host_mnt=os.readlink("/proc/self/ns/mnt"))
    finally:
        shutil.rmtree(base, ignore_errors=True)
        host_dirs.cleanup()


@pytest.fixture(autouse=True, params=["compiled", "python"])
def launcher(request, monkeypatch, lab):
    """Every attack under both launchers of `confine run`: the compiled fast path
    (confine-launch, which must take this app itself) and the Python runner."""
    if request.param == "compiled":
        from backends.native.launch import fastpath

        monkeypatch.delenv("CONFINE_LAUNCHER", raising=False)
        ok, why = fastpath.check(str(lab.root), "escape.run")
        if not ok:
            pytest.fail(f"the compiled launcher does not take escape.run: {why}", pytrace=False)
    else:
        monkeypatch.setenv("CONFINE_LAUNCHER", "python")
    return request.param


@pytest.fixture(autouse=True)
def no_cgroup_left():
    """No run of a test leaves its device cgroup behind."""
    with cgroups_checked(TAG):
        yield


@pytest.fixture
def audit():
    """The audit netlink socket, opened before the test starts its app."""
    try:
        sock = AuditSocket()
    except OSError as exc:
        pytest.fail(f"cannot read the kernel's audit records (NETLINK_AUDIT, group 1): {exc}", pytrace=False)
    yield sock
    sock.close()


def attack(lab: Lab, program: str, *args: str, user: str | None = None, timeout: float = 20) -> Outcome:
    """Run PROGRAM ARGS as the confined app `escape.run` (behind its guard); the
    outcome of each attempt by its label. Fails unless the guard saw the process
    confined and the program reported."""
    extra = ["--user", user] if user else []
    proc = confine_run(lab.root, *extra, "escape.run", "--", lab.host_mnt, program, *args, timeout=timeout)
    lines = proc.stdout.splitlines()
    assert lines and lines[0].startswith("guard: confined ("), (
        f"the attack did not run confined (exit {proc.returncode}):\n{proc.stdout}{proc.stderr}")
    results, pid = {}, None
    for line in lines[1:]:
        if line.startswith("self pid="):
            pid = int(line.split("=", 1)[1])
            continue
        m = _RESULT.match(line)
        if m:
            g = m.groupdict()
            results[g["label"]] = Result(g["label"], *(int(g[k]) if g[k] is not None else None
                                                        for k in ("pid", "ret")),
                                         g["errno"], *(int(g[k]) if g[k] is not None else None
                                                       for k in ("signal", "exit")))
    assert pid is not None or program == "attack32", f"the attack program did not start:\n{proc.stdout}{proc.stderr}"
    return Outcome(proc, pid or 0, results, lines)
