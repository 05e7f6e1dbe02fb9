"""Load and check the interface catalogue, and validate plug and slot attributes.

The catalogue is data (FORMAT.md); this module only reads it, rejects files that do
not follow the format (naming file, line and field), and answers questions about it.
"""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from ...errors import CatalogueError
from ...model import Interface
from .. import names
from ..yamldoc import Document, load_file

DATA_DIR = Path(__file__).with_name("data")

TOP_KEYS = {
    "name", "summary", "label", "description", "super-privileged", "warning", "implicit-slot",
    "controls-device-cgroup", "attributes", "base-declaration", "snippets",
}
RULE_KEYS = (
    "allow-installation", "deny-installation", "allow-connection", "deny-connection",
    "allow-auto-connection", "deny-auto-connection",
)
CONSTRAINT_KEYS = {
    "plug-snap-type", "slot-snap-type", "plug-attributes", "slot-attributes",
    "plug-names", "slot-names", "on-classic",
}
SNAP_TYPES = {"app", "gadget", "kernel", "core", "snapd", "base", "os"}
SIDES = ("connected-plug", "connected-slot", "permanent-plug", "permanent-slot")
SNIPPET_KEYS = {"for", "when", "each", "apparmor", "seccomp", "udev", "kernel-modules", "filesystem", "landlock"}
WHEN_KEYS = {"system", "plug-attributes", "slot-attributes"}
UDEV_KEYS = {"subsystem", "kernel", "attrs", "env"}
ATTR_TYPES = {"bool", "int", "string", "path", "list"}
ATTR_KEYS = {"type", "items", "default", "default-name", "required", "enum", "pattern", "description"}
FS_ACCESS = re.compile(r"[rwxl]+")
# What a `landlock` snippet key may lift: TCP rights kept (Landlock ABI >= 4) and
# scopes left open (ABI >= 6); `mount: true` says the grant lets the app mount, which
# no Landlock-restricted process may do (the launcher then applies no Landlock at all).
LANDLOCK_KEYS = {"network": ("connect", "bind"), "unscoped": ("signal", "abstract-unix-socket")}
LANDLOCK_FLAGS = {"mount"}


class Catalogue(dict):
    """Interface name -> Interface, in name order."""

    def get_interface(self, name: str) -> Interface | None:
        return self.get(name)


def _check(cond: bool, doc: Document, path: tuple, message: str) -> None:
    if not cond:
        raise doc.error(path, message, CatalogueError)


def _check_constraints(doc: Document, path: tuple, value: Any) -> None:
    if isinstance(value, bool):
        return
    alternatives = value if isinstance(value, list) else [value]
    for i, alt in enumerate(alternatives):
        p = path + (i,) if isinstance(value, list) else path
        _check(isinstance(alt, dict), doc, p, "a rule is true, false, a constraint map or a list of them")
        for key, cval in alt.items():
            _check(key in CONSTRAINT_KEYS, doc, p + (key,), f"unknown constraint {key!r}")
            if key.endswith("snap-type"):
                _check(isinstance(cval, list) and all(t in SNAP_TYPES for t in cval), doc, p + (key,),
                       f"a list of snap types from {sorted(SNAP_TYPES)}")
            elif key == "on-classic":
                _check(isinstance(cval, bool), doc, p + (key,), "must be true or false")
            elif key.endswith("-names"):
                _check(isinstance(cval, list) and all(isinstance(n, str) for n in cval), doc, p + (key,), "a list of names")
            else:
                _check(isinstance(cval, dict), doc, p + (key,), "an attribute constraint map")
                for aname, aval in cval.items():
                    if isinstance(aval, str) and not aval.startswith("$"):
                        try:
                            re.compile(aval)
                        except re.error as exc:
                            raise doc.error(p + (key, aname), f"bad regular expression: {exc}", CatalogueError) from None


