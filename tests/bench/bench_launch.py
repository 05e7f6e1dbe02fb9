"""Benchmark: `confine run` of a trivial app against bwrap and a bare exec of the same program.

Run: .venv/bin/python tests/bench/bench_launch.py [--runs 40] [--keep]

In one run, interleaved (one of each per round, so that load on the machine hits
all alike), the median wall time of:

  confine   confine --root R run trivial       every layer this kernel has (the steps
                                               are printed first, from --explain)
  bwrap     bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --unshare-all PROG
  bare      PROG

where PROG is the trivial snap's bin/true (a copy of /bin/true), and for reference
the interpreter alone (`python -c pass`, `python -S -c pass`), `confine run
--explain` (everything but the fork, the cgroup and the exec) and `confine run
hello.hello` (the example, a shell script that runs about 15 programs).

`confine` is the `confine` console script when it knows `run`, else
`python -m backends.cli_run`. Python runs with bytecode caching on (into a
scratch PYTHONPYCACHEPREFIX, warmed first), as an installed confine would.
Printed: medians, and the ratios confine/bwrap (goal <= 2.0) and confine/bare.
Nothing is asserted. Needs root and bwrap (Debian package bubblewrap).
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

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent.parent
GOAL = 2.0

TRIVIAL_YAML = """name: trivial
version: '1.0'
summary: a trivial app for the launch benchmark
confinement: strict
base: core22
apps:
  trivial:
    command: bin/true
"""


def sh(cmd, env=None, check=True) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO)
    if check and p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stdout}{p.stderr}")
    return p


def confine_command(env) -> tuple[list[str], str]:
    script = Path(sys.executable).with_name("confine")
    if script.exists():
        p = subprocess.run([str(script), "run", "--help"], capture_output=True, text=True, env=env)
        if p.returncode == 0:
            return [str(script)], f"{script} (console script)"
    return [sys.executable, "-m", "backends.cli_run"], f"{sys.executable} -m backends.cli_run (cli.py lacks `run`)"


def timed(cmd, env) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd="/")
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{p.stderr.decode(errors='replace')}")
    return dt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=40)
    ap.add_argument("--keep", action="store_true", help="keep the scratch root")
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("needs root (the device cgroup)")
    bwrap = shutil.which("bwrap")
    if not bwrap:
        sys.exit("bwrap not found: apt-get install bubblewrap")

    host_dirs = {d: os.path.exists(d) for d in ("/var/snap/trivial", "/var/snap/hello", "/root/snap/trivial",
                                                 "/root/snap/hello")}
    parents = {d: os.path.exists(d) for d in ("/var/snap", "/root/snap")}
    # not under /tmp: bwrap --tmpfs /tmp would hide the program (a real snap lives in /snap)
    base = Path(tempfile.mkdtemp(prefix="confine-bench-launch-", dir="/var/tmp"))
    os.chmod(base, 0o755)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(base / "pycache")
    env["PYTHONPATH"] = str(REPO)
    root = base / "root"
    try:
        snapdir = base / "trivial"
        (snapdir / "meta").mkdir(parents=True)
        (snapdir / "bin").mkdir()
        (snapdir / "meta" / "snap.yaml").write_text(TRIVIAL_YAML)
        shutil.copy("/bin/true", snapdir / "bin" / "true")
        sh([sys.executable, "-m", "backends.cli", "--root", str(root), "install", "--examples"], env)
        sh([sys.executable, "-m", "backends.cli", "--root", str(root), "install", str(snapdir)], env)
        prog = str(root / "snaps" / "trivial" / "x1" / "bin" / "true")
        confine, how = confine_command(env)

        explain = json.loads(sh(confine + ["--root", str(root), "run", "--explain", "--json", "trivial"], env).stdout)
        cases = {
            "confine": confine + ["--root", str(root), "run", "trivial"],
            "bwrap": [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
                      "--unshare-all", prog],
            "bare": [prog],
            "python -c pass": [sys.executable, "-c", "pass"],
            "python -S -c pass": [sys.executable, "-S", "-c", "pass"],
            "confine --explain": confine + ["--root", str(root), "run", "--explain", "trivial"],
            "confine hello": confine + ["--root", str(root), "run", "hello.hello"],
        }
        for cmd in cases.values():                       # warm up: bytecode, page cache
            for _ in range(2):
                timed(cmd, env)
        times: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(a.runs):
            for name, cmd in cases.items():
                times[name].append(timed(cmd, env))
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}

        print(f"confine run of {prog} on {os.uname().release}, {a.runs} interleaved runs each; confine = {how}")
        print("steps (confine run --explain trivial):")
        for s in explain["steps"]:
            print(f"  {s['step']:<17} {s['status']:<8} {s['reason'][:90]}")
        print()
        print(f"{'case':<20} {'median ms':>10} {'min ms':>8}")
        for k in cases:
            print(f"{k:<20} {med[k]:>10.2f} {min(times[k]) * 1000:>8.2f}")
        print()
        ratio = med["confine"] / med["bwrap"]
        print(f"confine / bwrap = {ratio:.2f}  (goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'})")
        mins = {k: min(v) * 1000 for k, v in times.items()}
        print(f"  (fastest runs: confine / bwrap = {mins['confine'] / mins['bwrap']:.2f}; less sensitive to load)")
        print(f"confine / bare  = {med['confine'] / med['bare']:.2f}")
        print(f"bwrap / bare    = {med['bwrap'] / med['bare']:.2f}")
        print(f"interpreter start (python -c pass) is {med['python -c pass'] / med['confine'] * 100:.0f}% of "
              f"confine's median; confine minus interpreter = {med['confine'] - med['python -c pass']:.2f} ms")
    finally:
        if a.keep:
            print(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
        for d, existed in host_dirs.items():        # data directories the runs made on the host
            if not existed:
                shutil.rmtree(d, ignore_errors=True)
        for d, existed in parents.items():
            if not existed:
                try:
                    os.rmdir(d)
                except OSError:
                    pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
