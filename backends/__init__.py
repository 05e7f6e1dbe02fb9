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
from .model import Connection, ConnectionRow, InstallResult, Interface, Plug, Slot, Snap
from .protocol import Backend

__all__ = [
    "open_backend", "Backend", "ConfineError", "ManifestError", "NotFoundError", "PrivilegeError",
    "RefusedError", "SourceError", "StateError", "UsageError", "Connection", "ConnectionRow",
    "InstallResult", "Interface", "Plug", "Slot", "Snap",
]


def open_backend(root: str | os.PathLike | None = None, **options) -> Backend:
    """The native engine over `root` (default: $CONFINE_ROOT, /var/lib/confine as root)."""
    from .native.engine import NativeBackend

    return NativeBackend(root, **options)
