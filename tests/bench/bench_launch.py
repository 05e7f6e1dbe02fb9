"""Benchmark: `confine run` of a trivial app against bwrap and a bare exec of the same program.

Run: .venv/bin/python tests/bench/bench_launch.py [--runs 40] [--keep]

In one run, interleaved (one of each per round, so that load on the machine hits
all alike), the wall time of:

  confine        confine --root R run trivial   every layer this kernel has (the
                                                steps are printed first, from --explain)
  bwrap          bwrap --ro-bind / / --dev /dev --proc /proc --tmpfs /tmp --unshare-all PROG
  bare           PROG

where PROG is the trivial snap's bin/true (a copy of /bin/true): the same program
on every side. `confine` is the command of confine *installed* as a user would
have it, not of the development checkout: the package is copied into a scratch
venv's site-packages, compiled to bytecode, and its `confine` command is the
compiled launcher built as setup.py builds it (backends/native/launch/build.py,
with the scratch venv's interpreter compiled in for the commands it hands to
Python).

For reference, also:
  confine, python script    `confine run` through the Python console script pip
                            would write for backends.cli:main (pip's own script
                            maker): the interpreter starts, then execs the
                            compiled launcher (what `python -m backends.cli run`
                            does)
  confine, python runner    the same with CONFINE_LAUNCHER=python: the Python
                            launcher alone (what runs where the compiled one
                            hands a launch over)
  python -c pass            the interpreter alone: the floor of a launcher in Python
  confine --explain         (Python) every step decided, nothing run
  confine hello / bwrap hello   the hello script (about 15 programs) on both

Printed: medians and minimums, and the ratios confine/bwrap (goal <= 2.0),
confine/bare. Nothing is asserted. Needs root, gcc and bwrap (Debian package
bubblewrap). Leaves nothing behind (the scratch root and venv, the data
directories the runs create on the host) unless --keep.
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

# writes the console script as the running pip would (run by the checkout's interpreter)
SCRIPT_MAKER = r"""
import sys
bindir, python = sys.argv[1], sys.argv[2]
try:
    from pip._internal.operations.install.wheel import PipScriptMaker as Maker
except ImportError:
    from pip._vendor.distlib.scripts import ScriptMaker as Maker
