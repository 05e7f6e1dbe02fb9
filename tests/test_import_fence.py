"""The engine is headless: importing any module of backends/ never loads textual or rich."""
from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import backends

FORBIDDEN = ("textual", "rich")


def all_backend_modules() -> list[str]:
    names = ["backends"]
    for info in pkgutil.walk_packages(backends.__path__, prefix="backends."):
        names.append(info.name)
    return names


def test_every_backends_module_is_found():
    mods = all_backend_modules()
    for expected in ("backends.cli", "backends.native.engine", "backends.native.manifest",
                     "backends.native.policy", "backends.native.state", "backends.native.interfaces.catalogue"):
        assert expected in mods


def test_importing_backends_never_loads_textual_or_rich():
    mods = all_backend_modules()
    code = (
        "import importlib, sys\n"
        f"for m in {mods!r}:\n"
        "    importlib.import_module(m)\n"
        f"bad = sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})\n"
        "print(' '.join(bad))\n"
        "sys.exit(1 if bad else 0)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(backends.__file__).parent.parent)
    assert proc.returncode == 0, f"backends imported {proc.stdout.strip()} {proc.stderr}"