def _check_attr_schema(doc: Document, path: tuple, schema: Any) -> None:
    _check(isinstance(schema, dict), doc, path, "a map of attribute name to its schema")
    for aname, spec in schema.items():
        p = path + (aname,)
        _check(names.check_plug_name(aname) is None, doc, p, f"invalid attribute name {aname!r}")
        _check(isinstance(spec, dict), doc, p, "an attribute schema is a map")
        for k in spec:
            _check(k in ATTR_KEYS, doc, p + (k,), f"unknown schema key {k!r}")
        _check(spec.get("type") in ATTR_TYPES, doc, p + ("type",), f"type must be one of {sorted(ATTR_TYPES)}")
        if spec["type"] == "list":
            _check(spec.get("items", "string") in ("string", "path"), doc, p + ("items",), "items must be string or path")
        if "pattern" in spec:
            try:
                re.compile(spec["pattern"])
            except (re.error, TypeError) as exc:
                raise doc.error(p + ("pattern",), f"bad regular expression: {exc}", CatalogueError) from None
        if "default" in spec:
            err = attribute_error(spec, spec["default"])
            _check(err is None, doc, p + ("default",), f"default does not fit the schema: {err}")


def _check_snippet(doc: Document, path: tuple, sn: Any, schema: dict) -> None:
    _check(isinstance(sn, dict), doc, path, "a snippet is a map")
    for k in sn:
        _check(k in SNIPPET_KEYS, doc, path + (k,), f"unknown snippet key {k!r}")
    _check(sn.get("for") in SIDES, doc, path + ("for",), f"must be one of {', '.join(SIDES)}")
    when = sn.get("when", {})
    _check(isinstance(when, dict), doc, path + ("when",), "a map of conditions")
    for k, v in when.items():
        _check(k in WHEN_KEYS, doc, path + ("when", k), f"unknown condition {k!r}")
        if k == "system":
            _check(v in ("core", "classic"), doc, path + ("when", k), "must be core or classic")
        else:
            side = k.split("-")[0]
            _check(isinstance(v, dict), doc, path + ("when", k), "a map of attribute values")
            for aname in v:
                _check(aname in schema.get(side, {}), doc, path + ("when", k, aname),
                       f"condition on attribute {aname!r}, which the {side} schema does not declare")
    if "each" in sn:
        each = sn["each"]
        ok = isinstance(each, str) and each.count(".") == 1
        side, _, aname = each.partition(".") if ok else ("", "", "")
        spec = schema.get(side, {}).get(aname)
        _check(spec is not None and spec["type"] == "list", doc, path + ("each",),
               "must name a list attribute as plug.NAME or slot.NAME")
    for k in ("apparmor", "seccomp"):
        if k in sn:
            _check(isinstance(sn[k], str), doc, path + (k,), "text (use a | block)")
    for k in MECHANISMS:
        for ref in _placeholders(sn.get(k)):
            if ref == "item":
                _check("each" in sn, doc, path + (k,), "{{item}} is only defined in a block with `each`")
                continue
            pside, _, aname = ref.partition(".")
            spec = schema.get(pside, {}).get(aname)
            _check(spec is not None and spec["type"] != "list", doc, path + (k,),
                   f"{{{{{ref}}}}} must name a scalar attribute the {pside} schema declares")
    for i, m in enumerate(sn.get("udev", []) or []):
        p = path + ("udev", i)
        _check(isinstance(m, dict) and m, doc, p, "a device match map")
        for k, v in m.items():
            _check(k in UDEV_KEYS, doc, p + (k,), f"unknown device match key {k!r}")
            if k in ("attrs", "env"):
                _check(isinstance(v, dict) and all(isinstance(x, str) for x in v.values()), doc, p + (k,), "a map of text values")
            else:
                _check(isinstance(v, str), doc, p + (k,), "text")
    mods = sn.get("kernel-modules", [])
    _check(isinstance(mods, list) and all(isinstance(m, str) and re.fullmatch(r"[a-z0-9_-]+", m) for m in mods),
           doc, path + ("kernel-modules",), "a list of module names")
    for i, rule in enumerate(sn.get("filesystem", []) or []):
        p = path + ("filesystem", i)
        _check(isinstance(rule, dict) and set(rule) == {"path", "access"}, doc, p, "a map with path and access")
        pth = rule["path"]
        _check(isinstance(pth, str) and (pth.startswith("/") or pth.startswith("$HOME") or pth.startswith("{{item}}")
                                         or pth.startswith("{{plug.") or pth.startswith("{{slot.")
                                         or pth.startswith("$SNAP")), doc, p + ("path",), "an absolute path or one under $HOME")
        _check("*" not in pth.rpartition("/")[0], doc, p + ("path",), "`*` is allowed only in the last component")
        _check(isinstance(rule["access"], str) and FS_ACCESS.fullmatch(rule["access"]), doc, p + ("access",),
               "access letters from r, w, x, l")
    if "landlock" in sn:
        ll = sn["landlock"]
        _check(isinstance(ll, dict) and ll, doc, path + ("landlock",), "a map with network, unscoped and/or mount")
        for k, v in ll.items():
            _check(k in LANDLOCK_KEYS or k in LANDLOCK_FLAGS, doc, path + ("landlock", k),
                   f"unknown landlock key {k!r}")
            if k in LANDLOCK_FLAGS:
                _check(v is True, doc, path + ("landlock", k), "true (leave the key out otherwise)")
                continue
            allowed = LANDLOCK_KEYS[k]
            _check(isinstance(v, list) and v and all(x in allowed for x in v), doc, path + ("landlock", k),
                   f"a list of {', '.join(allowed)}")


