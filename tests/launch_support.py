"""Helpers for the `confine run` tests: a state root with the examples installed,
a runner of `confine run` in a process group of its own (killed by its group id
when a test fails or times out), and the clean-up of what runs leave on the host
(data directories, device cgroups)."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ROOT_USER = os.geteuid() == 0
CGROUP_PARENTS = ("/sys/fs/cgroup/devices/confine", "/sys/fs/cgroup/unified/confine")


def install_examples(root: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "backends.cli", "--root", str(root), "install", "--examples"],
                          capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr


STARTED: list[int] = []        # pids of the supervisors the tests started (they name the runs' cgroups)


def confine_run(root: Path, *args: str, timeout: float = 30, env: dict | None = None,
                cwd: str | Path | None = None, module: str = "backends.cli_run") -> subprocess.CompletedProcess:
    """`confine --root ROOT run ARGS...` in a new session; its whole group is killed
    if it outlives `timeout`."""
    cmd = [sys.executable, "-m", module, "--root", str(root), "run", *args]
    full_env = dict(os.environ if env is None else env)
    full_env.setdefault("PYTHONPATH", str(REPO))
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env,
                            cwd=str(cwd or REPO), start_new_session=True)
    STARTED.append(proc.pid)
    try:
        out, err = proc.communicate(timeout=timeout)
    finally:
        kill_group(proc)
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL the process group a test started (its leader is `proc`), then reap `proc`."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover
        pass


def host_data_dirs(snap: str, homes=("/root",)) -> list[Path]:
    return [Path("/var/snap") / snap] + [Path(h) / "snap" / snap for h in homes]


class HostDirs:
    """Remove the data directories a run creates on the host, if they were not there before."""

    def __init__(self, snaps, homes=("/root",)):
        self.paths = [p for s in snaps for p in host_data_dirs(s, homes)]
        self.before = {p: p.exists() for p in self.paths}
        self.var_snap = Path("/var/snap").exists()
        self.home_snaps = {h: (Path(h) / "snap").exists() for h in homes}

    def cleanup(self) -> None:
        for p, existed in self.before.items():
            if not existed:
                shutil.rmtree(p, ignore_errors=True)
        for h, existed in self.home_snaps.items():
            d = Path(h) / "snap"
            if not existed:
                try:
                    d.rmdir()
                except OSError:
                    pass
        if not self.var_snap:
            try:
                Path("/var/snap").rmdir()
            except OSError:
                pass


def run_cgroups(tag: str | None, pids=None) -> set[str]:
    """The per-run device cgroups of `tag` (None: of any app) that exist now (only
    those of the runs whose supervisor has one of `pids`, when given: other runs
    may go on meanwhile)."""
    out = set()
    for parent in CGROUP_PARENTS:
        try:
            names = os.listdir(parent)
        except OSError:
            continue
        for n in names:
            if tag is None:
                if not n.startswith("snap."):
                    continue
                run = n.rpartition(".")[2].split("-")[0]
            elif n.startswith(tag + "."):
                run = n[len(tag) + 1:].split("-")[0]
            else:
                continue
            if pids is None or (run.isdigit() and int(run) in pids):
                out.add(os.path.join(parent, n))
    return out


@contextmanager
def cgroups_checked(tag: str | None = None):
    """Around a test: no run it started (named by its supervisor's pid) leaves a
    device cgroup of `tag` (None: of any app) behind; one that did is removed, then
    the test fails."""
    first = len(STARTED)
    yield
    left = run_cgroups(tag, set(STARTED[first:]))
    remove_cgroups(left)
    assert not left, f"device cgroups left behind: {sorted(left)}"


def remove_cgroups(paths) -> None:
    for p in paths:
        try:
            os.rmdir(p)
        except OSError:
            pass
