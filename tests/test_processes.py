"""`confine ps` and processes(): running confined apps, found on the real kernel.

A confined app that sleeps is started with `confine run` (in a session of its
own); `confine ps --json` must list it, and its child, with the right fields;
then the test kills it by pid and it is gone from the list. An unprivileged run
(no device cgroup) is found by the launcher's environment mark. Every process is
killed by group id afterwards, also when a test fails.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from launch_support import REPO, ROOT_USER, STARTED, HostDirs, install_examples, kill_group, remove_cgroups, run_cgroups

pytestmark = pytest.mark.skipif(not ROOT_USER, reason="confined runs with a device cgroup need root")


@pytest.fixture(scope="module")
def root():
    """A state root every user can reach (the unprivileged run reads it as nobody)."""
    base = tempfile.mkdtemp(prefix="confine-ps-")
    os.chmod(base, 0o755)
    r = Path(base) / "root"
    install_examples(r)
    dirs = HostDirs(["hello", "sysmon"])
    yield r
    dirs.cleanup()
    shutil.rmtree(base, ignore_errors=True)


def start(cmd: list[str], ready: bytes = b"ready\n") -> subprocess.Popen:
    """Start `cmd` in a session of its own; wait until it prints `ready`."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/", start_new_session=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)))
    STARTED.append(proc.pid)
    r, _, _ = select.select([proc.stdout], [], [], 20)
    if not r or proc.stdout.readline() != ready:
        kill_group(proc)
        pytest.fail(f"the app did not start: {proc.stderr.read().decode(errors='replace')}")
    return proc


@pytest.fixture
def runs():
    """Processes a test started; their groups are killed and their cgroups checked afterwards."""
    import psutil

    started: list[subprocess.Popen] = []
    yield started
    for proc in started:
        # the app first, by pid: its `confine run` then removes the run's cgroup and exits
        try:
            kids = psutil.Process(proc.pid).children()
        except psutil.NoSuchProcess:
            kids = []
        for kid in kids:
            try:
                os.kill(kid.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        kill_group(proc)
    left = run_cgroups("snap.hello.hello", {p.pid for p in started})
    remove_cgroups(left)
    assert not left, f"device cgroups left behind: {sorted(left)}"


def ps(root: Path, *extra: str) -> list[dict]:
    p = subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), "ps", "--json", *extra],
                       capture_output=True, text=True, cwd=REPO, timeout=60)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def app_pid(supervisor: int) -> int:
    """The app's process: the one child of `confine run`."""
    import psutil

    kids = psutil.Process(supervisor).children()
    assert len(kids) == 1, kids
    return kids[0].pid


def test_ps_lists_a_running_app_and_its_child(root, runs):
    sup = start([sys.executable, "-m", "backends.cli_run", "--root", str(root), "run", "--shell", "hello.hello",
                 "--", "-c", "sleep 60 & echo ready; wait"])
    runs.append(sup)
    pid = app_pid(sup.pid)
    listed = {p["pid"]: p for p in ps(root)}
    assert pid in listed, listed
    p = listed[pid]
    assert (p["target"], p["snap"], p["app"], p["tag"]) == ("hello.hello", "hello", "hello", "snap.hello.hello")
    assert p["ppid"] == sup.pid and p["run"] == sup.pid and p["found_by"] == "cgroup"
    assert (p["seccomp"], p["seccomp_filters"], p["no_new_privs"]) == ("filter", 2, True)
    assert p["label"] == "landlock"                      # no AppArmor here; the plan applied Landlock
    assert p["cgroup"].endswith(f"/confine/snap.hello.hello.{sup.pid}") and os.path.isdir(p["cgroup"])
    assert (p["user"], p["uid"]) == ("root", 0)
    assert p["command"].startswith("/bin/sh -c sleep 60")
    assert p["memory_rss"] > 0 and p["cpu_seconds"] >= 0 and 0 <= p["cpu_percent"] <= 200
    assert abs(p["started"] - time.time()) < 60
    kids = [q for q in listed.values() if q["ppid"] == pid]
    assert [(q["command"], q["target"], q["run"]) for q in kids] == [("sleep 60", "hello.hello", sup.pid)]
    assert sup.pid not in listed                          # the launcher itself is not confined

    os.kill(pid, signal.SIGKILL)                         # the app, by pid
    assert sup.wait(timeout=20) == 128 + signal.SIGKILL
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:                   # its orphaned child dies with the group below
        listed = {p["pid"] for p in ps(root)}
        if pid not in listed:
            break
        time.sleep(0.1)
    assert pid not in listed


def test_ps_other_root_and_all(root, runs, tmp_path):
    sup = start([sys.executable, "-m", "backends.cli_run", "--root", str(root), "run", "--shell", "hello.hello",
                 "--", "-c", "echo ready; exec sleep 60"])
    runs.append(sup)
    pid = app_pid(sup.pid)
    assert pid not in {p["pid"] for p in ps(tmp_path / "another-root")}
    assert pid in {p["pid"] for p in ps(tmp_path / "another-root", "--all")}


UNPRIV = r"""
import os, sys
sys.path.insert(0, sys.argv[1])
from backends.native.launch import runner, steps, mounts, users, verify, env
from backends.native.landlock import apply
from backends.native.seccomp import load
import _signal, grp, pwd
os.setgroups([])
os.setresgid(65534, 65534, 65534)
os.setresuid(65534, 65534, 65534)
code = runner.run(sys.argv[2], "sysmon", ["-c", "echo ready; exec sleep 60"], shell=True)
os._exit(code)
"""


def test_ps_finds_an_unprivileged_run_by_its_mark(root, runs):
    """No device cgroup for an unprivileged run: the launcher's SNAP_SECURITY_TAG finds it."""
    sup = start([sys.executable, "-c", UNPRIV, str(REPO), str(root)])
    runs.append(sup)
    pid = app_pid(sup.pid)
    listed = {p["pid"]: p for p in ps(root)}
    assert pid in listed, listed
    p = listed[pid]
    assert (p["target"], p["found_by"], p["run"], p["cgroup"]) == ("sysmon.sysmon", "environment", None, None)
    assert (p["seccomp"], p["no_new_privs"], p["label"], p["uid"]) == ("filter", True, "landlock", 65534)


def test_processes_api_and_table(root, runs):
    from backends.cli_ps import format_table
    from backends.model import Process
    from backends.native.processes import processes

    sup = start([sys.executable, "-m", "backends.cli_run", "--root", str(root), "run", "--shell", "hello.hello",
                 "--", "-c", "echo ready; exec sleep 60"])
    runs.append(sup)
    pid = app_pid(sup.pid)
    procs = [p for p in processes(root) if p.pid == pid]
    assert len(procs) == 1 and isinstance(procs[0], Process)
    assert procs[0].to_json()["target"] == "hello.hello"
    table = format_table(procs).splitlines()
    assert table[0].split()[:6] == ["PID", "App", "Seccomp", "NNP", "Label", "Cgroup"]
    assert table[1].split()[:6] == [str(pid), "hello.hello", "filter(2)", "1", "landlock",
                                    f"snap.hello.hello.{sup.pid}"]
    assert format_table([]) == "No confined app is running."


def test_the_cli_wires_ps():
    """backends/cli.py hands `ps` to cli_ps."""
    from backends.cli import build_parser
    from backends.cli_ps import cmd_ps

    args = build_parser().parse_args(["--root", "/r", "ps", "--json"])
    assert args.json and args.func is cmd_ps