m = Maker(None, bindir)
m.clobber = True
m.variants = {""}
m.set_mode = True
m.executable = python
m.make("confine-script = backends.cli:main")
"""


def sh(cmd, env=None, check=True, cwd=REPO) -> subprocess.CompletedProcess:
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    if check and p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(map(str, cmd))}\n{p.stdout}{p.stderr}")
    return p


def install_copy(base: Path, env: dict) -> tuple[Path, Path]:
    """A venv holding confine as installed (no editable finder), with bytecode, its
    `confine` command compiled as setup.py makes it, and the Python console script
    pip would write as `confine-script`; (python, site-packages)."""
    from backends.native.launch.build import compile_launcher

    venv = base / "venv"
    sh([sys.executable, "-m", "venv", "--without-pip", str(venv)], env)
    py = venv / "bin" / "python"
    site = Path(sh([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], env).stdout.strip())
    for pkg in ("backends", "confine_tui"):
        shutil.copytree(REPO / pkg, site / pkg, ignore=shutil.ignore_patterns("__pycache__", "*.pyc",
                                                                               "confine-launch"))
    sh([str(py), "-m", "compileall", "-q", str(site / "backends"), str(site / "confine_tui")], env)
    for out in (site / "backends" / "native" / "launch" / "confine-launch", venv / "bin" / "confine"):
        why = compile_launcher(str(out), str(py))
        if why:
            sys.exit(f"cannot build the launcher: {why}")
    p = sh([sys.executable, "-c", SCRIPT_MAKER, str(venv / "bin"), str(py)], env, check=False)
    if p.returncode != 0 or not (venv / "bin" / "confine-script").exists():
        sys.exit(f"cannot write the console script with pip's script maker: {p.stderr}")
    return py, site


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
    ap.add_argument("--keep", action="store_true", help="keep the scratch root and venv")
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
    clean = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "PYTHONPYCACHEPREFIX", "PYTHONHOME")}
    dev_env = dict(clean, PYTHONPATH=str(REPO))
    root = base / "root"
    try:
        snapdir = base / "trivial"
        (snapdir / "meta").mkdir(parents=True)
        (snapdir / "bin").mkdir()
        (snapdir / "meta" / "snap.yaml").write_text(TRIVIAL_YAML)
        shutil.copy("/bin/true", snapdir / "bin" / "true")
        sh([sys.executable, "-m", "backends.cli", "--root", str(root), "install", "--examples"], dev_env)
        sh([sys.executable, "-m", "backends.cli", "--root", str(root), "install", str(snapdir)], dev_env)
        prog = str(root / "snaps" / "trivial" / "x1" / "bin" / "true")
        hello = str(root / "snaps" / "hello" / "x1" / "bin" / "hello")

        py, site = install_copy(base, clean)
        confine = [str(py.parent / "confine")]
        script = [str(py.parent / "confine-script")]
        wrapper = (py.parent / "confine-script").read_text().splitlines()
        r = ["--root", str(root), "run"]

        explain = json.loads(sh(confine + r + ["--explain", "--json", "trivial"], clean, cwd="/").stdout)
        if explain.get("launcher", {}).get("name") != "compiled":
            sys.exit(f"the compiled launcher would not take the trivial app: {explain.get('launcher')}")
        bw = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--unshare-all"]
        cases = {                                        # name: (command, environment)
            "confine": (confine + r + ["trivial"], clean),
            "bwrap": (bw + [prog], clean),
            "bare": ([prog], clean),
            "confine, python script": (script + r + ["trivial"], clean),
            "confine, python runner": (script + r + ["trivial"], dict(clean, CONFINE_LAUNCHER="python")),
            "python -c pass": ([str(py), "-c", "pass"], clean),
            "confine --explain": (confine + r + ["--explain", "trivial"], clean),
            "confine hello": (confine + r + ["hello.hello"], clean),
            "bwrap hello": (bw + [hello], clean),
        }
        for cmd, env in cases.values():                  # warm up: bytecode, page cache
            for _ in range(2):
                timed(cmd, env)
        times: dict[str, list[float]] = {k: [] for k in cases}
        for _ in range(a.runs):
            for name, (cmd, env) in cases.items():
                times[name].append(timed(cmd, env))
        med = {k: statistics.median(v) * 1000 for k, v in times.items()}
        mins = {k: min(v) * 1000 for k, v in times.items()}

        print(f"confine run of {prog} on {os.uname().release}, Python {sys.version.split()[0]}, "
              f"{a.runs} interleaved runs each")
        print(f"confine = {confine[0]}: an installed copy's compiled `confine` command")
        print(f"confine-script = the console script this pip writes for backends.cli:main:")
        for line in wrapper[1:]:
            print(f"    {line}")
        print("steps (confine run --explain trivial):")
        for s in explain["steps"]:
            print(f"  {s['step']:<17} {s['status']:<8} {s['reason'][:90]}")
        print()
        print(f"{'case':<24} {'median ms':>10} {'min ms':>8}")
        for k in cases:
            print(f"{k:<24} {med[k]:>10.2f} {mins[k]:>8.2f}")
        print()
        ratio = med["confine"] / med["bwrap"]
        print(f"confine / bwrap = {ratio:.2f}  (goal <= {GOAL}: {'met' if ratio <= GOAL else 'NOT met'})")
        print(f"  (fastest runs: confine / bwrap = {mins['confine'] / mins['bwrap']:.2f}; less sensitive to load)")
        print(f"  python script / bwrap = {med['confine, python script'] / med['bwrap']:.2f}, "
              f"python runner / bwrap = {med['confine, python runner'] / med['bwrap']:.2f}, "
              f"python -c pass / bwrap = {med['python -c pass'] / med['bwrap']:.2f}")
        print(f"confine / bare  = {med['confine'] / med['bare']:.2f}")
        print(f"bwrap / bare    = {med['bwrap'] / med['bare']:.2f}")
        print(f"hello: confine / bwrap = {med['confine hello'] / med['bwrap hello']:.2f} (the same script on both)")
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
