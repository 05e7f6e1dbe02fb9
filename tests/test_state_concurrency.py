"""Writers side by side on one root: no lost update, and a reader never sees a broken state.

Two writer processes (a helper script written to tmp_path, run with sys.executable)
each make 100 connects and 100 disconnects on the camera plugs of their own snap,
in a seeded random order, started together behind a file barrier. Every update is a
read-modify-write of the one state.json, so without the lock one writer would
overwrite the other's changes; the final connections must be exactly those both
sequences predict. A third process reads the state in a loop during the writes:
every read must load, and the connections of each snap it sees must be a state of
that snap's sequence, in order (no torn, stale-after-newer or mixed-up state).
"""
from __future__ import annotations

import json
import os
import random
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from backends.native.engine import NativeBackend
from backends.native.state import StateStore

SEED = int(os.environ.get("CONFINE_CONCURRENCY_SEED", "4242"))
OPS = 100                      # connects, and as many disconnects, per writer
PLUGS = [f"p{i}" for i in range(10)]
INITIAL = PLUGS[:5]            # connected before the writers start
WRITERS = ("conc-a", "conc-b")
SLOT = "system:camera"

HELPER = r'''
"""writer ROOT SNAP OPS.json GOFILE | reader ROOT GOFILE STOPFILE OUT.json"""
import json
import os
import sys
import time


def say(text):
    os.write(1, (text + "\n").encode())


def wait_for(path):
    deadline = time.monotonic() + 60
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise SystemExit("barrier: nobody said go")
        time.sleep(0.0005)


def writer(root, snap, ops_file, gofile):
    from backends.native.engine import NativeBackend

    backend = NativeBackend(root, system_kind="classic", profiles=False)
    backend.catalogue
    ops = json.loads(open(ops_file).read())
    say("ready")
    wait_for(gofile)
    start = time.monotonic()
    for i, (op, plug) in enumerate(ops):
        ref = f"{snap}:{plug}"
        try:
            if op == "connect":
                backend.connect(ref)
            else:
                backend.disconnect(ref)
        except Exception as exc:
            raise SystemExit(f"{snap}: operation {i} ({op} {ref}) failed: {type(exc).__name__}: {exc}")
    say(f"done {start} {time.monotonic()}")


def reader(root, gofile, stopfile, out):
    from backends.native.state import StateStore

    store = StateStore(root)
    say("ready")
    wait_for(gofile)
    reads, errors, seen = 0, [], []
    last = None
    stopping = False
    while True:
        stopping = os.path.exists(stopfile)   # one more read after the writers are done
        try:
            state = store.read()
            keys = sorted(state["conns"])
            for key in keys:
                plug_snap = key.split(":", 1)[0]
                if plug_snap not in state["snaps"]:
                    errors.append(f"connection {key} of a snap not in the state")
                if state["conns"][key].get("interface") != "camera":
                    errors.append(f"connection {key}: record {state['conns'][key]}")
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            keys = None
        reads += 1
        if keys is not None and keys != last:
            seen.append(keys)
            last = keys
        if stopping or len(errors) > 20:
            break
    with open(out, "w") as f:
        json.dump({"reads": reads, "errors": errors, "seen": seen}, f)
    say("done")


if __name__ == "__main__":
    {"writer": writer, "reader": reader}[sys.argv[1]](*sys.argv[2:])
'''


def sequence(rng: random.Random) -> tuple[list[tuple[str, str]], list[frozenset[str]]]:
    """OPS connects and OPS disconnects, each valid where it stands; and the states they pass."""
    connected = set(INITIAL)
    ops: list[tuple[str, str]] = []
    states = [frozenset(connected)]
    c = d = OPS
    while c or d:
        options = []
        if c and len(connected) < len(PLUGS):
            options.append("connect")
        if d and connected:
            options.append("disconnect")
        op = rng.choice(options)
        if op == "connect":
            plug = rng.choice(sorted(set(PLUGS) - connected))
            connected.add(plug)
            c -= 1
        else:
            plug = rng.choice(sorted(connected))
            connected.remove(plug)
            d -= 1
        ops.append((op, plug))
        states.append(frozenset(connected))
    return ops, states


def first_line(proc: subprocess.Popen, timeout: float = 60) -> str:
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([fd], [], [], max(left, 0))
        if not ready:
            raise AssertionError(f"pid {proc.pid}: no line within {timeout} s")
        chunk = os.read(fd, 1)
        if not chunk:
            raise AssertionError(f"pid {proc.pid} exited: {proc.wait()} {proc.stderr.read().decode()}")
        buf += chunk
    return buf.decode().strip()


@pytest.fixture
def procs():
    """Every child started here is killed and reaped by pid, whatever happens."""
    started: list[subprocess.Popen] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait()
        for stream in (p.stdout, p.stderr):
            if stream:
                stream.close()


def setup_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    backend = NativeBackend(root, system_kind="classic", profiles=False)
    plugs = "".join(f"  {p}: camera\n" for p in PLUGS)
    for snap in WRITERS:
        d = tmp_path / "src" / snap
        (d / "meta").mkdir(parents=True)
        (d / "meta" / "snap.yaml").write_text(
            f"name: {snap}\nversion: '1'\nconfinement: strict\nplugs:\n{plugs}apps:\n  run:\n    command: bin/run\n")
        (d / "bin").mkdir()
        (d / "bin" / "run").write_text("#!/bin/sh\n")
        backend.install(d)
        for p in INITIAL:
            backend.connect(f"{snap}:{p}")
    return root


