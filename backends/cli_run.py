"""`confine run`: start an app confined, the way snap-confine does.

    confine [--root DIR] run SNAP.APP [--shell] [--explain [--json]] [--user NAME] [-- ARGS...]

The exit code is the app's (128+N when signal N killed it); 1 when it could not
be started (the message names the step, or the profile and the command that
fixes it).

Two ways in, one behaviour:
  add_commands(sub)   the argparse wiring for backends/cli.py
  main(argv)          the fast path for `confine run ...`: no argparse, no engine,
                      so that a launch pays only for the interpreter and the
                      launcher; main_exit(argv) is main() then os._exit, without
                      the interpreter's teardown. cli.main hands `run` over to it
                      before it builds its parser:

                          from .cli_run import is_run, main_exit
                          if is_run(argv):
                              main_exit(argv)
"""
from __future__ import annotations

import os
import sys

USAGE = "usage: confine [--root DIR] run SNAP.APP [--shell] [--explain [--json]] [--user NAME] [-- ARGS...]"
HELP = """run an app confined, as snap-confine does

positional arguments:
  SNAP.APP        the app (SNAP alone means SNAP.SNAP)
  ARGS            arguments for the app (for /bin/sh with --shell), after --

options:
  --shell         run /bin/sh inside the app's sandbox instead of the app
  --explain       print each step, whether it applies here and why not; run nothing
  --json          with --explain: print JSON
  --user NAME     run as NAME (root only; default: root for root, else yourself)

The exit code is the app's (128+N when killed by signal N); 1 when it could not start."""


def default_root() -> str:
    """`--root`, else $CONFINE_ROOT, else /var/lib/confine (root) or $XDG_DATA_HOME/confine,
    as the engine decides it (backends.native.engine.default_root), without importing it."""
    env = os.environ.get("CONFINE_ROOT")
    if env:
        return env
    if os.geteuid() == 0:
        return "/var/lib/confine"
    data_home = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(data_home, "confine")


def run_command(root: str | None, target: str, args, *, shell: bool = False, explain: bool = False,
                user: str | None = None, json: bool = False) -> int:
    from .native.launch import fastpath

    root = root or default_root()
    if not explain:
        fastpath.exec_launch(root, target, args, shell=shell, user=user)     # returns when there is none
    from .native.launch import runner

    if explain and json:
        import json as _json

        headline, units = runner.explain_steps(root, target, args, shell=shell, user=user)
        compiled, why = fastpath.check(root, target, args, shell=shell, user=user)
        launcher = {"name": "compiled" if compiled else "python", "why": why}
        _json.dump({"headline": headline, "steps": units, "launcher": launcher}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 1 if any(u["status"] == "error" for u in units) else 0
    code = runner.run(root, target, args, shell=shell, user=user, explain=explain)
    if explain:
        # which launcher a run would take: the compiled one, or the Python runner and why
        compiled, why = fastpath.check(root, target, args, shell=shell, user=user)
        print(f"launcher: {'compiled' if compiled else 'python'} ({why})")
    return code


def cmd_run(args) -> int:
    extra = list(args.args or [])
    if extra[:1] == ["--"]:
        extra = extra[1:]
    return run_command(args.root, args.target, extra, shell=args.shell, explain=args.explain, user=args.user,
                       json=args.json)


def add_commands(sub) -> None:
    """Add `run` to the subparsers `sub` of the confine parser."""
    import argparse

    p = sub.add_parser("run", help="run an app confined, as snap-confine does", description=HELP.split("\n")[0],
                       epilog="The exit code is the app's (128+N when killed by signal N); 1 when it could not "
                              "start.")
    p.add_argument("target", metavar="SNAP.APP")
    p.add_argument("--shell", action="store_true", help="run /bin/sh inside the app's sandbox instead of the app")
    p.add_argument("--explain", action="store_true",
                   help="print each step, whether it applies here and why not; run nothing")
    p.add_argument("--json", action="store_true", help="with --explain: print JSON")
    p.add_argument("--user", metavar="NAME", default=None,
                   help="run as NAME (root only; default: root for root, else yourself)")
    p.add_argument("args", nargs=argparse.REMAINDER, metavar="-- ARGS", help="arguments for the app, after --")
    p.set_defaults(func=cmd_run)


class _Usage(Exception):
    pass


def parse(argv: list[str]) -> dict:
    """Parse `[--root DIR] run ...` by hand (argparse costs ~10 ms to import here)."""
    opts = {"root": None, "shell": False, "explain": False, "json": False, "user": None, "target": None,
            "args": []}
    i = 0
    while i < len(argv) and argv[i] != "run":
        a = argv[i]
        if a == "--root" and i + 1 < len(argv):
            opts["root"] = argv[i + 1]
            i += 2
        elif a.startswith("--root="):
            opts["root"] = a.split("=", 1)[1]
            i += 1
        else:
            raise _Usage(f"unexpected {a!r} before `run`")
    if i >= len(argv):
        raise _Usage("no command")
    i += 1
    while i < len(argv):
        a = argv[i]
        if a == "--":
            opts["args"] = argv[i + 1:]
            break
        if a in ("--shell", "--explain", "--json"):
            opts[a[2:]] = True
        elif a == "--user" and i + 1 < len(argv):
            opts["user"] = argv[i + 1]
            i += 1
        elif a.startswith("--user="):
            opts["user"] = a.split("=", 1)[1]
        elif a in ("-h", "--help"):
            raise _Usage("help")
        elif a.startswith("-"):
            raise _Usage(f"unknown option {a!r}")
        else:
            # the app; everything after it is the app's (options of run come before it)
            opts["target"] = a
            rest = argv[i + 1:]
            opts["args"] = rest[1:] if rest[:1] == ["--"] else rest
            break
        i += 1
    if opts["target"] is None:
        raise _Usage("name the app to run (SNAP.APP)")
    return opts


def main(argv: list[str] | None = None) -> int:
    """`confine [--root DIR] run ...` without argparse or the engine."""
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        o = parse(argv)
    except _Usage as exc:
        if str(exc) == "help":
            print(USAGE + "\n\n" + HELP)
            return 0
        print(f"{USAGE}\nconfine run: error: {exc}", file=sys.stderr)
        return 2
    from .errors import ConfineError

    try:
        return run_command(o["root"], o["target"], o["args"], shell=o["shell"], explain=o["explain"],
                           user=o["user"], json=o["json"])
    except ConfineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        return 1


def main_exit(argv: list[str] | None = None):
    """main(), then leave at once: flush stdout and stderr and os._exit with the app's
    status, skipping the interpreter's teardown (10-20 ms on this VM, a third of a
    launch). Everything of the run is over by then: the app was waited for, the
    hotplug monitor stopped and the device cgroup removed.

    The cyclic garbage collector is off for this short-lived process: its passes
    over the objects the imports create cost about a millisecond, and in the
    forked child each pass would also copy the pages it touches."""
    import gc

    gc.disable()
    code = main(argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 1
    os._exit(code)


def is_run(argv: list[str]) -> bool:
    """Whether a confine command line is `[--root DIR] run ...` (for cli.main's early hand-over)."""
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "run":
            return True
        if a == "--root":
            i += 2
        elif a.startswith("--root="):
            i += 1
        else:
            return False
    return False


if __name__ == "__main__":
    main_exit()