def _placeholders(value: Any) -> list[str]:
    if isinstance(value, str):
        return [m.group(1) for m in PLACEHOLDER.finditer(value)]
    if isinstance(value, list):
        return [r for v in value for r in _placeholders(v)]
    if isinstance(value, dict):
        return [r for v in value.values() for r in _placeholders(v)]
    return []


def load_interface(path: Path) -> Interface:
    doc = load_file(path, CatalogueError)
    d = doc.value
    _check(isinstance(d, dict), doc, (), "an interface file is a map")
    for k in d:
        _check(k in TOP_KEYS, doc, (k,), f"unknown key {k!r}")
    for k in ("name", "summary", "label"):
        _check(isinstance(d.get(k), str) and d.get(k), doc, (k,), "required text")
    _check(d["name"] == path.stem, doc, ("name",), f"must equal the file name {path.stem!r}")
    _check(names.check_plug_name(d["name"], "interface name") is None, doc, ("name",), "invalid interface name")
    implicit = d.get("implicit-slot", {}) or {}
    _check(isinstance(implicit, dict) and set(implicit) <= {"classic", "core"}
           and all(isinstance(v, bool) for v in implicit.values()), doc, ("implicit-slot",), "a map with classic and core booleans")
    attrs = d.get("attributes", {}) or {}
    _check(isinstance(attrs, dict) and set(attrs) <= {"plug", "slot"}, doc, ("attributes",), "a map with plug and slot")
    schema = {"plug": attrs.get("plug") or {}, "slot": attrs.get("slot") or {}}
    for side in ("plug", "slot"):
        _check_attr_schema(doc, ("attributes", side), schema[side])
    decl = d.get("base-declaration", {}) or {}
    _check(isinstance(decl, dict) and set(decl) <= {"plugs", "slots"}, doc, ("base-declaration",), "a map with plugs and slots")
    for side, rule in decl.items():
        _check(isinstance(rule, dict), doc, ("base-declaration", side), "a map of rules")
        for k, v in rule.items():
            _check(k in RULE_KEYS, doc, ("base-declaration", side, k), f"unknown rule {k!r}")
            _check_constraints(doc, ("base-declaration", side, k), v)
    conn_keys = {k for k in RULE_KEYS if "connection" in k}
    if "plugs" in decl and "slots" in decl and not (set(decl["plugs"]) & conn_keys):
        unused = sorted(set(decl["slots"]) & conn_keys)
        # As in snapd, a plug-side rule decides connection on its own: slot-side
        # connection rules beside it would silently never apply.
        _check(not unused, doc, ("base-declaration", "slots", unused[0] if unused else ""),
               "never consulted: the plug-side rule decides connection; repeat it under plugs")
    snippets = d.get("snippets", []) or []
    _check(isinstance(snippets, list), doc, ("snippets",), "a list of snippet blocks")
    for i, sn in enumerate(snippets):
        _check_snippet(doc, ("snippets", i), sn, schema)
    for k in ("super-privileged", "controls-device-cgroup"):
        _check(isinstance(d.get(k, False), bool), doc, (k,), "must be true or false")
    return Interface(
        name=d["name"],
        summary=d["summary"].strip(),
        label=d["label"].strip(),
        description=(d.get("description") or "").strip(),
        super_privileged=d.get("super-privileged", False),
        warning=(d.get("warning") or "").strip(),
        implicit_on_classic=implicit.get("classic", False),
        implicit_on_core=implicit.get("core", False),
        controls_device_cgroup=d.get("controls-device-cgroup", False),
        plug_attributes=schema["plug"],
        slot_attributes=schema["slot"],
        base_declaration=decl,
        snippets=tuple(snippets),
    )


