"""SIGKILL a writer at random points of install, remove, connect and disconnect.

How the assertion is made sound:

1. A plan of state-changing operations is built and run once, uninterrupted, in this
   process on the very root the crash run will use; after each operation the state is
   recorded: `expected[i]` is the state after the first i operations. Every operation
   changes the state, so `expected[i] != expected[i + 1]`. The engine is deterministic
   (revisions count up, paths derive from the root), so replaying the same plan from the
   same state gives the same states.
2. The root is wiped and the plan is replayed by short-lived workers, each forked by a
   helper server process (written to tmp_path) that has already imported the engine,
   so that a worker starts in about a millisecond. A worker runs operations K..K+J and
   writes "begin N" before and "end N" after operation N to a pipe, then idles.
3. When the test reads "begin K+J" it waits a seeded random delay (scaled to that
   operation's measured duration, or up to 30 ms) and SIGKILLs the worker by pid; the
   server reaps it by pid and says so, and by then every line the worker wrote is in the
   pipe. If the last line was "begin N", the state must be expected[N] (killed before
   the commit) or expected[N + 1] (after it); if it was "end N", expected[N + 1]. The
   next worker starts at the first operation that has not taken effect, and its first
   operation must succeed (the dead writer's lock is gone).
4. After each kill the root holds nothing a reader could take for the state: only
   state.json, state.lock, snaps/ and hidden `.state.json.<pid>.tmp` files of killed
   writers; every snap in the state has its directory.
"""
from __future__ import annotations

import errno
import fcntl
import importlib.util
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backends.errors import ConfineError
from backends.native.engine import NativeBackend
from backends.native.state import LOCK_FILE, STATE_FILE, StateStore

SEED = int(os.environ.get("CONFINE_CRASH_SEED", "7031"))
KILLS = int(os.environ.get("CONFINE_CRASH_KILLS", "200"))
SNAP_NAMES = ("crash-a", "crash-b", "crash-c", "crash-d")
PLUGS = ("cam0", "cam1", "net")            # camera: manual only; network: auto-connects
TMP_RE = re.compile(r"\.state\.json\.(\d+)\.tmp")
LINE_TIMEOUT = 20.0

HELPER = r'''
"""Fork server for test_state_crash: `python helper.py ROOT PLAN.json`.

stdin commands: "go K J" forks a worker running plan[K..K+J] (replies "pid P"),
"reap P" waits for worker P (replies "reaped P STATUS"); EOF kills and reaps the
remaining workers and exits. All output goes through os.write so that a fork never
duplicates a buffer.
"""
import ctypes
import json
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1


def die_with_parent():
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


def apply_op(backend, op):
    kind, arg = op
    if kind == "install":
        backend.install(arg)
    elif kind == "remove":
        backend.remove(arg)
    elif kind == "connect":
        backend.connect(arg)
    elif kind == "disconnect":
        backend.disconnect(arg)
    else:
        raise ValueError(kind)


def say(text):
    os.write(1, (text + "\n").encode())


def worker(backend, plan, k, j):
    me = os.getpid()
    try:
        for n in range(k, k + j + 1):
            say(f"W {me} begin {n}")
            apply_op(backend, plan[n])
            say(f"W {me} end {n}")
        say(f"W {me} idle")
        time.sleep(30)  # wait for the kill; bounded in case nobody comes
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        say(f"W {me} error {type(exc).__name__}: {exc}".replace("\n", " "))
    finally:
        os._exit(0)


def serve(root, plan_file):
    die_with_parent()
    from backends.native.engine import NativeBackend

    backend = NativeBackend(root, system_kind="classic", profiles=False)
    backend.catalogue  # load it once, before forking
    plan = [tuple(op) for op in json.loads(open(plan_file).read())]
    workers = set()
    say("ready")
    for line in sys.stdin:
        cmd = line.split()
        if cmd[0] == "go":
            pid = os.fork()
            if pid == 0:
                die_with_parent()
                worker(backend, plan, int(cmd[1]), int(cmd[2]))
            workers.add(pid)
            say(f"pid {pid}")
        elif cmd[0] == "reap":
            pid = int(cmd[1])
            _, status = os.waitpid(pid, 0)
            workers.discard(pid)
            say(f"reaped {pid} {status}")
    for pid in workers:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)


if __name__ == "__main__":
    serve(sys.argv[1], sys.argv[2])
'''


