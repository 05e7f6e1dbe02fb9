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
    add_oci_commands(actions)


# ---- OCI seccomp JSON: export-oci, import-oci ----------------------------------------

OCI_DOC = """OCI seccomp JSON (the runtime-spec profile format of Docker and podman).

    confine seccomp export-oci SNAP.APP
        prints the app's generated seccomp policy as an OCI profile: the same
        decisions as its compiled filters (explicit denials first, as EACCES).

    confine seccomp import-oci FILE OUT.src [--caps CAP,...] [--arch ARCH] [--kernel VERSION] [--json]
        writes the profile FILE in the line grammar to OUT.src. Docker's includes and
        excludes are applied for the capabilities given (default: Docker's default
        set), the architecture and the kernel. What the grammar cannot say is dropped
        on the narrow side and reported as a warning on stderr; a profile that cannot
        be read stops it with the file and the field (its JSON path).
"""


def cmd_export_oci(args) -> int:
    from .native.engine import NativeBackend
    from .native.seccomp import grammar, oci

    text = NativeBackend(args.root).profiles.show(args.target, "seccomp")
    notes: list[str] = []
    data = oci.export_oci(grammar.parse(text, args.target), notes)
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    json.dump(data, sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def cmd_import_oci(args) -> int:
    from pathlib import Path

    from .errors import ConfineError
    from .native.seccomp import oci
    from .native.state import atomic_write

    src, out = Path(args.file), Path(args.output)
    try:
        raw = src.read_bytes()
    except OSError as exc:
        raise ConfineError(f"cannot read {src}: {exc.strerror or exc}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise oci.OCIError(str(src), "", f"not UTF-8 text (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise oci.OCIError(str(src), "", f"not JSON: {exc.msg} (column {exc.colno})", line=exc.lineno) from None
    caps = None if args.caps is None else [c for c in args.caps.split(",") if c.strip()]
    text, warnings = oci.import_oci(data, caps=caps, arch=args.arch, kernel=args.kernel, file=str(src))
    try:
        atomic_write(out, text.encode())
    except OSError as exc:
        raise ConfineError(f"cannot write {exc.filename or out}: {exc.strerror or exc}") from None
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if args.json:
        json.dump({"input": str(src), "output": str(out), "warnings": warnings}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        rules = sum(1 for line in text.splitlines() if line and not line.startswith("#"))
        print(f"wrote {out}: {rules} lines" + (f", {len(warnings)} warnings" if warnings else ""))
    return 0


def add_oci_commands(actions) -> None:
    """`seccomp export-oci` and `seccomp import-oci`, on the actions of `seccomp`."""
    e = actions.add_parser("export-oci", help="print an app's seccomp policy as OCI seccomp JSON",
                           description=OCI_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    e.add_argument("target", metavar="SNAP.APP")
    e.set_defaults(func=cmd_export_oci)
    i = actions.add_parser("import-oci", help="write a Docker/podman/OCI seccomp profile in the line grammar",
                           description=OCI_DOC, formatter_class=argparse.RawDescriptionHelpFormatter)
    i.add_argument("file", metavar="FILE", help="the OCI seccomp profile (JSON)")
    i.add_argument("output", metavar="OUT.src", help="where to write the seccomp source")
    i.add_argument("--caps", metavar="CAP,...", default=None,
                   help="capabilities for includes/excludes (default: Docker's default set; '' for none)")
    i.add_argument("--arch", default="x86_64", help="architecture the profile is applied for (default: x86_64)")
    i.add_argument("--kernel", default=None, metavar="VERSION",
                   help="kernel release for minKernel (default: this kernel's)")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(func=cmd_import_oci)