@lru_cache(maxsize=4)
def _load(directory: str) -> Catalogue:
    cat = Catalogue()
    for entry in sorted(os.listdir(directory)):
        if entry.endswith(".yaml"):
            iface = load_interface(Path(directory) / entry)
            cat[iface.name] = iface
    return cat


def load_catalogue(directory: str | os.PathLike | None = None) -> Catalogue:
    """The catalogue of every interface (cached per directory for the process)."""
    return _load(str(directory or DATA_DIR))


# --- attributes -------------------------------------------------------------

def attribute_error(spec: dict, value: Any) -> str | None:
    """Why `value` does not fit the attribute schema `spec`, or None."""
    kind = spec["type"]
    if kind == "bool":
        return None if isinstance(value, bool) else f"must be true or false, not {value!r}"
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else f"must be a whole number, not {value!r}"
    if kind in ("string", "path"):
        if not isinstance(value, str):
            return f"must be text, not {value!r}"
        if kind == "path":
            err = names.check_path_value(value)
            if err is None and "pattern" in spec and not re.fullmatch(spec["pattern"], value):
                return f"{value!r} does not match {spec['pattern']}"
            return err
        bad = names.check_safe_text(value)
        if bad:
            return bad
        if "enum" in spec and value not in spec["enum"]:
            return f"must be one of {', '.join(map(str, spec['enum']))}, not {value!r}"
        if "pattern" in spec and not re.fullmatch(spec["pattern"], value):
            return f"{value!r} does not match {spec['pattern']}"
        return None
    if kind == "list":
        if not isinstance(value, list) or not value:
            return f"must be a non-empty list, not {value!r}"
        item_spec = {"type": spec.get("items", "string")}
        if "pattern" in spec:
            item_spec["pattern"] = spec["pattern"]
        for i, item in enumerate(value):
            err = attribute_error(item_spec, item)
            if err:
                return f"item {i + 1}: {err}"
        return None
    return f"unknown attribute type {kind!r}"


