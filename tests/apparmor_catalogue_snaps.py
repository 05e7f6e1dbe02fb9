"""Synthetic snaps that use every interface of the catalogue, for the AppArmor tests.

`allslots` offers a slot of every interface (granted, so that installation and
connection policy never stand in the way) and `allplugs` plugs every interface;
every plug is connected to every provider slot of its interface and to the
system's slot where the system has one. Attribute variants are added so that
every snippet block guarded by an attribute condition is selected by some plug
or slot; the system kind (classic or core) selects the `system:` blocks.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from backends.model import SYSTEM_SNAP
from backends.native.engine import NativeBackend
from backends.native.interfaces.catalogue import PLACEHOLDER, Catalogue
from backends.native.profiles.context import TagContext, build_contexts

# Values for attributes whose schema needs a particular form.
SAMPLES: dict[tuple[str, str, str], Any] = {
    ("personal-files", "plug", "read"): ["$HOME/.config/sample-read", "$HOME/.sample-file"],
    ("personal-files", "plug", "write"): ["$HOME/.local/share/sample-write"],
    ("system-files", "plug", "read"): ["/etc/sample.conf", "/opt/sample-dir"],
    ("system-files", "plug", "write"): ["/var/lib/sample-state"],
    ("content", "plug", "target"): "$SNAP/shared",
    ("content", "plug", "content"): "shared",
    ("content", "plug", "default-provider"): "allslots",
    ("content", "slot", "content"): "shared",
    ("content", "slot", "read"): ["$SNAP/lib", "$SNAP_COMMON/data"],
    ("content", "slot", "write"): ["$SNAP_DATA/sockets"],
    ("hidraw", "slot", "path"): "/dev/hidraw-sample",
    ("hidraw", "slot", "usb-vendor"): 0x1234,
    ("hidraw", "slot", "usb-product"): 0x5678,
    ("serial-port", "slot", "path"): "/dev/ttyUSB0",
    ("serial-port", "slot", "usb-vendor"): 0x0403,
    ("serial-port", "slot", "usb-product"): 0x6001,
    ("serial-port", "slot", "usb-interface-number"): 0,
}


def sample(iface: str, side: str, name: str, spec: dict) -> Any:
    if (iface, side, name) in SAMPLES:
        return SAMPLES[(iface, side, name)]
    kind = spec["type"]
    if kind == "bool":
        return True
    if kind == "int":
        return 1
    if kind == "string":
        if "enum" in spec:
            return spec["enum"][0]
        return "sample"
    if kind == "path":
        return "/opt/sample"
    if kind == "list":
        return ["/opt/sample"] if spec.get("items") == "path" else ["sample"]
    raise AssertionError(kind)


def variants(catalogue: Catalogue, iface_name: str, side: str) -> list[dict]:
    """Attribute sets for one side: required only, every attribute, and one per condition."""
    iface = catalogue[iface_name]
    schema = iface.plug_attributes if side == "plug" else iface.slot_attributes
    required = {n: sample(iface_name, side, n, s) for n, s in schema.items() if s.get("required")}
    for n in ("content", "target"):
        if n in schema and n not in required:
            required[n] = sample(iface_name, side, n, schema[n])
    full = {n: sample(iface_name, side, n, s) for n, s in schema.items()}
    out = [required]
    if full != required:
        out.append(full)
    for block in iface.snippets:
        cond = block.get("when", {}).get(f"{side}-attributes")
        if cond:
            for base in (required, full):
                v = dict(base)
                for k, x in cond.items():
                    if x == "$MISSING":  # the attribute must be absent
                        if not schema[k].get("required"):
                            v.pop(k, None)
                    else:
                        v[k] = x
                out.append(v)
            # and the opposite of each boolean condition
            w = dict(required)
            w.update({k: (not x) if isinstance(x, bool) else x for k, x in cond.items() if x != "$MISSING"})
            out.append(w)
    unique: list[dict] = []
    for v in out:
        if v not in unique:
            unique.append(v)
    return unique


def _endpoints(catalogue: Catalogue, side: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for name in sorted(catalogue):
        for i, attrs in enumerate(variants(catalogue, name, side)):
            out[name if i == 0 else f"{name}-v{i}"] = {"interface": name, **attrs}
    return out


def snap_yaml(name: str, catalogue: Catalogue, side: str) -> str:
    doc = {
        "name": name,
        "version": "1.0",
        "summary": f"uses every interface ({side}s)",
        "confinement": "strict",
        f"{side}s": _endpoints(catalogue, side),
        "apps": {"app": {"command": "bin/run"}},
    }
    return yaml.safe_dump(doc, sort_keys=True)


def write_snap(base: Path, text: str, name: str) -> Path:
    d = base / f"src-{name}"
    (d / "meta").mkdir(parents=True, exist_ok=True)
    (d / "meta" / "snap.yaml").write_text(text)
    (d / "bin").mkdir(exist_ok=True)
    (d / "bin" / "run").write_text("#!/bin/sh\n")
    return d


def quiet_backend(root: Path, system_kind: str, catalogue: Catalogue | None = None) -> NativeBackend:
    """An engine over `root` that keeps state only (profiles are generated by the tests)."""
    backend = NativeBackend(root, system_kind=system_kind, require_root=False, catalogue=catalogue)
    backend.change_hooks.clear()
    return backend


def full_catalogue_backend(tmp: Path, system_kind: str, catalogue: Catalogue | None = None) -> NativeBackend:
    """allslots and allplugs installed under tmp/root, every plug connected everywhere it can be."""
    backend = quiet_backend(tmp / "root", system_kind, catalogue)
    cat = backend.catalogue
    everything = sorted(cat)
    backend.install(write_snap(tmp, snap_yaml("allslots", cat, "slot"), "allslots"), grants=everything)
    backend.install(write_snap(tmp, snap_yaml("allplugs", cat, "plug"), "allplugs"), grants=everything)
    provider = backend.snap("allslots")
    system = backend.system_snap()
    for plug in backend.snap("allplugs").plugs.values():
        for slot in provider.slots.values():
            if slot.interface == plug.interface:
                backend.connect(plug.ref, slot.ref)
        if plug.interface in system.slots:
            backend.connect(plug.ref, f":{plug.interface}")
    return backend


def contexts_of(backend: NativeBackend, names: list[str] | None = None) -> list[TagContext]:
    view = backend._view()
    out = []
    for name in sorted(names or [n for n in view.snaps if n != SYSTEM_SNAP]):
        out += build_contexts(view.snaps[name], view.snaps, view.state["conns"], backend.catalogue,
                              backend.system_kind)
    return out


def connect_everything(backend: NativeBackend) -> None:
    """Connect every plug of every installed snap: to a snap slot of its interface if one
    exists, else to the system's slot."""
    view = backend._view()
    for snap in backend.snaps():
        for plug in snap.plugs.values():
            slots = [s for n, other in sorted(view.snaps.items()) if n not in (SYSTEM_SNAP, snap.name)
                     for s in other.slots.values() if s.interface == plug.interface]
            if slots:
                for slot in slots:
                    backend.connect(plug.ref, slot.ref)
            elif plug.interface in view.snaps[SYSTEM_SNAP].slots:
                backend.connect(plug.ref, f":{plug.interface}")


def block_pattern(text: str) -> re.Pattern:
    """A regular expression matching a snippet block's apparmor text once rendered."""
    parts = PLACEHOLDER.split(text)
    # split() with groups returns [text, g1, g2, text, ...]: keep every third piece
    literal = parts[0::3]
    return re.compile(".+?".join(re.escape(p) for p in literal), re.S)
