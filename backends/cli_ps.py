"""`confine ps`: the running confined apps.

    confine [--root DIR] ps [--all] [--json]

One line per process of a confined app (its children too): pid, SNAP.APP, the
seccomp mode with the number of stacked filters, the AppArmor label or
"landlock", the device cgroup of its run, CPU time and resident memory. --all
also lists the apps of other state roots. `add_commands(sub)` is the argparse
wiring for backends/cli.py.
"""
from __future__ import annotations

import json
import sys


def _size(n: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)  # pragma: no cover


def _seccomp(p) -> str:
    if p.seccomp == "filter" and p.seccomp_filters is not None:
        return f"filter({p.seccomp_filters})"
    return p.seccomp or "-"


def format_table(procs) -> str:
    if not procs:
        return "No confined app is running."
    headers = ("PID", "App", "Seccomp", "NNP", "Label", "Cgroup", "CPU", "RSS", "Command")
    rows = []
    for p in procs:
        cgroup = p.cgroup.rsplit("/confine/", 1)[-1] if p.cgroup else f"- ({p.found_by})"
        rows.append((str(p.pid), p.target, _seccomp(p), {True: "1", False: "0"}.get(p.no_new_privs, "?"),
                     p.label, cgroup, f"{p.cpu_seconds:.2f}s", _size(p.memory_rss), p.command[:60]))
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def cmd_ps(args) -> int:
    from .cli_run import default_root
    from .native.processes import processes

    procs = processes(args.root or default_root(), every_root=args.all)
    if args.json:
        json.dump([p.to_json() for p in procs], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(format_table(procs))
    return 0


def add_commands(sub) -> None:
    """Add `ps` to the subparsers `sub` of the confine parser."""
    import argparse

    sp = sub.add_parser("ps", help="list running confined apps", description="list running confined apps "
                        "(every process of their sandboxes) with their seccomp mode, Landlock or AppArmor label, "
                        "device cgroup, CPU and memory", formatter_class=argparse.RawDescriptionHelpFormatter)
    sp.add_argument("--json", action="store_true", help="print JSON")
    sp.add_argument("--all", action="store_true", help="also the apps of other state roots")
    sp.set_defaults(func=cmd_ps)
