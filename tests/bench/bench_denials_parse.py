"""Benchmark: audit record parse throughput, ours against libapparmor's parser, same lines.

Run: .venv/bin/python tests/bench/bench_denials_parse.py [--lines 200000] [--repeat 5]

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
                     `fields` (the headline reference);
  ours               backends.native.denials.parser.parse_line(line) -> Denial,
                     under this project's interpreter (sys.executable), and
  ours, system py    the same under /usr/bin/python3, the interpreter libapparmor
                     runs in (this venv's pyenv build is about 2x slower than
                     Debian's optimised build on the same code).

Each worker times its loop in CPU time (time.process_time), so that other load on
the machine weighs less. Ratios are throughput ours / libapparmor (goal >= 1.0 against parse + record).
Timing is printed, never asserted. Needs python3-libapparmor (apt-get install -y
python3-libapparmor).
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
import sys, time
import LibAppArmor as L
lines = open(sys.argv[1]).read().split("\n")
values = sys.argv[2] == "values"
parse, free = L.parse_record, L.free_record
ALL = ("active_hat attribute audit_id audit_sub_id bitmask comm dbus_bus dbus_interface dbus_member dbus_path "
       "denied_mask epoch error_code event flags fs_type fsuid info magic_token name name2 namespace net_family "
       "net_foreign_addr net_foreign_port net_local_addr net_local_port net_protocol net_sock_type operation ouid "
       "parent peer peer_info peer_pid peer_profile pid profile requested_mask signal src_name task version").split()
t = time.process_time()
n = 0
if sys.argv[2] == "all":
    for line in lines:
        r = parse(line)
        v = [getattr(r, a) for a in ALL]
        n += r.event != 0
        free(r)
elif values:
    for line in lines:
        r = parse(line)
        v = (r.event, r.operation, r.profile, r.name, r.requested_mask, r.denied_mask, r.pid, r.comm,
             r.epoch, r.audit_id, r.info, r.peer, r.net_family, r.fsuid, r.ouid)
        n += r.event != 0
        free(r)
else:
    for line in lines:
        r = parse(line)
        n += r.event != 0
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
    args = ap.parse_args()
    base = same_lines()
    lines = (base * (args.lines // len(base) + 1))[:args.lines]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "lines.txt"
        path.write_text("\n".join(lines))
        runs = {
            "libapparmor (parse only)": [SYSTEM_PYTHON, "-c", LIBAPPARMOR, str(path), "parse"],
            "libapparmor (parse + values)": [SYSTEM_PYTHON, "-c", LIBAPPARMOR, str(path), "values"],
            "libapparmor (parse + record)": [SYSTEM_PYTHON, "-c", LIBAPPARMOR, str(path), "all"],
            "ours (venv python)": [sys.executable, "-c", OURS, str(path), str(REPO)],
            "ours (system python)": [SYSTEM_PYTHON, "-c", OURS, str(path), str(REPO)],
        }
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
    for ours in ("ours (venv python)", "ours (system python)"):
        print(f"  ratio {ours:22}  / libapparmor parse + record: "
              f"{med[ours] / med['libapparmor (parse + record)']:5.2f}   / parse + values: "
              f"{med[ours] / med['libapparmor (parse + values)']:5.2f}   / parse only: "
              f"{med[ours] / med['libapparmor (parse only)']:5.2f}")
    ok = med["ours (venv python)"] >= med["libapparmor (parse + record)"]
    print(f"\n  goal: ratio >= 1.0 (ours, venv python, against libapparmor's parse + its whole record): "
          f"{'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
