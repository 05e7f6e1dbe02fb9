"""Compile the C launcher, compiled/*.c, into an executable.

setuptools_build.py calls this at install time, twice over: into the package
(backends/native/launch/confine-launch, which `confine run` execs when it runs
in Python) and as the `confine` command itself, which takes `confine run`
without starting Python and hands every other command to `PYTHON -m
backends.cli`. PYTHON, the interpreter that installed confine, is compiled in
(CONFINE_PYTHON). The benchmark of the launch uses it to build an installed copy.
"""
from __future__ import annotations

import os
import shutil
import subprocess

SOURCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "compiled")
CFLAGS = ["-O2", "-Wall", "-Wextra", "-Wno-format-truncation", "-D_FORTIFY_SOURCE=2", "-fstack-protector-strong",
          "-fPIE", "-pie", "-Wl,-z,relro,-z,now"]


def sources() -> list[str]:
    return sorted(os.path.join(SOURCES, f) for f in os.listdir(SOURCES) if f.endswith((".c", ".h")))


def _c_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def compile_launcher(out: str, python: str, cc: str | None = None) -> str | None:
    """Compile the launcher to `out` (atomically, mode 0755); None when done, else why not."""
    cc = cc or os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not cc:
        return "no C compiler (cc or gcc)"
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = f"{out}.tmp{os.getpid()}"
    cmd = [cc, *CFLAGS, f"-DCONFINE_PYTHON={_c_string(python)}", "-o", tmp,
           *[s for s in sources() if s.endswith(".c")]]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:
        return f"{cc}: {exc.strerror}"
    if proc.returncode != 0:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return f"{' '.join(cmd)} failed:\n{proc.stderr}"
    os.chmod(tmp, 0o755)
    os.replace(tmp, out)
    return None


PYTHON_FRONT = """#!python
# confine: the C launcher could not be built here, so every command runs in Python
import sys
from backends.cli import main
sys.exit(main())
"""
