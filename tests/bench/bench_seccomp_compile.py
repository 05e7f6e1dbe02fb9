"""Benchmark: compiling 100 distinct app profiles in one batch vs snap-seccomp run 100 times.

Run: .venv/bin/python tests/bench/bench_seccomp_compile.py [--profiles 100] [--repeat 3] [--workers N]

The profiles are this project's template plus the seccomp lines of a different
random set of interfaces of the catalogue each (as generate_source writes them).

Reference, measured in the same run: Debian's snap-seccomp 2.57.6 (found or fetched
like the tests do) compiling each profile without its `~` lines, one process per
profile, one after the other: how snapd regenerates profiles.

Ours: one fresh Python process (`sys.executable`, interpreter start and imports
included) that parses every source and writes every filter with
compiler.compile_files (allow filter and deny filter, atomic writes), in the
linear layout (byte-identical to the reference, checked) and in the tree layout
the launcher loads; with libseccomp working on every core (the default) and on
one thread only. Printed: medians over --repeat runs and their ratios to the
reference (goal: <= 0.5 for the default). Timing is printed, never asserted.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests")]

GOAL = 0.5

WORKER = r"""
import sys, time
t0 = time.perf_counter()
from backends.native.seccomp import compiler
listing, tree, workers = sys.argv[1], sys.argv[2] == "tree", int(sys.argv[3])
jobs = [line.split("\t") for line in open(listing).read().splitlines()]
compiler.compile_files(jobs, tree=tree, workers=workers or None)
"""


def make_profiles(n: int, seed: int = 7) -> list[str]:
    """n distinct seccomp sources: template + the seccomp lines of a random set of interfaces."""
    from backends.model import App, Snap
    from backends.native.interfaces.catalogue import load_catalogue
    from backends.native.profiles.context import Grant, TagContext
    from backends.native.seccomp.template import generate_source

    blocks = []
    for iface in load_catalogue().values():
        for sn in iface.snippets:
            text = sn.get("seccomp")
            if text and "@unrestricted" not in text and "{{" not in text:
                blocks.append((iface.name, sn["for"], text))
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    i = 0
    while len(out) < n:
        i += 1
        name = f"bench{i}"
        chosen = rng.sample(blocks, rng.randint(2, min(8, len(blocks))))
        snap = Snap(name=name, version="1", apps={"app": App(name, "app", "bin/app")})
        grants = tuple(Grant(iface, side, f"{name}:{iface}", ":" + iface, ("unconfined",), {"seccomp": text})
                       for iface, side, text in chosen)
        src = generate_source(TagContext(f"snap.{name}.app", snap, "app", None, "classic", grants))
        body = src.split("\n", 3)[3]  # distinct beyond the header naming the tag
        if body not in seen:
            seen.add(body)
            out.append(src)
    return out


def time_reference(snap_seccomp: Path, sources: list[Path], outdir: Path) -> float:
    t = time.perf_counter()
    for src in sources:
        subprocess.run([str(snap_seccomp), "compile", str(src), str(outdir / (src.stem + ".bin"))], check=True)
    return time.perf_counter() - t


def time_ours(listing: Path, tree: bool, workers: int) -> float:
    """Wall time of one fresh process compiling every job of `listing`."""
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", WORKER, str(listing), "tree" if tree else "linear", str(workers)],
                   check=True, cwd=REPO)
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--profiles", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workers", type=int, default=0, help="threads for libseccomp (default: every core)")
    args = ap.parse_args()

    from backends.native.seccomp.grammar import without_denials
    from seccomp_oracle import check_version, find_snap_seccomp

    snap_seccomp = find_snap_seccomp()
    texts = make_profiles(args.profiles)
    with tempfile.TemporaryDirectory(prefix="bench-seccomp-") as tmp:
        tmp = Path(tmp)
        (tmp / "src").mkdir()
        (tmp / "ref").mkdir()
        ref_sources = []
        for i, text in enumerate(texts):
            (tmp / "src" / f"{i:03d}.src").write_text(text)
            (tmp / "ref" / f"{i:03d}.src").write_text(without_denials(text))
            ref_sources.append(tmp / "ref" / f"{i:03d}.src")
        runs = iter(range(10**6))

        def fresh_listing() -> tuple[Path, Path]:
            """A new, empty output directory per run: every output is a new file, as
            for the reference (no run can skip writing what an earlier one wrote)."""
            out = tmp / f"out{next(runs)}"
            out.mkdir()
            listing = out / "jobs.txt"
            listing.write_text("".join(f"{tmp / 'src' / f'{i:03d}.src'}\t{out / f'{i:03d}.bin'}\n"
                                       for i in range(len(texts))))
            return listing, out

        def fresh_dir() -> Path:
            out = tmp / f"refout{next(runs)}"
            out.mkdir()
            return out

        variants = [("linear, all cores", False, args.workers), ("linear, one thread", False, 1),
                    ("tree, all cores", True, args.workers), ("tree, one thread", True, 1)]
        times: dict[str, list[float]] = {"reference": []}
        for name, _, _ in variants:
            times[name] = []
        time_ours(fresh_listing()[0], False, args.workers)  # warm the page cache
        for _ in range(args.repeat):
            refout = fresh_dir()
            times["reference"].append(time_reference(snap_seccomp, ref_sources, refout))
            for name, tree, workers in variants:
                listing, out = fresh_listing()
                times[name].append(time_ours(listing, tree, workers))
                if name == "linear, all cores":
                    ours_out = out
        same = all((ours_out / f"{i:03d}.bin").read_bytes() == (refout / f"{i:03d}.bin").read_bytes()
                   for i in range(len(texts)))

    ref = statistics.median(times["reference"])
    print(f"{len(texts)} distinct profiles, {sum(t.count(chr(10)) for t in texts) // len(texts)} lines each on "
          f"average, {os.cpu_count()} cores; medians of {args.repeat} runs")
    print(f"reference: snap-seccomp ({check_version(snap_seccomp).split()[1]} libseccomp) x{len(texts)}: "
          f"{ref * 1e3:8.1f} ms  ({ref / len(texts) * 1e3:.2f} ms per profile)")
    for name, _, _ in variants:
        t = statistics.median(times[name])
        goal = f"  (goal <= {GOAL})" if name == "linear, all cores" else ""
        print(f"ours, one process, {name:18s}: {t * 1e3:8.1f} ms  ratio {t / ref:.2f}{goal}")
    print(f"linear allow filters byte-identical to the reference: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