def run_writers(tmp_path: Path, procs: list, with_reader: bool):
    root = setup_root(tmp_path)
    helper = tmp_path / "conc_helper.py"
    helper.write_text(HELPER)
    gofile, stopfile, out = tmp_path / "go", tmp_path / "stop", tmp_path / "reader.json"
    rng = random.Random(SEED)
    plans = {snap: sequence(rng) for snap in WRITERS}
    writers = []
    for snap in WRITERS:
        ops_file = tmp_path / f"{snap}.json"
        ops_file.write_text(json.dumps(plans[snap][0]))
        p = subprocess.Popen([sys.executable, str(helper), "writer", str(root), snap, str(ops_file), str(gofile)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(p)
        writers.append(p)
    reader = None
    if with_reader:
        reader = subprocess.Popen([sys.executable, str(helper), "reader", str(root), str(gofile), str(stopfile),
                                   str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        procs.append(reader)
    for p in procs:
        assert first_line(p) == "ready"
    t0 = time.monotonic()
    gofile.touch()
    for snap, p in zip(WRITERS, writers):
        try:
            p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail(f"writer {snap} did not finish in 120 s")
        assert p.returncode == 0, f"writer {snap}: {p.stderr.read().decode()}"
    took = time.monotonic() - t0
    spans = [tuple(map(float, p.stdout.read().decode().split()[1:3])) for p in writers]
    # The writers really ran at the same time (time.monotonic is one clock for all processes).
    assert max(s for s, _ in spans) < min(e for _, e in spans), f"the writers did not overlap: {spans}"
    result = None
    if reader is not None:
        stopfile.touch()
        reader.wait(timeout=60)
        assert reader.returncode == 0, reader.stderr.read().decode()
        result = json.loads(out.read_text())
    return root, plans, result, took


def test_two_writers_lose_no_update(tmp_path: Path, procs):
    root, plans, _, took = run_writers(tmp_path, procs, with_reader=False)
    want = {f"{snap}:{p} {SLOT}" for snap in WRITERS for p in plans[snap][1][-1]}
    state = StateStore(root).read()
    assert set(state["conns"]) == want
    assert all(not rec["auto"] and not rec["undesired"] for rec in state["conns"].values())
    rows = NativeBackend(root, system_kind="classic", profiles=False).connections()
    assert {(r.plug, r.slot) for r in rows} == {(k.split()[0], ":camera") for k in want}
    print(f"\n2 writers x {2 * OPS} operations in {took:.2f} s")


def test_reader_never_sees_a_broken_state(tmp_path: Path, procs):
    root, plans, result, took = run_writers(tmp_path, procs, with_reader=True)
    assert result["errors"] == []
    # Each observed state, projected on each writer's snap, is a state of that writer's
    # sequence, and the reader never goes back to an earlier one.
    for snap in WRITERS:
        states = plans[snap][1]
        at = 0
        for keys in result["seen"]:
            mine = {k.split()[0].split(":")[1] for k in keys if k.startswith(f"{snap}:")}
            assert all(k.endswith(" " + SLOT) for k in keys)
            while at < len(states) and states[at] != mine:
                at += 1
            assert at < len(states), f"the reader saw {snap} with {sorted(mine)}: not a state of its sequence here"
    final = result["seen"][-1]
    assert set(final) == {f"{snap}:{p} {SLOT}" for snap in WRITERS for p in plans[snap][1][-1]}
    # The reader really ran during the writes.
    assert result["reads"] >= 100 and len(result["seen"]) >= 20, (result["reads"], len(result["seen"]))
    print(f"\nreader: {result['reads']} reads, {len(result['seen'])} distinct states, in {took:.2f} s")


def test_remove_cleanup_does_not_delete_a_concurrent_reinstall(tmp_path: Path, monkeypatch):
    """Another writer installs the snap again while remove() cleans up its files.

    remove() deletes only the revision it removed, and while it still holds the
    lock, so the concurrent install (which waits for the lock) keeps its new revision.
    """
    from backends.native import engine as engine_mod

    root = setup_root(tmp_path)
    snap_dir = tmp_path / "src" / WRITERS[0]
    real_rmtree = engine_mod.shutil.rmtree
    racers: list[subprocess.Popen] = []

    def rmtree(path, *args, **kwargs):
        if Path(path).is_relative_to(root / "snaps" / WRITERS[0]) and not racers:
            racers.append(subprocess.Popen([sys.executable, "-m", "backends.cli", "--root", str(root), "install",
                                            str(snap_dir)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            time.sleep(0.3)  # give the second writer time to reach the lock (or, unlocked, to race)
        return real_rmtree(path, *args, **kwargs)

    monkeypatch.setattr(engine_mod.shutil, "rmtree", rmtree)
    try:
        NativeBackend(root, system_kind="classic", profiles=False).remove(WRITERS[0])
        assert racers, "remove() did not clean up the snap's files"
        out, err = racers[0].communicate(timeout=60)
        assert racers[0].returncode == 0, err
    finally:
        for proc in racers:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    rec = StateStore(root).read()["snaps"][WRITERS[0]]
    assert (Path(rec["path"]) / "meta" / "snap.yaml").is_file(), \
        f"the state says {WRITERS[0]} is installed at {rec['path']}, which remove() deleted"
