"""Read `meta/snap.yaml` into a Snap, as snapd reads it, or say exactly what is wrong.

The parsed manifest is kept in the state as a plain record (`to_record`), so listing
thousands of snaps never re-reads YAML; `snap_from_record` turns it back into the
model's Snap.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ManifestError
from ..model import SYSTEM_SNAP, App, Hook, Plug, Slot, Snap
from . import names
from .interfaces.catalogue import Catalogue, validate_attributes
from .yamldoc import Document, load_bytes, load_file

CONFINEMENTS = ("strict", "devmode", "classic")
SNAP_TYPES = ("app", "gadget", "kernel", "base", "os", "snapd")
DAEMONS = ("simple", "forking", "oneshot", "notify", "dbus")
MAX_SUMMARY = 128
MAX_DESCRIPTION = 4096


def _fail(doc: Document, path: tuple, message: str) -> ManifestError:
    return doc.error(path, message, ManifestError)


def _text(doc: Document, value: Any, path: tuple, required: bool = False, limit: int = 4096) -> str:
    if value is None:
        if required:
            raise _fail(doc, path, "is required")
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise _fail(doc, path, f"must be text, not {type(value).__name__}")
    if len(value) > limit:
        raise _fail(doc, path, f"is {len(value)} characters long, more than {limit}")
    return value


def _name_list(doc: Document, value: Any, path: tuple, what: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(doc, path, f"must be a list of {what} names")
    seen: set[str] = set()
    for i, item in enumerate(value):
        err = names.check_plug_name(item, f"{what} name")
        if err:
            raise _fail(doc, path + (i,), err)
        if item in seen:
            raise _fail(doc, path + (i,), f"{what} {item!r} is listed twice")
        seen.add(item)
    return list(value)


def _endpoints(doc: Document, data: Any, kind: str, catalogue: Catalogue) -> dict[str, dict]:
    """Top-level plugs or slots: name -> {interface, attrs}."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise _fail(doc, (kind,), f"must be a map of {kind[:-1]} names")
    out: dict[str, dict] = {}
    side = kind[:-1]
    for name, spec in data.items():
        path = (kind, name)
        err = names.check_plug_name(name, f"{side} name")
        if err:
            raise _fail(doc, path, err)
        if spec is None:
            iface, attrs = name, {}
        elif isinstance(spec, str):
            iface, attrs = spec, {}
        elif isinstance(spec, dict):
            attrs = dict(spec)
            iface = attrs.pop("interface", name)
        else:
            raise _fail(doc, path, f"must be an interface name or a map of attributes, not {type(spec).__name__}")
        ipath = path + ("interface",) if isinstance(spec, dict) and "interface" in spec else path
        err = names.check_plug_name(iface, "interface name")
        if err:
            raise _fail(doc, ipath, err)
        definition = catalogue.get(iface)
        if definition is None:
            raise _fail(doc, ipath, f"unknown interface {iface!r}")
        for aname in attrs:
            err = names.check_plug_name(aname, "attribute name")
            if err:
                raise _fail(doc, path + (aname,), err)
        checked, problems = validate_attributes(definition, side, attrs, name)
        if problems:
            aname, problem = problems[0]
            raise _fail(doc, path + (aname,) if aname in attrs else path, problem)
        out[name] = {"interface": iface, "attrs": checked}
    return out