def validate_attributes(iface: Interface, side: str, attrs: dict, name: str | None = None
                        ) -> tuple[dict, list[tuple[str, str]]]:
    """Check a plug's or slot's attributes against the interface schema.

    Returns the attributes with defaults filled in (`default-name: true` defaults to
    the plug's or slot's `name`, as snapd does for content tags), and a list of
    (attribute, problem).
    """
    schema = iface.plug_attributes if side == "plug" else iface.slot_attributes
    problems: list[tuple[str, str]] = []
    out: dict[str, Any] = {}
    for aname, value in attrs.items():
        spec = schema.get(aname)
        if spec is None:
            known = ", ".join(sorted(schema)) or "none"
            problems.append((aname, f"unknown attribute for a {iface.name} {side} (known: {known})"))
            continue
        err = attribute_error(spec, value)
        if err:
            problems.append((aname, err))
        else:
            out[aname] = value
    for aname, spec in schema.items():
        if aname not in attrs:
            if spec.get("required"):
                problems.append((aname, f"required by the {iface.name} interface"))
            elif "default" in spec:
                out[aname] = spec["default"]
            elif spec.get("default-name") and name is not None:
                out[aname] = name
    return out, problems


# --- selecting what an interface grants ---------------------------------------

MECHANISMS = ("apparmor", "seccomp", "udev", "kernel-modules", "filesystem", "landlock")


def _holds(when: dict, plug_attrs: dict, slot_attrs: dict, system_kind: str) -> bool:
    if "system" in when and when["system"] != system_kind:
        return False
    for key, attrs in (("plug-attributes", plug_attrs), ("slot-attributes", slot_attrs)):
        for name, want in when.get(key, {}).items():
            if want == "$MISSING":  # the attribute is absent
                if name in attrs:
                    return False
                continue
            have = attrs.get(name)
            if type(have) is not type(want) or have != want:
                return False
    return True


PLACEHOLDER = re.compile(r"\{\{(item|plug\.[a-z0-9-]+|slot\.[a-z0-9-]+)(?:\|(basename|hex4|hex2))?\}\}")


class _Absent(Exception):
    """A placeholder names an attribute this plug or slot does not have."""


def _render_value(ref: str, filt: str | None, item: str | None, plug_attrs: dict, slot_attrs: dict) -> str:
    if ref == "item":
        value: Any = item
    else:
        side, _, name = ref.partition(".")
        attrs = plug_attrs if side == "plug" else slot_attrs
        if name not in attrs:
            raise _Absent(ref)
        value = attrs[name]
    if filt == "basename":
        return str(value).rstrip("/").rpartition("/")[2]
    if filt == "hex4":
        return f"{int(value):04x}"
    if filt == "hex2":
        return f"{int(value):02x}"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _substitute(value: Any, item: str | None, plug_attrs: dict, slot_attrs: dict) -> Any:
    if isinstance(value, str):
        if "{{" not in value:
            return value
        return PLACEHOLDER.sub(lambda m: _render_value(m.group(1), m.group(2), item, plug_attrs, slot_attrs), value)
    if isinstance(value, list):
        return [_substitute(v, item, plug_attrs, slot_attrs) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, item, plug_attrs, slot_attrs) for k, v in value.items()}
    return value


def select_snippets(iface: Interface, side: str, plug_attrs: dict, slot_attrs: dict,
                    system_kind: str) -> list[dict]:
    """The snippet blocks of `iface` for `side` (e.g. "connected-plug") that apply.

    A block applies when every condition of its `when` holds and every attribute its
    placeholders name is present. A block with `each` is repeated once per item of
    that list attribute ({{item}}); {{plug.NAME}} and {{slot.NAME}} stand for scalar
    attributes, optionally filtered (|basename, |hex4, |hex2). Attribute values were
    validated by the schema before they get here, so substitution needs no escaping.
    """
    out: list[dict] = []
    for block in iface.snippets:
        if block["for"] != side or not _holds(block.get("when", {}), plug_attrs, slot_attrs, system_kind):
            continue
        body = {k: block[k] for k in MECHANISMS if k in block}
        each = block.get("each")
        if each is None:
            items: list[str | None] = [None]
        else:
            which, _, name = each.partition(".")
            items = list((plug_attrs if which == "plug" else slot_attrs).get(name, []))
        for item in items:
            try:
                out.append(_substitute(body, item, plug_attrs, slot_attrs))
            except _Absent:
                continue
    return out
