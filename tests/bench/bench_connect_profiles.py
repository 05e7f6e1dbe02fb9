"""Benchmark: one `confine connect` on a root of 100 snaps, profiles regenerated and compiled.

Run: .venv/bin/python tests/bench/bench_connect_profiles.py [--snaps 100] [--repeat 5]

The root holds SNAPS snaps (10 plugs each, profiles generated and compiled by
`confine doctor --repair`). Each repetition connects one camera plug and then
disconnects it, each through a fresh `sys.executable -m backends.cli` process, so
the connect really regenerates and recompiles the affected snap's profiles
(AppArmor with apparmor_parser, seccomp with libseccomp). References measured in
the same run: `sys.executable -c pass` (interpreter start) and `confine list` (the
CLI's start plus reading the state), so the ratio shows what regeneration costs.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_connections import build_direct  # noqa: E402


def timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--snaps", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "root"
        build_direct(root, args.snaps, 10)
        cli = [sys.executable, "-m", "backends.cli", "--root", str(root)]
        t = time.perf_counter()
        subprocess.run(cli + ["doctor", "--repair"], check=True, capture_output=True)
        repair = time.perf_counter() - t
        ref = [timed([sys.executable, "-c", "pass"]) for _ in range(args.repeat)]
        lst = [timed(cli + ["list"]) for _ in range(args.repeat)]
        conn, disc = [], []
        plug = f"bench{args.snaps // 2:04d}:p6"
        for _ in range(args.repeat):
            conn.append(timed(cli + ["connect", plug]))
            disc.append(timed(cli + ["disconnect", plug]))
        r = statistics.median(ref)
        print(f"root: {args.snaps} snaps x 10 plugs; first generation of every profile (doctor --repair): {repair:.2f} s")
        print(f"{'command':40} {'median s':>9} {'x python':>9}")
        for name, xs in (("python -c pass (reference)", ref), ("confine list (reference)", lst),
                         (f"connect {plug} (regenerate+compile)", conn), (f"disconnect {plug}", disc)):
            m = statistics.median(xs)
            print(f"{name:40} {m:9.3f} {m / r:9.1f}")


if __name__ == "__main__":
    main()
