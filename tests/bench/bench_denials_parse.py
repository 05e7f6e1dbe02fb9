"""Benchmark: audit record parse throughput, ours against libapparmor's parser, same lines.

Run: .venv/bin/python tests/bench/bench_denials_parse.py [--lines 200000] [--repeat 5]
                                                         [--baseline DIR]

The lines: every single-line AppArmor and D-Bus record of tests/data/denials/corpus.json
that libapparmor 3.0.8 parses as it stands (several transports, every class it
knows), repeated up to --lines. Each parser runs in its own fresh process, the
runs interleaved --repeat times; medians are printed:

  libapparmor        Debian's python3-libapparmor under /usr/bin/python3:
                     LibAppArmor.parse_record(line) and free_record, and
    + values         the same reading 15 values we also report into Python objects
                     (event, operation, profile, name, masks, pid, comm, epoch, ...);
    + record         the same reading every member of its record (43): the output
                     comparable to ours, a Denial with every decoded key=value in
                     `fields` (the reference of the goal). The members are read by
                     one operator.attrgetter call, in C: no interpreter loop of this
                     script is charged to libapparmor.
  ours               backends.native.denials.parser.parse_line(line) -> Denial (the
                     whole record: every field decoded into `fields`, hex values
                     decoded, snap and app, class; no explanation nor suggestion,
                     which libapparmor has no counterpart of), under
                     /usr/bin/python3, the interpreter libapparmor runs in (the
                     like-for-like comparison), and under this project's
                     interpreter (sys.executable: a pyenv build without PGO/LTO,
                     slower than Debian's on the same code, most on C-heavy code
                     such as the regex engine).
  baseline           with --baseline DIR: the same for the parser of another checkout
                     (e.g. `git worktree add /tmp/base HEAD`), to measure a change in
                     one interleaved run.

Each worker times its loop in CPU time (time.process_time), so that other load on
the machine weighs less (still, only numbers of one run compare). Ratios are
throughput ours / libapparmor; the goal is >= 1.0 against parse + record. Our
parser's caches (record layouts, profile -> snap and app) fill on the first
records of each kind, as in a real log. Timing is printed, never asserted. Needs
python3-libapparmor (apt-get install -y python3-libapparmor).
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve()
REPO = HERE.parent.parent.parent
SYSTEM_PYTHON = "/usr/bin/python3"
CORPUS = REPO / "tests" / "data" / "denials" / "corpus.json"

LIBAPPARMOR = r"""
import operator, sys, time
import LibAppArmor as L
lines = open(sys.argv[1]).read().split("\n")
parse, free = L.parse_record, L.free_record
ALL = ("active_hat attribute audit_id audit_sub_id bitmask comm dbus_bus dbus_interface dbus_member dbus_path "
       "denied_mask epoch error_code event flags fs_type fsuid info magic_token name name2 namespace net_family "
       "net_foreign_addr net_foreign_port net_local_addr net_local_port net_protocol net_sock_type operation ouid "
       "parent peer peer_info peer_pid peer_profile pid profile requested_mask signal src_name task version").split()
VALUES = ("event operation profile name requested_mask denied_mask pid comm epoch audit_id info peer net_family "
          "fsuid ouid").split()
# members read in C (one attrgetter call), so no interpreter loop is charged to libapparmor
names = ALL if sys.argv[2] == "all" else VALUES
read, ev = operator.attrgetter(*names), names.index("event")
t = time.process_time()
n = 0
if sys.argv[2] == "parse":
    for line in lines:
        r = parse(line)
        n += r.event != 0
        free(r)
else:
    for line in lines:
        r = parse(line)
        v = read(r)
        n += v[ev] != 0
        free(r)
dt = time.process_time() - t
print(len(lines) / dt, n)
"""

OURS = r"""
import sys, time
sys.path.insert(0, sys.argv[2])
from backends.native.denials.parser import parse_line
lines = open(sys.argv[1]).read().split("\n")
t = time.process_time()
n = 0
for i, line in enumerate(lines, 1):
    d = parse_line(line, i)
    n += d is not None and d.kind != "unparsed"
dt = time.process_time() - t
print(len(lines) / dt, n)
"""


def same_lines() -> list[str]:
    """Single-line AppArmor/D-Bus corpus records that libapparmor parses as they stand."""
    sys.path[:0] = [str(REPO)]
    from backends.native.denials.parser import parse_line
    candidates = []
    for entry in json.loads(CORPUS.read_text()):
        text = entry.get("input", "")
        if text and "\n" not in text:
            d = parse_line(text)
            if d is not None and d.kind in ("apparmor", "dbus"):
                candidates.append(text)
    check = ("import sys, json, LibAppArmor as L\n"
             "out = []\n"
             "for line in json.load(sys.stdin):\n"
             "    r = L.parse_record(line); out.append(r.event != 0); L.free_record(r)\n"
             "print(json.dumps(out))\n")
    ok = json.loads(subprocess.run([SYSTEM_PYTHON, "-c", check], input=json.dumps(candidates),
                                   capture_output=True, text=True, check=True).stdout)
    return [line for line, good in zip(candidates, ok) if good]


def run(cmd: list[str]) -> tuple[float, int]:
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline", metavar="DIR", help="also time the parser of this checkout")
    args = ap.parse_args()
    base = same_lines()
    lines = (base * (args.lines // len(base) + 1))[:args.lines]
    record = "libapparmor (parse + record)"
    ours = {"ours (system python)": SYSTEM_PYTHON, "ours (venv python)": sys.executable}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.txt"
        path.write_text("\n".join(lines))
        runs = {
            "libapparmor (parse only)": [SYSTEM_PYTHON, "-c", LIBAPPARMOR, str(path), "parse"],
            "libapparmor (parse + values)": [SYSTEM_PYTHON, "-c", LIBAPPARMOR, str(path), "values"],
            record: [SYSTEM_PYTHON, "-c", LIBAPPARMOR, str(path), "all"],
        }
        for name, py in ours.items():
            runs[name] = [py, "-c", OURS, str(path), str(REPO)]
            if args.baseline:
                runs[name.replace("ours", "baseline")] = [py, "-c", OURS, str(path), str(Path(args.baseline).resolve())]
        rates: dict[str, list[float]] = {k: [] for k in runs}
        parsed: dict[str, int] = {}
        for _ in range(args.repeat):
            for name, cmd in runs.items():
                rate, n = run(cmd)
                rates[name].append(rate)
                parsed[name] = n
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"{len(lines)} lines ({len(base)} distinct AppArmor/D-Bus records libapparmor parses as they stand, "
          f"several transports), median of {args.repeat} interleaved runs, each in its own process\n")
    for name, rate in med.items():
        print(f"  {name:30} {rate:12,.0f} lines/s   {1e6 / rate:6.2f} us/line   parsed {parsed[name]}")
    print()
    for name in med:
        if name.startswith(("ours", "baseline")):
            print(f"  ratio {name:26}  / libapparmor parse + record: {med[name] / med[record]:5.2f}"
                  f"   / parse + values: {med[name] / med['libapparmor (parse + values)']:5.2f}"
                  f"   / parse only: {med[name] / med['libapparmor (parse only)']:5.2f}")
    print("\n  goal: ratio >= 1.0 against libapparmor's parse + its whole record")
    for name in ours:
        how = "like-for-like, the same interpreter" if name == "ours (system python)" else "this project's interpreter"
        print(f"    {name:22} ({how}): {med[name] / med[record]:5.2f}  "
              f"{'met' if med[name] >= med[record] else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
