"""`confine denials`: what confinement refused, explained, with the interface that allows it.

    confine denials [--follow] [--since TIME] [--snap SNAP] [--source SPEC] [--enable-audit]
                    [--json] [--summary] [--all] [--limit N]
    confine denials parse FILE|- [--json] [--summary]

SPEC: auto (default), netlink, kmsg, stdin, file:PATH. Without --follow the command
reads what was logged before (a log file, else the kernel's ring buffer) and ends;
with --follow it prints new denials as they come until interrupted. --json prints
JSON Lines: one object per record (keys as in backends.model.DENIAL_KEYS, plus line
and raw). Messages about the source (which one, warnings, audit changes) go to
standard error; with --follow a line "listening" says when records are being read.

`add_commands(sub)` adds the command to the confine parser; the engine is imported
only when the command runs.
"""
from __future__ import annotations

import json
import signal
import sys

HELP = "show what confinement refused, why, and the interface that would allow it"
EPILOG = """sources: auto picks the audit netlink socket when following as root (lossless), else
/var/log/audit/audit.log, /dev/kmsg (rate-limited by the kernel: a warning says so), kern.log or syslog.
--enable-audit switches the kernel's audit on while the command runs (Landlock logs its denials only
then) and restores the previous setting when it ends, also on Ctrl-C or SIGTERM."""


def _err(line: str) -> None:
    try:
        print(f"confine denials: {line}", file=sys.stderr, flush=True)
    except (BrokenPipeError, ValueError):
        pass


def _stamp(epoch) -> str:
    if epoch is None:
        return "-"
    import time

    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(epoch))


def _text(d) -> str:
    who = f"{d.snap}.{d.app}" if d.snap and d.app else (d.snap or d.profile or d.comm or "?")
    what = d.syscall if d.kind == "seccomp" else (d.name or d.capability or d.operation or "")
    head = f"{_stamp(d.epoch)}  {who}  {d.kind}"
    if d.mode and d.mode != "DENIED":
        head += f" ({d.mode.lower()})"
    if what:
        head += f"  {what}"
    if d.line:
        head += f"  [line {d.line}]"
    lines = [head]
    if d.explanation:
        lines.append(f"  {d.explanation}")
    shown = 0
    for s in d.suggestions:
        if shown >= 3:
            lines.append(f"  ... {len(d.suggestions) - shown} more (--json lists them all)")
            break
        if s.interface is None:
            lines.append(f"  {s.note}")
        else:
            tag = " [super-privileged]" if s.super_privileged else ""
            how = s.command or {"declare": "declare a plug first", "bind": "bind the plug to the app"}.get(
                s.action, s.action)
            extra = ""
            if s.action != "connect" or not s.certain:
                extra = f"  ({s.note.split(';')[0]})" if s.note else ""
            lines.append(f"  -> {s.interface}{tag}: {how}{extra}")
        shown += 1
    return "\n".join(lines)


_SUGGESTIONS_JSON: dict[int, tuple[tuple, str]] = {}
_TEMPLATES: dict[int, tuple[object, str, str]] = {}


def _suggestions_json(sugg) -> str:
    hit = _SUGGESTIONS_JSON.get(id(sugg))
    if hit is not None and hit[0] is sugg:
        return hit[1]
    text = json.dumps([s.to_json() if hasattr(s, "to_json") else s for s in sugg], ensure_ascii=False)
    if len(_SUGGESTIONS_JSON) > 4096:
        _SUGGESTIONS_JSON.clear()
    _SUGGESTIONS_JSON[id(sugg)] = (sugg, text)
    return text


def _parts(d, keys) -> str:
    return json.dumps({k: getattr(d, k) for k in keys}, ensure_ascii=False)[1:-1]


def _keys():
    from .model import DENIAL_KEYS

    head = DENIAL_KEYS[:DENIAL_KEYS.index("epoch")]
    mid = tuple(k for k in DENIAL_KEYS[DENIAL_KEYS.index("serial") + 1:] if k != "suggestions")
    return head, mid


_HEAD_KEYS, _MID_KEYS = _keys()
_dumps = json.JSONEncoder(ensure_ascii=False).encode


def json_line(d) -> str:
    """`d.to_json()` as one line of JSON (same keys, same order). The hot path of
    --follow --json: a record the feed decoded from another one (`_template`: the
    same denial again, a burst) reuses that one's text but for its stamp, line and raw."""
    template = d.__dict__.get("_template")
    cached = _TEMPLATES.get(id(template)) if template is not None else None
    if cached is not None and cached[0] is template:
        head, mid = cached[1], cached[2]
    else:
        head = _parts(d, _HEAD_KEYS)
        mid = _parts(d, _MID_KEYS) + ', "suggestions": ' + _suggestions_json(d.suggestions)
        if template is not None:
            if len(_TEMPLATES) > 4096:
                _TEMPLATES.clear()
            _TEMPLATES[id(template)] = (template, head, mid)
    epoch = "null" if d.epoch is None else float.__repr__(float(d.epoch))
    serial = "null" if d.serial is None else str(int(d.serial))
    tail = f'"line": {int(d.line)}, "raw": {_dumps(d.raw)}'
    if d.kind == "unparsed":
        tail += f', "reason": {_dumps(d.reason)}'
    return f'{{{head}, "epoch": {epoch}, "serial": {serial}, {mid}, {tail}}}'


