"""The compiled launcher, `confine-launch`: the fast path of `confine run`.

Built from compiled/*.c at install time (setup.py) next to this file. It follows
the same launch plan as the Python runner (runner.py, the reference, which also
explains) and takes the common case: root launching an app whose device cgroup
holds the common devices alone, on a cgroup v1 devices controller, without
AppArmor in the kernel. Any other launch, and any profile that is missing, stale
or not trusted, it hands to the Python runner before changing anything
(`--python` names the interpreter for that).

    binary() -> path or None       the launcher, if built and safe to run
    argv(...) -> list              its command line for one launch
    exec_launch(...)               replace this process with it (returns if absent)
    check(...) -> (bool, why)      whether it would take a launch itself

`CONFINE_LAUNCHER=python` in the environment makes `confine run` use the Python
runner alone. Standard library only: `confine run` imports this on its fast path.
"""
from __future__ import annotations

import os
import sys

NAME = "confine-launch"
FORCE_VARIABLE = "CONFINE_LAUNCHER"


def binary() -> str | None:
    """The launcher's path when it exists, is executable, belongs to root or to us
    and nobody else may write it; else None."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), NAME)
    try:
        st = os.stat(path)
    except OSError:
        return None
    if st.st_uid not in (0, os.geteuid()) or st.st_mode & 0o022 or not st.st_mode & 0o100:
        return None
    return path


def why_absent() -> str:
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), NAME)
    if not os.path.exists(path):
        return f"{path} was not built (no C compiler at install time?)"
    return f"{path} is not owned by root or is writable by others: not used"


def argv(path: str, root: str, target: str, args=(), *, shell: bool = False, user: str | None = None,
         python: str | None = None, check: bool = False) -> list[str]:
    out = [path, "--root", root]
    if user is not None:
        out += ["--user", user]
    if shell:
        out.append("--shell")
    if check:
        out.append("--check")
    if python:
        out += ["--python", python]
    return out + [target, "--", *args]


def wanted() -> bool:
    return os.environ.get(FORCE_VARIABLE, "") != "python"


def exec_launch(root: str, target: str, args=(), *, shell: bool = False, user: str | None = None) -> None:
    """Become the compiled launcher for this launch; return when it cannot be used."""
    path = binary() if wanted() else None
    if path is None:
        return
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os.execv(path, argv(path, root, target, args, shell=shell, user=user, python=sys.executable))


def check(root: str, target: str, args=(), *, shell: bool = False, user: str | None = None) -> tuple[bool, str]:
    """(True, path) when the compiled launcher would take this launch itself, else
    (False, why the Python runner does)."""
    if not wanted():
        return False, f"{FORCE_VARIABLE}=python"
    path = binary()
    if path is None:
        return False, why_absent()
    import subprocess

    proc = subprocess.run(argv(path, root, target, args, shell=shell, user=user, check=True),
                          capture_output=True, text=True)
    out = proc.stdout.strip()
    if proc.returncode == 0 and out == "compiled":
        return True, path
    return False, out.partition("python: ")[2] or proc.stderr.strip() or f"exit {proc.returncode}"
