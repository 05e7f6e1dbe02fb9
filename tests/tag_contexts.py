"""Helpers for profile tests: connect a snap's plugs and build its TagContexts as the engine does."""
from __future__ import annotations

from backends.errors import ConfineError
from backends.native.engine import NativeBackend
from backends.native.profiles.context import TagContext, build_contexts


def contexts(backend: NativeBackend, snap: str) -> list[TagContext]:
    state = backend.store.read()
    view = backend._view(state)
    return build_contexts(view.snap(snap), view.snaps, state["conns"], backend.catalogue, backend.system_kind)


def context(backend: NativeBackend, tag: str) -> TagContext:
    snap = tag.split(".")[1]
    return next(c for c in contexts(backend, snap) if c.tag == tag)


def connect_all(backend: NativeBackend, snap: str) -> None:
    """Connect every plug of `snap` that is not connected yet to its one candidate slot."""
    connected = {c.plug.ref for c in backend.connections_state() if not c.undesired}
    for plug in backend.snap(snap).plugs.values():
        if plug.ref in connected:
            continue
        providers = [s for s in backend.snaps() if any(sl.interface == plug.interface for sl in s.slots.values())]
        try:
            backend.connect(plug.ref, providers[0].name if len(providers) == 1 else None)
        except ConfineError:
            pass


def examples_backend(root) -> NativeBackend:
    """Every example installed into `root`, every plug connected."""
    backend = NativeBackend(root, system_kind="classic", profiles=False)
    backend.install_examples()
    for s in backend.snaps():
        connect_all(backend, s.name)
    return backend
