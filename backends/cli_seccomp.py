"""`confine seccomp ...`: the seccomp compiler on the command line.

    confine seccomp compile IN OUT [--tree] [--json]

writes the allow filter of IN to OUT as raw BPF (8-byte sock_filter records; the
@unrestricted marker text for an unrestricted policy) and, when IN has `~` lines,
the deny filter to OUT.deny. A bad line stops it with the file, line and token.
The default (linear) output is what snap-seccomp 2.57.6 writes for IN without its
`~` lines; --tree gives the binary-tree layout the launcher loads.
"""
from __future__ import annotations

import argparse
import json
import sys


def cmd_compile(args) -> int:
    from .native.seccomp.compiler import compile_file

    result = compile_file(args.input, args.output, tree=args.tree)
    deny_path = f"{args.output}.deny"
    data = {"input": args.input, "output": args.output, "deny-output": deny_path if result.deny else None,
            **result.to_json()}
    if args.json:
        json.dump(data, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0
    layout = "binary tree" if args.tree else "linear"
    if result.unrestricted:
        lines = [f"wrote {args.output}: @unrestricted (no filter will be loaded)"]
    else:
        mode = ", complain mode: refusals are logged, not enforced" if result.complain else ""
        lines = [f"wrote {args.output}: allow filter, {len(result.allow) // 8} instructions ({layout}{mode})"]
        if result.deny is not None:
            lines.append(f"wrote {deny_path}: deny filter, {len(result.deny) // 8} instructions (load it first)")
    if result.skipped:
        lines.append("skipped unknown syscalls (not known to libseccomp): " + " ".join(result.skipped))
    print("\n".join(lines))
    return 0


def add_commands(sub) -> None:
    """Add `seccomp` and its actions to the subparsers `sub` of the confine parser."""
    help_text = "compile seccomp policy in snap-confine's line grammar"
    p = sub.add_parser("seccomp", help=help_text, description=help_text)
    actions = p.add_subparsers(dest="seccomp_action", metavar="ACTION")
    actions.required = True
    c = actions.add_parser(
        "compile", help="compile IN into raw BPF at OUT (and OUT.deny for `~` lines)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("input", metavar="IN", help="seccomp source (line grammar)")
    c.add_argument("output", metavar="OUT", help="where to write the allow filter")
    c.add_argument("--tree", action="store_true", help="binary-tree layout (what the launcher loads)")
    c.add_argument("--json", action="store_true", help="print JSON")
    c.set_defaults(func=cmd_compile)
