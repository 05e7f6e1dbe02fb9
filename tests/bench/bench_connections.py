"""Benchmark: `confine connections --all --json` and one `confine connect` on a big state.

Run: .venv/bin/python tests/bench/bench_connections.py [--snaps 1000] [--plugs 10] [--repeat 5] [--install]

The state holds SNAPS snaps of PLUGS plugs each. By default it is written directly, in
the engine's own record format: each snap.yaml is parsed by the engine's manifest
parser, the auto-connections are made by the engine's own auto-connect step over the
whole state, and the result is written with the state store's encoder and atomic
write; each snap also gets its directory under ROOT/snaps as an install makes it.
With --install the snaps are installed one by one through NativeBackend.install
instead (much slower: every install reads and rewrites the whole state).

Each measurement runs in a fresh subprocess (`sys.executable -m backends.cli --root R
...`); its wall time is taken around the process, its peak memory (maximum resident
set) from /usr/bin/time (see run() for why not this process's rusage). The reference `sys.executable -c pass` is
measured in the same run. `connect` starts each repetition from the same state, so
every repetition really writes.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS = 1.0
GOAL_MB = 200
# Implicit on classic; a mix of auto-connected and manual-only interfaces.
INTERFACES = ["network", "network-bind", "opengl", "home", "audio-playback", "x11",
              "camera", "removable-media", "network-observe", "mount-observe"]


def snap_yaml(name: str, plugs: int) -> str:
    lines = [f"name: {name}", "version: '1'", "summary: a benchmark snap", "confinement: strict",
             "base: core22", "plugs:"]
    for i in range(plugs):
        lines.append(f"  p{i}: {INTERFACES[i % len(INTERFACES)]}")
    lines += ["apps:", "  run:", "    command: bin/run", ""]
    return "\n".join(lines)


def write_snap_dir(d: Path, text: str) -> None:
    (d / "meta").mkdir(parents=True, exist_ok=True)
    (d / "meta" / "snap.yaml").write_text(text)
    (d / "bin").mkdir(exist_ok=True)
    (d / "bin" / "run").write_text("#!/bin/sh\n")
    (d / "bin" / "run").chmod(0o755)


def build_direct(root: Path, snaps: int, plugs: int) -> None:
    from backends.native.engine import NativeBackend, _View
    from backends.native.manifest import parse_text
    from backends.native.state import StateStore, atomic_write, empty_state

    backend = NativeBackend(root, system_kind="classic", profiles=False)
    store = StateStore(root)
    store.ensure_root()
    state = empty_state()
    for i in range(snaps):
        name = f"bench{i:04d}"
        text = snap_yaml(name, plugs)
        path = root / "snaps" / name / "x1"
        write_snap_dir(path, text)
        state["snaps"][name] = {"manifest": parse_text(text, backend.catalogue), "revision": "x1",
                                "path": str(path), "example": False, "grants": []}
        state["revisions"][name] = 1
    view = _View(backend, state)
    for i in range(snaps):
        backend._auto_connect(view, view.snap(f"bench{i:04d}"))
    atomic_write(store.path, store.encode(state))


def build_installed(root: Path, src: Path, snaps: int, plugs: int) -> None:
    from backends.native.engine import NativeBackend

    backend = NativeBackend(root, system_kind="classic", profiles=False)
    for i in range(snaps):
        name = f"bench{i:04d}"
        write_snap_dir(src / name, snap_yaml(name, plugs))
        backend.install(src / name)
        if i % 100 == 99:
            print(f"  installed {i + 1}", flush=True)


TIME = shutil.which("time", path="/usr/bin:/bin")


def run(cmd: list[str], scratch: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process.

    The peak comes from /usr/bin/time when present: it forks the command from its own
    small process, so the figure is the command's. Without it, os.wait4's ru_maxrss is
    used, which also counts this (larger) process's memory, copied at the fork before
    the exec: an upper bound only.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("CONFINE_ROOT", "CONFINE_SYSTEM_KIND")}
    report = scratch / "time.out"
    full = [TIME, "-f", "%M", "-o", str(report), *cmd] if TIME else cmd
    t0 = time.perf_counter()
    proc = subprocess.Popen(full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode()
    proc.stderr.close()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {err}")
    kb = int(report.read_text().split()[-1]) if TIME else usage.ru_maxrss
    return wall, kb / 1024


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--snaps", type=int, default=1000)
    ap.add_argument("--plugs", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--install", action="store_true", help="build the state by real installs (slow)")
    ap.add_argument("--keep", action="store_true", help="keep the generated root")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="confine-bench-"))
    root = work / "root"
    try:
        t0 = time.perf_counter()
        if args.install:
            build_installed(root, work / "src", args.snaps, args.plugs)
        else:
            build_direct(root, args.snaps, args.plugs)
        built = time.perf_counter() - t0
        state_file = root / "state.json"
        saved = state_file.read_bytes()
        state = json.loads(saved)
        print(f"state: {len(state['snaps'])} snaps x {args.plugs} plugs, {len(state['conns'])} connections, "
              f"{len(saved) / 1e6:.1f} MB of JSON, built {'by installs' if args.install else 'directly'} "
              f"in {built:.1f} s")

        cli = [sys.executable, "-m", "backends.cli", "--root", str(root)]
        target = f"bench{args.snaps // 2:04d}:p{6 % args.plugs}"  # a camera plug: never auto-connected
        # Check once that the listing is complete.
        listing = json.loads(subprocess.run(cli + ["connections", "--all", "--json"], check=True,
                                            capture_output=True, text=True).stdout)
        assert len(listing) >= args.snaps * args.plugs, len(listing)

        cases = [("python -c pass (reference)", [sys.executable, "-c", "pass"], None),
                 ("connections --all --json", cli + ["connections", "--all", "--json"], None),
                 (f"connect {target}", cli + ["connect", target], saved)]
        results = []
        for label, cmd, restore in cases:
            walls, rss = [], []
            for _ in range(args.repeat):
                if restore is not None:
                    tmp = state_file.with_name(".bench.tmp")
                    tmp.write_bytes(restore)
                    os.replace(tmp, state_file)
                w, m = run(cmd, work)
                walls.append(w)
                rss.append(m)
            results.append((label, statistics.median(walls), min(walls), max(rss), restore is None and label.startswith("python")))
        after = json.loads(state_file.read_bytes())
        assert any(k.startswith(target + " ") for k in after["conns"]), "connect did not connect"

        ref = results[0][1]
        head = f"{'command':<34} {'median s':>9} {'min s':>7} {'x ref':>7} {'peak MB':>8}   goal (<{GOAL_SECONDS:g} s, <{GOAL_MB} MB)"
        print(head)
        print("-" * len(head))
        for label, med, low, mb, is_ref in results:
            goal = "-" if is_ref else ("met" if med < GOAL_SECONDS and mb < GOAL_MB else "MISSED")
            print(f"{label:<34} {med:>9.3f} {low:>7.3f} {med / ref:>7.1f} {mb:>8.1f}   {goal}")
        print(f"({args.repeat} runs each; python {sys.version.split()[0]}; {os.cpu_count()} CPUs; peak memory "
              + ("from /usr/bin/time)" if TIME else "from wait4: an upper bound, /usr/bin/time is missing)"))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
