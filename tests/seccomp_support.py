"""Helpers shared by the seccomp tests and benchmarks."""
from __future__ import annotations

from pathlib import Path

from backends.native.seccomp import template


def all_example_sources(tmp_path: Path) -> dict[str, str]:
    """The generated seccomp source of every app and hook of every example snap, with
    every plug connected (to the system's slot, else to a snap's), granting whatever
    the base declarations refuse."""
    from backends.model import SYSTEM_SNAP
    from backends.native.engine import NativeBackend
    from backends.native.manifest import read_manifest, snap_from_record
    from backends.native.profiles.context import build_contexts

    engine = NativeBackend(tmp_path / "root", system_kind="classic", profiles=False)
    plugged = {p.interface for d in engine.example_dirs()
               for p in snap_from_record(read_manifest(d, engine.catalogue)).plugs.values()}
    engine.install_examples(grants=sorted(plugged))
    view = engine._view()
    for snap in engine.snaps():
        for plug in snap.plugs.values():
            if any(r.plug == plug.ref and r.slot and not r.undesired for r in engine.connections(snap.name)):
                continue
            slots = [s for s in view.slots_of(plug.interface) if s.snap == SYSTEM_SNAP] or \
                view.slots_of(plug.interface)
            assert slots, f"no slot anywhere for {plug.ref}"
            engine.connect(plug.ref, slots[0].ref)
    view = engine._view()
    for snap in engine.snaps():
        for row in engine.connections(snap.name):
            assert row.plug is None or row.slot, f"{row.plug} is still unconnected"
    out = {}
    for name in sorted(view.snaps):
        if name == SYSTEM_SNAP:
            continue
        for ctx in build_contexts(view.snaps[name], view.snaps, view.state["conns"], engine.catalogue,
                                  engine.system_kind):
            out[ctx.tag] = template.generate_source(ctx)
    return out
