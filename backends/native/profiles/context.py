"""Gather, for one security tag, every snippet its snap's plugs, slots and connections grant.

A TagContext is the single input of every generator (AppArmor, seccomp, udev,
kernel modules, Landlock, launch plan): generators never read the state or the
catalogue themselves, so each can be tested with a hand-made context.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...model import SYSTEM_SNAP, Snap
from ..interfaces.catalogue import Catalogue, select_snippets


@dataclass(frozen=True)
class Grant:
    """One applicable snippet block, and where it came from."""

    interface: str
    side: str                      # connected-plug | connected-slot | permanent-plug | permanent-slot
    end: str                       # the plug or slot of this snap, as snap:name
    peer: str | None               # the other end of the connection, or None for permanent snippets
    peer_tags: tuple[str, ...]     # security tags of the peer's apps bound to it ("unconfined" for the system)
    body: dict[str, Any]           # mechanism -> data: apparmor, seccomp, udev, kernel-modules, filesystem


@dataclass(frozen=True)
class TagContext:
    tag: str                       # snap.<snap>.<app> or snap.<snap>.hook.<hook>
    snap: Snap
    app: str | None
    hook: str | None
    system_kind: str               # classic | core
    grants: tuple[Grant, ...] = ()
    controls_device_cgroup: bool = False   # a connected interface manages the device cgroup itself
    tags_of_snap: tuple[str, ...] = field(default=())  # every tag of the same snap (for rules among its apps)

    @property
    def command(self) -> str | None:
        return self.snap.apps[self.app].command if self.app else None

    def bodies(self, mechanism: str) -> list[tuple[Grant, Any]]:
        """Every (grant, data) pair for one mechanism, in a stable order."""
        return [(g, g.body[mechanism]) for g in self.grants if mechanism in g.body]


def security_tags(snap: Snap) -> list[tuple[str, str | None, str | None]]:
    """(tag, app, hook) for every app and hook of a snap."""
    out = [(f"snap.{snap.name}.{a}", a, None) for a in sorted(snap.apps)]
    out += [(f"snap.{snap.name}.hook.{h}", None, h) for h in sorted(snap.hooks)]
    return out


SNAP_VARS = re.compile(r"\$(SNAP_DATA|SNAP_COMMON|SNAP)(?=/|$)")


def snap_dirs(snap: Snap) -> dict[str, str]:
    """What $SNAP, $SNAP_DATA and $SNAP_COMMON stand for in `snap`'s path attributes."""
    return {"SNAP": snap.path or f"/snap/{snap.name}/{snap.revision}",
            "SNAP_DATA": f"/var/snap/{snap.name}/{snap.revision}",
            "SNAP_COMMON": f"/var/snap/{snap.name}/common"}


def expand_snap_paths(attrs: dict, schema: dict, snap: Snap | None) -> dict:
    """`attrs` with $SNAP, $SNAP_DATA and $SNAP_COMMON expanded in path attributes.

    A path attribute names a place in the snap that declares it (a content slot's
    `read` list names directories of the slot's snap), so the variables are expanded
    for that snap before a snippet of the other side sees them. $HOME is left for
    each generator (AppArmor writes @{HOME}, Landlock expands it at launch).
    """
    if snap is None or snap.name == SYSTEM_SNAP:
        return attrs
    dirs = None
    out = dict(attrs)
    for name, value in attrs.items():
        spec = schema.get(name) or {}
        is_path = spec.get("type") == "path" or (spec.get("type") == "list" and spec.get("items") == "path")
        if not is_path:
            continue
        dirs = dirs or snap_dirs(snap)
        expand = lambda v: SNAP_VARS.sub(lambda m: dirs[m.group(1)], v) if isinstance(v, str) else v  # noqa: E731
        out[name] = [expand(v) for v in value] if isinstance(value, list) else expand(value)
    return out


def _peer_tags(snaps: dict[str, Snap], snap_name: str, end_name: str, is_plug: bool) -> tuple[str, ...]:
    if snap_name == SYSTEM_SNAP:
        return ("unconfined",)
    peer = snaps.get(snap_name)
    if peer is None:
        return ()
    end = (peer.plugs if is_plug else peer.slots).get(end_name)
    if end is None:
        return ()
    tags = [f"snap.{snap_name}.{a}" for a in end.apps] + [f"snap.{snap_name}.hook.{h}" for h in end.hooks]
    return tuple(sorted(tags))


def build_contexts(snap: Snap, snaps: dict[str, Snap], conns: dict[str, dict], catalogue: Catalogue,
                   system_kind: str) -> list[TagContext]:
    """A TagContext for every app and hook of `snap`.

    `snaps` maps names to every installed snap (and the system snap); `conns` is the
    state's connection table (undesired entries are not connections and are skipped).
    """
    by_plug: dict[str, list[tuple[str, str, dict]]] = {}
    by_slot: dict[str, list[tuple[str, str, dict]]] = {}
    for key, rec in sorted(conns.items()):
        if rec.get("undesired"):
            continue
        plug_ref, slot_ref = key.split(" ")
        ps, pn = plug_ref.split(":")
        ss, sn = slot_ref.split(":")
        if ps == snap.name:
            by_plug.setdefault(pn, []).append((ss, sn, rec))
        if ss == snap.name:
            by_slot.setdefault(sn, []).append((ps, pn, rec))

    all_tags = tuple(t for t, _, _ in security_tags(snap))
    out = []
    for tag, app, hook in security_tags(snap):
        grants: list[Grant] = []
        controls = False

        def bound(end) -> bool:
            return (app is not None and app in end.apps) or (hook is not None and hook in end.hooks)

        for plug in sorted(snap.plugs.values(), key=lambda p: p.name):
            if not bound(plug):
                continue
            iface = catalogue[plug.interface]
            plug_attrs = expand_snap_paths(plug.attrs, iface.plug_attributes, snap)
            for body in select_snippets(iface, "permanent-plug", plug_attrs, {}, system_kind):
                grants.append(Grant(iface.name, "permanent-plug", plug.ref, None, (), body))
            for ss, sn, rec in by_plug.get(plug.name, []):
                slot_attrs = expand_snap_paths(rec.get("slot-static", {}), iface.slot_attributes, snaps.get(ss))
                peer = f":{sn}" if ss == SYSTEM_SNAP else f"{ss}:{sn}"
                tags = _peer_tags(snaps, ss, sn, is_plug=False)
                controls = controls or iface.controls_device_cgroup
                for body in select_snippets(iface, "connected-plug", plug_attrs, slot_attrs, system_kind):
                    grants.append(Grant(iface.name, "connected-plug", plug.ref, peer, tags, body))
        for slot in sorted(snap.slots.values(), key=lambda s: s.name):
            if not bound(slot):
                continue
            iface = catalogue[slot.interface]
            slot_attrs = expand_snap_paths(slot.attrs, iface.slot_attributes, snap)
            for body in select_snippets(iface, "permanent-slot", {}, slot_attrs, system_kind):
                grants.append(Grant(iface.name, "permanent-slot", slot.ref, None, (), body))
            for ps, pn, rec in by_slot.get(slot.name, []):
                plug_attrs = expand_snap_paths(rec.get("plug-static", {}), iface.plug_attributes, snaps.get(ps))
                tags = _peer_tags(snaps, ps, pn, is_plug=True)
                for body in select_snippets(iface, "connected-slot", plug_attrs, slot_attrs, system_kind):
                    grants.append(Grant(iface.name, "connected-slot", slot.ref, f"{ps}:{pn}", tags, body))
        out.append(TagContext(tag, snap, app, hook, system_kind, tuple(grants), controls, all_tags))
    return out
