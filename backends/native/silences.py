"""Denials the admin silenced for a snap: ROOT/denials-silenced.json.

A silence hides one kind of denial of one snap from the console's stream (a noisy
app that keeps trying something harmless). The key names what was refused, not one
record: `KIND:OPERATION:TARGET`, e.g. `seccomp:syscall:ptrace`,
`apparmor:open:/etc/machine-id`, `apparmor:capable:capability sys_admin`.

    {"schema": 1, "silenced": {"SNAP": ["KEY", ...]}}

Writes are atomic and made under the state's lock, like every write of the root.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import StateError, UsageError
from .state import StateStore, atomic_write

FILE = "denials-silenced.json"


def denial_key(d) -> str:
    """The silence key of a denial (a backends.model.Denial)."""
    f = getattr(d, "fields", None) or {}
    if d.kind == "seccomp":
        target = d.syscall or (f"#{d.syscall_nr}" if d.syscall_nr is not None else "?")
        op = "syscall"
    else:
        op = d.operation or d.cls or "?"
        if d.capability:
            target = f"capability {d.capability}"
        elif d.kind == "dbus":
            target = ".".join(x for x in (f.get("interface"), f.get("member")) if x) or f.get("path") or "?"
        else:
            target = d.name or d.family or "?"
    return f"{d.kind}:{op}:{target}"


class Silences:
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.path = self.root / FILE
        self.store = StateStore(self.root)

    def read(self) -> dict[str, list[str]]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise StateError(f"{self.path}: cannot read the silenced denials: {exc}") from None
        silenced = data.get("silenced") if isinstance(data, dict) else None
        if not isinstance(silenced, dict):
            raise StateError(f"{self.path}: no 'silenced' map; it was not written by confine")
        return {k: sorted(set(v)) for k, v in silenced.items() if isinstance(v, list)}

    def _write(self, silenced: dict[str, list[str]]) -> None:
        data = {"schema": 1, "silenced": {k: sorted(set(v)) for k, v in sorted(silenced.items()) if v}}
        atomic_write(self.path, (json.dumps(data, indent=2) + "\n").encode())

    def add(self, snap: str, key: str) -> bool:
        """Silence `key` for `snap`; False when it already was."""
        if not snap or not key or key.count(":") < 2:
            raise UsageError(f"a silence needs a snap and a key KIND:OPERATION:TARGET, not {snap!r} {key!r}")
        with self.store.locked():
            silenced = self.read()
            if key in silenced.get(snap, []):
                return False
            silenced.setdefault(snap, []).append(key)
            self._write(silenced)
        return True

    def remove(self, snap: str, key: str | None = None) -> int:
        """Drop one silence of `snap` (every one with key None); returns how many went."""
        with self.store.locked():
            silenced = self.read()
            keys = silenced.get(snap, [])
            gone = [k for k in keys if key is None or k == key]
            if gone:
                silenced[snap] = [k for k in keys if k not in gone]
                self._write(silenced)
        return len(gone)

    def matches(self, d, silenced: dict[str, list[str]] | None = None) -> bool:
        silenced = self.read() if silenced is None else silenced
        return bool(d.snap) and denial_key(d) in silenced.get(d.snap, ())
