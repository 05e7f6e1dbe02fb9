"""confine's headless engine. Never imports textual: faces build on this.

    from backends import open_backend
    engine = open_backend("/var/lib/confine")
    engine.install("path/to/snapdir")
    engine.connect("notes:home")
"""
from __future__ import annotations

import os

from .errors import (ConfineError, ManifestError, NotFoundError, PrivilegeError, RefusedError, SourceError,
                     StateError, UsageError)

# The model (dataclasses) and the protocol load on first use: `confine run` imports
# backends.* on its fast path and must not pay for them.
_LAZY = {"Connection": "model", "ConnectionRow": "model", "InstallResult": "model", "Interface": "model",
         "Plug": "model", "Slot": "model", "Snap": "model", "Backend": "protocol"}

__all__ = [
    "open_backend", "Backend", "ConfineError", "ManifestError", "NotFoundError", "PrivilegeError",
    "RefusedError", "SourceError", "StateError", "UsageError", "Connection", "ConnectionRow",
    "InstallResult", "Interface", "Plug", "Slot", "Snap",
]


def open_backend(root: str | os.PathLike | None = None, **options) -> Backend:
    """The native engine over `root` (default: $CONFINE_ROOT, /var/lib/confine as root)."""
    from .native.engine import NativeBackend

    return NativeBackend(root, **options)


def __getattr__(name):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{mod}"), name)
    globals()[name] = value
    return value