class Lines:
    """Line reader over a pipe with a timeout."""

    def __init__(self, fd: int):
        self.fd = fd
        self.buf = b""

    def get(self, timeout: float = LINE_TIMEOUT) -> str:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no line from the helper within {timeout} s (have {self.buf!r})")
            ready, _, _ = select.select([self.fd], [], [], left)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    raise AssertionError(f"the helper closed its output (have {self.buf!r})")
                self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


def write_snaps(base: Path) -> dict[str, Path]:
    dirs = {}
    for name in SNAP_NAMES:
        d = base / name
        (d / "meta").mkdir(parents=True)
        (d / "meta" / "snap.yaml").write_text(
            f"name: {name}\nversion: '1'\nsummary: a snap to kill writers over\nconfinement: strict\nbase: core22\n"
            "plugs:\n  cam0: camera\n  cam1: camera\n  net: network\n"
            "apps:\n  run:\n    command: bin/run\n")
        (d / "bin").mkdir()
        (d / "bin" / "run").write_text("#!/bin/sh\necho ran\n")
        (d / "bin" / "run").chmod(0o755)
        (d / "data").mkdir()  # some bulk, so that kills also land in the copy of an install
        for i in range(12):
            (d / "data" / f"f{i}").write_bytes(bytes([i]) * 8192)
        dirs[name] = d
    return dirs


def random_op(rng: random.Random, state: dict, dirs: dict[str, Path]) -> tuple[str, str]:
    installed = sorted(state["snaps"])
    r = rng.random()
    if not installed or r < 0.12:
        return ("install", str(dirs[rng.choice(SNAP_NAMES)]))
    if r < 0.18:
        return ("remove", rng.choice(installed))
    ref = f"{rng.choice(installed)}:{rng.choice(PLUGS)}"
    return ("connect" if r < 0.6 else "disconnect", ref)


def build_plan(root: Path, dirs: dict[str, Path], rng: random.Random, length: int, apply):
    """Run `length` state-changing operations on `root`; return them, the states and durations."""
    backend = NativeBackend(root, system_kind="classic", profiles=False)
    store = StateStore(root)
    plan: list[tuple[str, str]] = []
    states = [store.read()]
    durations: list[float] = []
    while len(plan) < length:
        op = random_op(rng, states[-1], dirs)
        t0 = time.perf_counter()
        try:
            apply(backend, op)
        except ConfineError:  # e.g. disconnecting a plug that is not connected: pick another
            assert store.read() == states[-1]
            continue
        took = time.perf_counter() - t0
        after = store.read()
        if after == states[-1]:
            continue
        plan.append(op)
        states.append(after)
        durations.append(took)
    return plan, states, durations