def parse(doc: Document, catalogue: Catalogue) -> dict:
    """Validate a snap.yaml document and return its normalised record."""
    d = doc.value
    if not isinstance(d, dict):
        raise _fail(doc, (), "snap.yaml must be a map of fields")
    name = d.get("name")
    if name is None:
        raise _fail(doc, ("name",), "is required")
    err = names.check_snap_name(name)
    if err:
        raise _fail(doc, ("name",), err)
    if name == SYSTEM_SNAP:
        raise _fail(doc, ("name",), f"{SYSTEM_SNAP!r} is reserved for the system snap")
    if d.get("version") is None:
        raise _fail(doc, ("version",), "is required")
    version = doc.texts.get(("version",), d["version"])  # as written: 1.10 stays "1.10"
    err = names.check_version(version)
    if err:
        raise _fail(doc, ("version",), err)
    confinement = d.get("confinement", "strict")
    if confinement not in CONFINEMENTS:
        raise _fail(doc, ("confinement",), f"must be one of {', '.join(CONFINEMENTS)}, not {confinement!r}")
    snap_type = d.get("type", "app")
    if snap_type not in SNAP_TYPES:
        raise _fail(doc, ("type",), f"must be one of {', '.join(SNAP_TYPES)}, not {snap_type!r}")
    base = d.get("base")
    if base is not None:
        err = names.check_snap_name(base)
        if err:
            raise _fail(doc, ("base",), err)

    plugs = _endpoints(doc, d.get("plugs"), "plugs", catalogue)
    slots = _endpoints(doc, d.get("slots"), "slots", catalogue)
    for both in sorted(set(plugs) & set(slots)):
        raise _fail(doc, ("slots", both), f"{both!r} is both a plug and a slot; names must be unique in a snap")

    # Apps and hooks name the plugs and slots they use; a name not declared at the
    # top level is an implicit plug/slot of the interface of the same name.
    scoped_plugs: set[str] = set()
    scoped_slots: set[str] = set()
    users: dict[str, dict] = {}
    for kind in ("apps", "hooks"):
        section = d.get(kind)
        if section is None:
            users[kind] = {}
            continue
        if not isinstance(section, dict):
            raise _fail(doc, (kind,), f"must be a map of {kind[:-1]} names")
        out: dict[str, dict] = {}
        for uname, spec in section.items():
            path = (kind, uname)
            err = names.check_app_name(uname) if kind == "apps" else names.check_plug_name(uname, "hook name")
            if err:
                raise _fail(doc, path, err)
            if spec is None and kind == "hooks":
                spec = {}
            if not isinstance(spec, dict):
                raise _fail(doc, path, "must be a map")
            entry: dict[str, Any] = {}
            if kind == "apps":
                command = spec.get("command")
                if not isinstance(command, str) or not command.strip():
                    raise _fail(doc, path + ("command",), "is required (the program to run, relative to the snap)")
                if not names.COMMAND.fullmatch(command) or ".." in command or command.startswith("/"):
                    raise _fail(doc, path + ("command",),
                                f"{command!r}: a relative path inside the snap plus arguments; no quotes, '..' or shell syntax")
                entry["command"] = command
                daemon = spec.get("daemon")
                if daemon is not None and daemon not in DAEMONS:
                    raise _fail(doc, path + ("daemon",), f"must be one of {', '.join(DAEMONS)}, not {daemon!r}")
                entry["daemon"] = daemon
            entry["plugs"] = _name_list(doc, spec.get("plugs"), path + ("plugs",), "plug")
            entry["slots"] = _name_list(doc, spec.get("slots"), path + ("slots",), "slot")
            for kname, table, scoped in (("plugs", plugs, scoped_plugs), ("slots", slots, scoped_slots)):
                for i, ref in enumerate(entry[kname]):
                    scoped.add(ref)
                    if ref in table:
                        continue
                    other = slots if kname == "plugs" else plugs
                    if ref in other:
                        raise _fail(doc, path + (kname, i), f"{ref!r} is declared as a {'slot' if kname == 'plugs' else 'plug'}")
                    if ref not in catalogue:
                        raise _fail(doc, path + (kname, i), f"unknown interface {ref!r} (an undeclared {kname[:-1]} takes the interface of its name)")
                    implied, problems = validate_attributes(catalogue[ref], kname[:-1], {}, ref)
                    if problems:
                        raise _fail(doc, path + (kname, i), f"{ref!r}: {problems[0][0]}: {problems[0][1]}; declare it under top-level {kname}")
                    table[ref] = {"interface": ref, "attrs": implied}
            out[uname] = entry
        users[kind] = out

    apps, hooks = users["apps"], users["hooks"]
    for kname, table, scoped in (("plugs", plugs, scoped_plugs), ("slots", slots, scoped_slots)):
        for ename, entry in table.items():
            if ename in scoped:
                entry["apps"] = sorted(a for a, spec in apps.items() if ename in spec[kname])
                entry["hooks"] = sorted(h for h, spec in hooks.items() if ename in spec[kname])
            else:  # unscoped: bound to every app and hook of the snap, as snapd binds them
                entry["apps"] = sorted(apps)
                entry["hooks"] = sorted(hooks)
                for spec in list(apps.values()) + list(hooks.values()):
                    spec[kname] = sorted(set(spec[kname]) | {ename})

    return {
        "name": name,
        "version": str(version),
        "summary": _text(doc, d.get("summary"), ("summary",), limit=MAX_SUMMARY),
        "description": _text(doc, d.get("description"), ("description",), limit=MAX_DESCRIPTION),
        "title": _text(doc, d.get("title"), ("title",), limit=MAX_SUMMARY),
        "confinement": confinement,
        "type": snap_type,
        "base": base,
        "apps": apps,
        "hooks": hooks,
        "plugs": plugs,
        "slots": slots,
    }


def read_manifest(snap_dir: str | Path, catalogue: Catalogue) -> dict:
    """Read and validate `snap_dir/meta/snap.yaml`; raise ManifestError."""
    path = Path(snap_dir) / "meta" / "snap.yaml"
    if not Path(snap_dir).is_dir():
        raise ManifestError(str(snap_dir), None, "", "not a directory holding meta/snap.yaml")
    return parse(load_file(path, ManifestError), catalogue)


def parse_text(data: bytes | str, catalogue: Catalogue, file: str = "snap.yaml") -> dict:
    if isinstance(data, str):
        data = data.encode("utf-8")
    return parse(load_bytes(data, file, ManifestError), catalogue)


def snap_from_record(record: dict, *, revision: str = "", path: str = "", example: bool = False,
                     grants: tuple[str, ...] = ()) -> Snap:
    name = record["name"]
    return Snap(
        name=name,
        version=record["version"],
        summary=record.get("summary", ""),
        description=record.get("description", ""),
        confinement=record.get("confinement", "strict"),
        base=record.get("base"),
        type=record.get("type", "app"),
        revision=revision,
        path=path,
        example=example,
        grants=tuple(grants),
        apps={a: App(name, a, s["command"], s.get("daemon"), tuple(s["plugs"]), tuple(s["slots"]))
              for a, s in record["apps"].items()},
        hooks={h: Hook(name, h, tuple(s["plugs"]), tuple(s["slots"])) for h, s in record["hooks"].items()},
        plugs={p: Plug(name, p, s["interface"], s["attrs"], tuple(s["apps"]), tuple(s["hooks"]))
               for p, s in record["plugs"].items()},
        slots={p: Slot(name, p, s["interface"], s["attrs"], tuple(s["apps"]), tuple(s["hooks"]))
               for p, s in record["slots"].items()},
    )