def _print_summary(rows: list[dict], as_json: bool) -> None:
    if as_json:
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    if not rows:
        print("No denials.")
        return
    headers = ("Count", "Snap", "App", "Kind", "Operation", "Path or syscall", "Suggestion")
    table = [(str(r["count"]), r["snap"] or "-", r["app"] or "-", r["kind"], r["operation"] or "-", r["target"],
              r["suggestion"] or "-") for r in rows]
    widths = [max(len(h), *(len(t[i]) for t in table)) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for t in table:
        print("  ".join(c.ljust(w) for c, w in zip(t, widths)).rstrip())


class _Terminate(BaseException):
    pass


def _on_terminate(signum, frame):
    raise _Terminate()


def _flush(out) -> None:
    try:
        out.flush()
    except BrokenPipeError:
        _quiet_stdout()
    except (OSError, ValueError):
        pass


def _quiet_stdout() -> None:
    """The reader went away: point stdout at /dev/null so that the interpreter's last
    flush does not complain."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _run_feed(args, feed) -> int:
    from .native.denials.feed import summarize

    previous = {}
    # SIGINT too: a follower started in the background inherits SIGINT ignored, and
    # Ctrl-C (or `kill -INT`) must still end it and restore what it changed.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        try:
            previous[sig] = signal.signal(sig, _on_terminate)
        except (ValueError, OSError):  # not the main thread
            pass
    collected = []
    limit = getattr(args, "limit", None)
    out = sys.stdout
    if feed.follow and not args.summary:
        try:                                   # a larger buffer: a burst goes out in few writes
            sys.stdout.flush()
            out = open(sys.stdout.fileno(), "w", buffering=1 << 18, encoding="utf-8", closefd=False)
        except (OSError, ValueError, AttributeError):
            out = sys.stdout
    # Output is flushed whenever the source waits for more: at once for a lone denial,
    # in blocks during a burst (a write per line would cost more than the rest).
    feed.on_wait = out.flush
    try:
        feed.start()
        _err(f"reading {feed.description}")
        if feed.follow:
            _err("listening (Ctrl-C to stop)")
        for d in feed:
            if args.summary:
                collected.append(d)
            elif args.json:
                out.write(json_line(d) + "\n")
            else:
                out.write(_text(d) + "\n")
            if limit and feed.count >= limit:
                break
        out.flush()
    except (KeyboardInterrupt, _Terminate):
        _flush(out)
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    finally:
        feed.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if args.summary:
        _print_summary(summarize(collected), args.json)
    return 0


def _root(args):
    if args.root is not None:
        return args.root
    from .native.engine import default_root

    return default_root()


def cmd_denials(args) -> int:
    from .errors import ConfineError
    from .native.denials.feed import Feed
    from .native.denials.sources import SourceUnavailable

    if args.enable_audit and not args.follow:
        _err("--enable-audit only matters with --follow (it changes nothing for records already logged)")
    feed = Feed(_root(args), args.source, follow=args.follow, since=args.since, snap=args.snap,
                enable_audit=args.enable_audit and args.follow, include_all=args.all, on_note=_err)
    try:
        return _run_feed(args, feed)
    except SourceUnavailable as exc:
        raise ConfineError(str(exc)) from None


def cmd_parse(args) -> int:
    from .errors import ConfineError
    from .native.denials.feed import Feed
    from .native.denials.sources import FileSource, StreamSource, SourceUnavailable

    src = StreamSource(0) if args.file == "-" else FileSource(args.file)
    feed = Feed(_root(args), src, follow=False, snap=args.snap, include_all=True, on_note=_err)
    try:
        src.open(follow=False)
    except SourceUnavailable as exc:
        raise ConfineError(str(exc)) from None
    args.limit = None
    return _run_feed(args, feed)


def add_commands(sub) -> None:
    """Add `denials` (and `denials parse`) to the subparsers `sub` of the confine parser."""
    import argparse

    p = sub.add_parser("denials", help=HELP, description=HELP, epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--follow", "-f", action="store_true", help="keep reading and print new denials as they come")
    p.add_argument("--since", metavar="TIME", default=None,
                   help="only records from TIME on: epoch seconds, an ISO date or time, today, or an age (10m, 2h)")
    p.add_argument("--snap", metavar="SNAP", default=None, help="only denials of this snap")
    p.add_argument("--source", metavar="SPEC", default="auto",
                   help="auto (default), netlink, kmsg, stdin, or file:PATH")
    p.add_argument("--enable-audit", action="store_true",
                   help="switch the kernel's audit on while following (Landlock needs it); restored on exit")
    p.add_argument("--json", action="store_true", help="JSON Lines: one object per record")
    p.add_argument("--summary", action="store_true", help="counts per snap, app, operation and path or syscall")
    p.add_argument("--all", action="store_true", help="also status records (profile loads, Landlock domains)")
    p.add_argument("--limit", type=int, metavar="N", default=None, help="stop after N records")
    p.set_defaults(func=cmd_denials)
    psub = p.add_subparsers(dest="denials_command", metavar="[parse]")
    pp = psub.add_parser("parse", help="decode the audit records of a file (or - for standard input)",
                         description="Decode every audit record of FILE (or - for standard input): "
                                     "each object carries line (where the record starts) and raw.")
    pp.add_argument("file", metavar="FILE|-")
    pp.add_argument("--json", action="store_true", help="JSON Lines: one object per record")
    pp.add_argument("--summary", action="store_true", help="counts per snap, app, operation and path or syscall")
    pp.add_argument("--snap", metavar="SNAP", default=None, help="only records of this snap")
    pp.set_defaults(func=cmd_parse)
