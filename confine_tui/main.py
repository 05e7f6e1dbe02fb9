"""`confine-tui [--root DIR] [--examples]`: open the console."""
from __future__ import annotations

import argparse
import sys
from typing import Sequence


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="confine-tui", description="confine's administration console.",
                                epilog="state: --root DIR, else $CONFINE_ROOT, else /var/lib/confine (root) "
                                       "or $XDG_DATA_HOME/confine; the same as `confine`.")
    p.add_argument("--root", metavar="DIR", default=None, help="state directory (default: see below)")
    p.add_argument("--examples", action="store_true",
                   help="on a root without snaps, install the bundled examples without asking")
    p.add_argument("--no-live-denials", action="store_true",
                   help="do not follow the kernel's audit stream (the Denials area stays empty)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else list(argv))
    from backends import ConfineError, open_backend

    from .adapters.denials import DenialsAdapter
    from .app import ConfineApp

    try:
        backend = open_backend(args.root)
    except ConfineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    denials = DenialsAdapter(backend.root, live=not args.no_live_denials)
    app = ConfineApp(backend=backend, examples=args.examples, denials=denials)
    app.run()
    return app.return_code or 0


if __name__ == "__main__":
    sys.exit(main())