def lock_is_free(root: Path) -> bool:
    fd = os.open(root / LOCK_FILE, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    finally:
        os.close(fd)


def check_root(root: Path, killed: set[int], context: str) -> list[str]:
    leftovers = []
    for entry in os.listdir(root):
        if entry in (STATE_FILE, LOCK_FILE, "snaps"):
            continue
        m = TMP_RE.fullmatch(entry)
        assert m, f"{context}: unexpected file {entry!r} in the root"
        assert int(m.group(1)) in killed, f"{context}: {entry!r} was not left by a killed writer"
        leftovers.append(entry)
    return leftovers


def check_snap_dirs(state: dict, context: str) -> None:
    for name, rec in state["snaps"].items():
        assert (Path(rec["path"]) / "meta" / "snap.yaml").is_file(), \
            f"{context}: the state names {rec['path']} for {name}, which is missing"


def test_sigkill_during_writes_leaves_old_or_new_state(tmp_path: Path):
    helper_path = tmp_path / "crash_helper.py"
    helper_path.write_text(HELPER)
    spec = importlib.util.spec_from_file_location("crash_helper", helper_path)
    helper = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(helper)
    apply = helper.apply_op  # both runs apply operations alike

    rng = random.Random(SEED)
    dirs = write_snaps(tmp_path / "src")
    root = tmp_path / "root"
    plan, expected, durations = build_plan(root, dirs, rng, 2 * KILLS + 2, apply)
    assert all(a != b for a, b in zip(expected, expected[1:]))
    shutil.rmtree(root)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan))

    server = subprocess.Popen([sys.executable, str(helper_path), str(root), str(plan_file)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)
    out = Lines(server.stdout.fileno())
    worker = None
    killed: set[int] = set()
    outcomes = {"before-commit": 0, "after-commit": 0, "between": 0, "inside-write": 0}
    by_kind: dict[str, int] = {}
    try:
        assert out.get(timeout=60) == "ready"

        def send(text: str) -> None:
            server.stdin.write(text.encode() + b"\n")
            server.stdin.flush()

        k = 0  # the first operation of the plan that has not taken effect
        for i in range(KILLS):
            j = rng.choice((0, 1))
            target = k + j
            context = f"kill {i} (seed {SEED})"
            tmp_before = {e for e in os.listdir(root) if TMP_RE.fullmatch(e)} if root.exists() else set()
            send(f"go {k} {j}")
            lines: list[str] = []
            while True:
                line = out.get()
                if line.startswith("pid "):
                    worker = int(line.split()[1])
                    continue
                assert line.startswith("W "), line
                lines.append(line)
                assert " error " not in line, f"{context}: operation failed after a kill: {line}"
                if line.endswith(f" begin {target}"):
                    break
            while worker is None:  # the server's "pid" line may come after the worker's first lines
                line = out.get()
                if line.startswith("pid "):
                    worker = int(line.split()[1])
                else:
                    lines.append(line)
            if rng.random() < 0.65:
                delay = rng.uniform(0, 1.3 * durations[target])
            else:
                delay = rng.uniform(0, 0.030)
            time.sleep(delay)
            os.kill(worker, signal.SIGKILL)
            killed.add(worker)
            send(f"reap {worker}")
            while True:
                line = out.get()
                if line.startswith("reaped "):
                    _, pid, status = line.split()
                    assert int(pid) == worker
                    status = int(status)
                    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
                        f"{context}: worker ended with status {status}, not by the kill: {lines}"
                    break
                lines.append(line)
            mine = [ln.split()[2:] for ln in lines if ln.startswith(f"W {worker} ")]
            worker = None
            for words in mine:
                assert words[0] != "error", f"{context}: {' '.join(words)}"

            state = StateStore(root).read()  # must load
            last = mine[-1]
            if last[0] == "begin":
                n = int(last[1])
                kind = plan[n][0]
                if state == expected[n]:
                    outcomes["before-commit"] += 1
                    by_kind[kind] = by_kind.get(kind, 0) + 1
                    k = n
                else:
                    assert state == expected[n + 1], \
                        f"{context}: during {plan[n]} (op {n}) the state became neither the one before nor after"
                    outcomes["after-commit"] += 1
                    k = n + 1
            else:
                n = target if last[0] == "idle" else int(last[1])
                assert state == expected[n + 1], f"{context}: after {plan[n]} (op {n}) the state is not the one expected"
                outcomes["between"] += 1
                k = n + 1
            tmp_after = set(check_root(root, killed, context))
            if tmp_after - tmp_before:
                outcomes["inside-write"] += 1
            assert lock_is_free(root), f"{context}: the lock is still held after the writer died"
            check_snap_dirs(state, context)
            assert k < len(plan)
    finally:
        if worker is not None:
            try:
                os.kill(worker, signal.SIGKILL)  # an unreaped worker is a zombie: its pid cannot be reused
            except ProcessLookupError:
                pass
        try:
            server.stdin.close()  # the server kills and reaps its remaining workers by pid
        except OSError:
            pass
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        server.stdout.close()

    # The next operation after the last kill succeeds, in this process too.
    backend = NativeBackend(root, system_kind="classic", profiles=False)
    apply(backend, plan[k])
    assert StateStore(root).read() == expected[k + 1]
    leftovers = check_root(root, killed, "end")
    print(f"\ncrash test: {KILLS} kills, seed {SEED}: {outcomes}; interrupted before commit by kind {by_kind}; "
          f"{len(leftovers)} temporary state files left by killed writers")
    # The kills must really land inside operations, not only between them.
    assert outcomes["before-commit"] >= KILLS // 10, outcomes
    assert outcomes["after-commit"] + outcomes["between"] >= KILLS // 10, outcomes
