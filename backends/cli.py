"""`confine`: the command line face of the engine. Thin: parse, call, print.

Exit codes: 0 success, 1 refused or failed, 2 usage error. Heavy modules are imported
only by the commands that need them, so that a quick command starts quickly.
"""
from __future__ import annotations

import os
import sys
TYPE_CHECKING = False   # typing (with re, enum, contextlib) costs `confine run` milliseconds: annotations only
if TYPE_CHECKING:
    from typing import Any, Sequence

from .errors import ConfineError

EPILOG = """exit codes: 0 success, 1 refused or failed (the message says why), 2 usage error.
state: --root DIR, else $CONFINE_ROOT, else /var/lib/confine (root) or $XDG_DATA_HOME/confine."""


def _table(headers: Sequence[str], rows: list[Sequence[str]]) -> str:
    widths = [max([len(h)] + [len(str(r[i])) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()]
    for r in rows:
        lines.append("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    return "\n".join(lines)


def _out(args, data: Any, text: str) -> None:
    import json

    if getattr(args, "json", False):
        json.dump(data, sys.stdout, indent=2, sort_keys=False)
        sys.stdout.write("\n")
    elif text:
        print(text)


def _engine(args):
    from .native.engine import NativeBackend

    return NativeBackend(args.root)


def _snap_json(s) -> dict:
    return {
        "name": s.name, "version": s.version, "revision": s.revision, "confinement": s.confinement,
        "type": s.type, "base": s.base, "summary": s.summary, "example": s.example, "grants": list(s.grants),
        "apps": sorted(s.apps),
        "plugs": [{"name": p.name, "interface": p.interface, "attrs": p.attrs, "apps": list(p.apps)}
                  for p in s.plugs.values()],
        "slots": [{"name": p.name, "interface": p.interface, "attrs": p.attrs, "apps": list(p.apps)}
                  for p in s.slots.values()],
    }


def _conn_json(c) -> dict:
    return {"interface": c.interface, "plug": c.plug.ref, "slot": c.slot.ref, "manual": c.manual,
            "auto": c.auto, "undesired": c.undesired, "granted": c.granted}


def cmd_list(args) -> int:
    snaps = _engine(args).snaps()
    rows = [(s.name, s.version, s.revision, s.confinement, ",".join(sorted(s.apps)) or "-",
             "example" if s.example else "-") for s in snaps]
    text = _table(("Name", "Version", "Rev", "Confinement", "Apps", "Notes"), rows) if rows else "No snaps are installed."
    _out(args, [_snap_json(s) for s in snaps], text)
    return 0


def cmd_connections(args) -> int:
    rows = _engine(args).connections(args.snap, all=args.all)
    text = _table(("Interface", "Plug", "Slot", "Notes"),
                  [(r.interface, r.plug or "-", r.slot or "-", r.notes) for r in rows]) if rows else "No connections."
    _out(args, [r.to_json() for r in rows], text)
    return 0


def cmd_interface(args) -> int:
    import json

    engine = _engine(args)
    if args.name is None:
        ifaces = engine.interfaces()
        if not args.all:
            used = {p.interface for s in engine.snaps() for p in list(s.plugs.values()) + list(s.slots.values())}
            ifaces = [i for i in ifaces if i.name in used]
        data = [{"name": i.name, "summary": i.summary, "label": i.label, "super-privileged": i.super_privileged}
                for i in ifaces]
        text = _table(("Name", "Summary"), [(i.name, i.summary) for i in ifaces]) if ifaces else \
            "No interface is in use (see --all)."
        _out(args, data, text)
        return 0
    iface = engine.interface(args.name)
    plugs, slots = engine.interface_users(args.name)

    def end(e) -> dict:
        d = {"snap": e.snap, "name": e.name, "apps": list(e.apps)}
        if args.attrs:
            d["attrs"] = e.attrs
        return d

    data = {"name": iface.name, "summary": iface.summary, "label": iface.label,
            "super-privileged": iface.super_privileged, "implicit-slot": {
                "classic": iface.implicit_on_classic, "core": iface.implicit_on_core},
            "base-declaration": iface.base_declaration, "plugs": [end(p) for p in plugs],
            "slots": [end(s) for s in slots]}
    lines = [f"name:    {iface.name}", f"summary: {iface.summary}", f"label:   {iface.label}"]
    if iface.super_privileged:
        lines.append("note:    super-privileged" + (f": {iface.warning}" if iface.warning else ""))
    for title, ends in (("plugs", plugs), ("slots", slots)):
        if ends:
            lines.append(f"{title}:")
            for e in ends:
                shown = e.ref if e.name != e.snap else e.snap
                if hasattr(e, "ref") and e.snap == "system":
                    shown = f"system ({e.ref})"
                lines.append(f"  - {shown}")
                if args.attrs:
                    for k, v in sorted(e.attrs.items()):
                        lines.append(f"      {k}: {json.dumps(v)}")
    _out(args, data, "\n".join(lines))
    return 0


def _print_install(args, results) -> None:
    data = []
    lines = []
    for r in results:
        s = r.snap
        lines.append(f"installed {s.name} {s.version} ({s.revision}, {s.confinement})" + (" as an example" if s.example else ""))
        if r.granted:
            lines.append(f"  granted by the admin: {', '.join(r.granted)}")
        for c in r.connected:
            lines.append(f"  connected {c.plug.ref} to {c.slot.ref}")
        for n in r.not_connected:
            lines.append(f"  not connected {n.what}: {n.reason}")
        data.append({"snap": _snap_json(s), "connected": [_conn_json(c) for c in r.connected],
                     "not-connected": [{"what": n.what, "reason": n.reason, "rule": n.rule} for n in r.not_connected],
                     "granted": list(r.granted)})
    _out(args, data, "\n".join(lines))


def cmd_install(args) -> int:
    engine = _engine(args)
    if args.examples:
        if args.dirs:
            raise ConfineError("give either --examples or directories, not both")
        _print_install(args, engine.install_examples(grants=args.grant))
        return 0
    if not args.dirs:
        raise ConfineError("name a snap directory (holding meta/snap.yaml) or use --examples")
    results = [engine.install(d, grants=args.grant) for d in args.dirs]
    _print_install(args, results)
    return 0


def cmd_remove(args) -> int:
    snap = _engine(args).remove(args.snap)
    _out(args, {"removed": snap.name}, f"removed {snap.name}")
    return 0


def _print_preview(args, preview) -> int:
    _out(args, {"diffs": preview.diffs}, preview.text().rstrip("\n"))
    return 0


def cmd_connect(args) -> int:
    if args.dry_run:
        return _print_preview(args, _engine(args).preview_connect(args.plug, args.slot))
    c = _engine(args).connect(args.plug, args.slot)
    note = " (granted by the admin)" if c.granted else ""
    _out(args, _conn_json(c), f"connected {c.plug.ref} to {c.slot.ref}{note}")
    return 0


def cmd_disconnect(args) -> int:
    if args.dry_run:
        return _print_preview(args, _engine(args).preview_disconnect(args.ref, args.other, forget=args.forget))
    gone = _engine(args).disconnect(args.ref, args.other, forget=args.forget)
    lines = []
    for c in gone:
        extra = " (auto-connection: kept as undesired; --forget drops it)" if c.auto and not args.forget else ""
        lines.append(f"disconnected {c.plug.ref} from {c.slot.ref}{extra}")
    if not gone:
        lines.append("forgot the undesired mark")
    _out(args, [_conn_json(c) for c in gone], "\n".join(lines))
    return 0


def cmd_reset(args) -> int:
    if args.dry_run:
        return _print_preview(args, _engine(args).preview_reset(args.snap))
    dropped, restored = _engine(args).reset(args.snap)
    lines = [f"disconnected {c.plug.ref} from {c.slot.ref}" for c in dropped]
    lines += [f"connected {c.plug.ref} to {c.slot.ref}" for c in restored]
    _out(args, {"disconnected": [_conn_json(c) for c in dropped], "connected": [_conn_json(c) for c in restored]},
         "\n".join(lines) or f"{args.snap}: already as its declaration has it")
    return 0


def cmd_silence(args) -> int:
    engine = _engine(args)
    if args.list or args.snap is None:
        silenced = engine.denial_silences()
        rows = [(snap, key) for snap in sorted(silenced) for key in silenced[snap]]
        _out(args, silenced, _table(("Snap", "Silenced denial"), rows) if rows else "No denial is silenced.")
        return 0
    if args.remove:
        n = engine.unsilence_denial(args.snap, args.key)
        _out(args, {"removed": n}, f"{args.snap}: {n} silence(s) removed")
        return 0
    if args.key is None:
        raise ConfineError("name the denial to silence: KIND:OPERATION:TARGET (the console shows it)")
    added = engine.silence_denial(args.snap, args.key)
    _out(args, {"snap": args.snap, "key": args.key, "added": added},
         f"{args.snap}: {'silenced' if added else 'already silenced'} {args.key}")
    return 0


def cmd_doctor(args) -> int:
    from .native import doctor

    if args.repair:
        engine = _engine(args)
        engine._check_root()
        report = engine.profiles.repair()
        lines = [f"regenerated profiles under {engine.root / 'profiles'}: {len(report.written)} written, "
                 f"{report.unchanged} unchanged, {len(report.compiled)} compiled, {len(report.removed)} removed"]
        lines += [f"  {line}" for line in report.host]
        _out(args, report.to_json(), "\n".join(lines))
        return 0
    layers = doctor.probe()
    _out(args, [layer.to_dict() for layer in layers], doctor.format_report(layers))
    return 0


def cmd_profile(args) -> int:
    text = _engine(args).profiles.show(args.target, args.kind)
    _out(args, {"target": args.target, "kind": args.kind, "text": text}, text.rstrip("\n"))
    return 0


def build_parser():
    import argparse

    p = argparse.ArgumentParser(prog="confine", description="Confinement manager for Linux apps, in the style of snapd.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", metavar="DIR", default=None, help="state directory (default: see below)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    def command(name, func, help):
        sp = sub.add_parser(name, help=help, description=help, epilog=EPILOG,
                            formatter_class=argparse.RawDescriptionHelpFormatter)
        sp.set_defaults(func=func)
        sp.add_argument("--json", action="store_true", help="print JSON")
        return sp

    command("list", cmd_list, "list installed snaps")
    sp = command("connections", cmd_connections, "list connections, like `snap connections`")
    sp.add_argument("snap", nargs="?", help="only this snap, with its unconnected plugs and slots")
    sp.add_argument("--all", action="store_true", help="also unconnected plugs and slots of every snap")
    sp = command("interface", cmd_interface, "show interfaces and which snaps plug or slot them")
    sp.add_argument("name", nargs="?")
    sp.add_argument("--attrs", action="store_true", help="show plug and slot attributes")
    sp.add_argument("--all", action="store_true", help="list every interface of the catalogue")
    sp = command("install", cmd_install, "install snaps from directories holding meta/snap.yaml")
    sp.add_argument("dirs", nargs="*", metavar="DIR")
    sp.add_argument("--examples", action="store_true", help="install the bundled example snaps")
    sp.add_argument("--grant", action="append", default=[], metavar="INTERFACE",
                    help="allow plugs of INTERFACE that its declaration refuses (repeatable)")
    sp = command("remove", cmd_remove, "remove a snap and its connections")
    sp.add_argument("snap")
    sp = command("connect", cmd_connect, "connect a plug to a slot (default: the system's slot)")
    sp.add_argument("plug", metavar="SNAP:PLUG")
    sp.add_argument("slot", nargs="?", metavar="SNAP[:SLOT]")
    sp.add_argument("--dry-run", action="store_true", help="print the profile diff it would make; change nothing")
    sp = command("disconnect", cmd_disconnect, "disconnect a connection, or every connection of a plug or slot")
    sp.add_argument("ref", metavar="SNAP:PLUG")
    sp.add_argument("other", nargs="?", metavar="SNAP:SLOT")
    sp.add_argument("--forget", action="store_true", help="drop an auto-connection instead of marking it undesired")
    sp.add_argument("--dry-run", action="store_true", help="print the profile diff it would make; change nothing")
    sp = command("reset", cmd_reset, "put a snap's plugs back as its declaration has them (drop manual "
                 "connections, make undesired auto-connections again)")
    sp.add_argument("snap")
    sp.add_argument("--dry-run", action="store_true", help="print the profile diff it would make; change nothing")
    sp = command("silence", cmd_silence, "hide a noisy denial of a snap from the console (or list or remove silences)")
    sp.add_argument("snap", nargs="?")
    sp.add_argument("key", nargs="?", metavar="KIND:OPERATION:TARGET")
    sp.add_argument("--remove", action="store_true", help="remove the silence (every one of SNAP without KEY)")
    sp.add_argument("--list", action="store_true", help="list the silences")
    sp = command("doctor", cmd_doctor, "show which enforcement layers this kernel offers")
    sp.add_argument("--repair", action="store_true", help="regenerate every profile from the state")
    sp = command("profile", cmd_profile, "print a generated profile of an app")
    sp.add_argument("target", metavar="SNAP.APP")
    sp.add_argument("--kind", default="apparmor", metavar="KIND",
                    help="apparmor, seccomp, pfc (compiled filter as pseudo-code), udev, modules, landlock, launch")
    from .cli_seccomp import add_commands as add_seccomp_commands

    add_seccomp_commands(sub)
    from .cli_run import add_commands as add_run_commands

    add_run_commands(sub)
    from .cli_ps import add_commands as add_ps_commands

    add_ps_commands(sub)
    from .cli_denials import add_commands as add_denials_commands

    add_denials_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    from .cli_run import is_run, main_exit

    if is_run(argv):  # the launcher's fast path: no argparse, no engine
        main_exit(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ConfineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 1
    except BrokenPipeError:
        return 1
    except Exception as exc:  # a bug: say so plainly, without a traceback unless asked
        if os.environ.get("CONFINE_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set CONFINE_DEBUG=1 for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
