"""Helpers for the console's tests: roots with the examples, apps over them, settling."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

from backends.native.engine import NativeBackend
from confine_tui.adapters.denials import DenialsAdapter
from confine_tui.adapters.processes import ProcessesAdapter
from confine_tui.app import ConfineApp

from confine_tui.screenshots import AA_CAMERA, AA_REMOVABLE, DOCKER, SECCOMP_PTRACE  # noqa: F401
from confine_tui.screenshots import fixed_backend, fixed_processes


def install_examples(root: Path) -> Path:
    NativeBackend(root, system_kind="classic", profiles=False).install_examples()
    return root


def make_app(root: Path, *, fixed: bool = False, watch: bool = True, **kw) -> ConfineApp:
    backend = fixed_backend(root) if fixed else NativeBackend(root, system_kind="classic")
    denials = kw.pop("denials", None) or DenialsAdapter(root, live=False)
    processes = kw.pop("processes", None) or (fixed_processes(root) if fixed else ProcessesAdapter(root))
    return ConfineApp(backend=backend, denials=denials, processes=processes, watch=watch, **kw)


async def settle(pilot, timeout: float = 10.0) -> None:
    """Wait until no worker runs and the screens have handled what the workers posted."""
    app = pilot.app
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        await app.workers.wait_for_complete()
        await pilot.pause(0.05)
        if not any(w.is_running for w in app.workers):
            await pilot.pause(0.05)
            if not any(w.is_running for w in app.workers):
                return
    raise AssertionError("the console did not settle: " + ", ".join(w.name for w in app.workers if w.is_running))


async def wait_for(pilot, predicate, timeout: float = 5.0, what: str = "condition") -> float:
    """Poll `predicate` while the app runs; returns the seconds it took."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        await pilot.pause(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def feed_denials(app: ConfineApp, *lines: str) -> list:
    """Parse audit lines with the engine's denials API and feed them through the adapter."""
    return app.denials.feed_lines(list(lines), backend=app.backend)


async def press(pilot, *keys: str) -> None:
    for k in keys:
        await pilot.press(k)
        await settle(pilot)


def conns(root: Path, snap: str | None = None) -> dict:
    """plug -> (slot, notes) as the engine has it now."""
    rows = NativeBackend(root, system_kind="classic", profiles=False).connections(snap)
    return {r.plug: (r.slot, r.notes) for r in rows if r.plug}


__all__ = ["AA_REMOVABLE", "AA_CAMERA", "SECCOMP_PTRACE", "DOCKER", "install_examples", "make_app", "settle",
           "wait_for", "feed_denials", "press", "conns", "asyncio"]
